"""Apache Airflow provider that exports event data to Amazon S3 (see docs/ and README.md).

Importing the package sets up Arrow's allocator before pyarrow is loaded, through the
two variables Arrow reads once, when it is loaded, and only where the worker's
environment does not already name them. Where pyarrow was loaded before this package
(another provider, or pandas), they change nothing. Only on Linux, where pyarrow's
wheels are built with jemalloc.

- ``ARROW_DEFAULT_MEMORY_POOL=jemalloc``: the allocator of Arrow's C++ code.
  ``memory.use_returning_memory_pool`` can only change the pool of pyarrow's Python
  calls. Without it, the Parquet reader's page buffers came from mimalloc, which kept
  70-100 MB resident for at most 19 MB in use (an export of 1M events to a local folder
  peaked at 495-511 MB instead of 461-464 MB).
- ``JE_ARROW_MALLOC_CONF`` (Arrow's jemalloc reads it as others read ``MALLOC_CONF``):
  freed pages go back to the system 100 ms after their last use. Arrow's defaults keep
  them a second and then still count them as resident (``MADV_FREE``, given back only
  when the system runs short): 70-80 MB more than Arrow had allocated at 10M events.
  Two A/B rounds at 10M events to S3: CSV.gz 510-511 → 470 MB, Parquet 533-542 →
  494-495 MB, same speed within the machine's spread. ``memory.DECAY_MILLISECONDS`` can
  only reach arenas made after pyarrow is loaded.
"""

from __future__ import annotations

import os
import sys

# The pool the worker's environment names, if any: the user's choice, kept everywhere.
USERS_ARROW_POOL = os.environ.get("ARROW_DEFAULT_MEMORY_POOL")
JEMALLOC_CONF = "dirty_decay_ms:100,muzzy_decay_ms:0"
if "pyarrow" not in sys.modules and sys.platform.startswith("linux"):
    if not USERS_ARROW_POOL:
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", JEMALLOC_CONF)
