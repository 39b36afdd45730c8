"""Apache Airflow provider that exports event data to Amazon S3 (see docs/ and README.md).

Importing the package sets up Arrow's allocator before pyarrow is loaded, through the
two variables Arrow reads once, when it is loaded, and only where the worker's
environment does not already name them. Where pyarrow was loaded before this package
(another provider, or pandas), they change nothing. Only on Linux, where pyarrow's
wheels are built with jemalloc.

- ``ARROW_DEFAULT_MEMORY_POOL=jemalloc``: the allocator of Arrow's C++ code (the
  Parquet reader's page buffers), which
  ``engine.runtime.memory_pool.use_returning_memory_pool`` cannot change: mimalloc keeps
  what it freed resident.
- ``JE_ARROW_MALLOC_CONF`` (Arrow's jemalloc reads it as others read ``MALLOC_CONF``):
  freed pages go back to the system 100 ms after their last use, where Arrow's defaults
  keep them a second and then still count them as resident (``MADV_FREE``).
  ``memory_pool.DECAY_MILLISECONDS`` can only reach arenas made after pyarrow is loaded.

The measurements: docs/performance.md, "Why the constants are what they are".
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
