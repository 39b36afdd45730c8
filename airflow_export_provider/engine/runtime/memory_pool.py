"""Arrow's memory pool for exports: jemalloc, which gives freed memory back to the system.

An export allocates and frees batch-sized buffers all the time. With pyarrow's default
pool on Linux (mimalloc) the worker's resident memory keeps what it has freed; jemalloc
gives it back (measured: docs/performance.md). The pool is chosen once
per process, only when the user has not chosen one (``ARROW_DEFAULT_MEMORY_POOL`` in the
worker's environment) and only where pyarrow was built with jemalloc. This sets the pool
of pyarrow's Python calls; the package's ``__init__`` asks for the same allocator in
Arrow's C++ code (the Parquet reader's buffers), which can only be chosen before pyarrow
is loaded.
"""

from __future__ import annotations

import logging

import pyarrow as pa

import airflow_export_provider

logger = logging.getLogger(__name__)
_chosen = False
# Routing text formats frees hundreds of MB a second, and Arrow's jemalloc keeps freed
# pages a second: 100 ms gives them back almost at once without the cost of 0 ms (docs/performance.md).
DECAY_MILLISECONDS = 100


def use_returning_memory_pool() -> None:
    global _chosen
    if _chosen or airflow_export_provider.USERS_ARROW_POOL:
        return
    _chosen = True
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc: keep its default
        return
    native = pa.default_memory_pool().backend_name  # what Arrow's C++ code allocates with
    pa.set_memory_pool(pool)
    pa.jemalloc_set_decay_ms(DECAY_MILLISECONDS)  # for the arenas that threads take from now on
    if native != pool.backend_name:
        logger.info(
            "Arrow allocates with %s, its Parquet reader with %s (pyarrow was loaded before this "
            "provider); ARROW_DEFAULT_MEMORY_POOL=%s in the worker's environment saves 40-50 MB",
            pool.backend_name, native, pool.backend_name,
        )  # fmt: skip
