"""Arrow's memory pool for exports: jemalloc, which gives freed memory back to the system.

An export allocates and frees batch-sized buffers all the time. With pyarrow's default
pool on Linux (mimalloc) the worker's resident memory kept what it had freed: a 3M-event
day peaked at 478 MB resident for 190 MB actually allocated by Arrow. With jemalloc the
same export peaked at 375 MB (measured, docs/performance.md). The pool is chosen once
per process, only when the user has not chosen one (``ARROW_DEFAULT_MEMORY_POOL``) and
only where pyarrow was built with jemalloc.
"""

from __future__ import annotations

import logging
import os

import pyarrow as pa

logger = logging.getLogger(__name__)
_chosen = False
# Arrow's jemalloc keeps freed pages for a second before giving them back. Routing text
# formats frees hundreds of MB a second, so that second showed as resident memory: an XML
# export peaked at ~810 MB resident for 278 MB allocated, ~720 MB at 100 ms, at the same
# speed; at 0 ms (every free given back at once) it ran 50% slower.
DECAY_MILLISECONDS = 100


def use_returning_memory_pool() -> None:
    global _chosen
    if _chosen or os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    _chosen = True
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc: keep its default
        return
    pa.set_memory_pool(pool)
    pa.jemalloc_set_decay_ms(DECAY_MILLISECONDS)  # for the arenas that threads take from now on
    logger.debug("Arrow memory pool: %s", pool.backend_name)
