"""Apache Airflow provider that exports event data to Amazon S3 (see docs/ and README.md).

Importing the package asks Arrow, before pyarrow is loaded, for jemalloc as the
allocator of its C++ code (``ARROW_DEFAULT_MEMORY_POOL``), unless the worker's
environment already names one. Arrow reads that variable once, when pyarrow is loaded,
and ``memory.use_returning_memory_pool`` can only change the pool of pyarrow's Python
calls after that. Without it, the Parquet reader's page buffers came from mimalloc,
which kept 70-100 MB resident for at most 19 MB in use (an export of 1M events to a
local folder peaked at 495-511 MB instead of 461-464 MB). Where pyarrow was loaded
before this package (another provider, or pandas), the variable changes nothing.
Only on Linux, where pyarrow's wheels are built with jemalloc.
"""

from __future__ import annotations

import os
import sys

# The pool the worker's environment names, if any: the user's choice, kept everywhere.
USERS_ARROW_POOL = os.environ.get("ARROW_DEFAULT_MEMORY_POOL")
if not USERS_ARROW_POOL and "pyarrow" not in sys.modules and sys.platform.startswith("linux"):
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
