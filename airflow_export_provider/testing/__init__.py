"""Sample events, a loopback S3 server and the demo: what the demo, the tests and ``bench/`` share.

Not needed to run exports; the loopback server needs the ``demo`` extra (moto).
"""
