"""``[core] hostname_callable`` of the Celery cluster test: each worker names itself.

The test's two Celery workers run on one machine, so ``socket.getfqdn()`` would give
both the same name and a task instance's ``hostname`` could not say which worker ran it.
Every worker is started with ``LIVE_WORKER_HOSTNAME`` (``w1``, ``w2``); its task processes
inherit it. Other parts of Airflow fall back to the machine's name.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("LIVE_WORKER_HOSTNAME") or socket.getfqdn()
