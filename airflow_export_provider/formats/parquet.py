"""Parquet with types kept: timestamps, integers, doubles, booleans; groups as structs.

Files are per event name, so one source batch gives each file only a slice. Writing each
slice would make row groups of a few hundred rows, which downstream engines read slowly;
slices are therefore collected into row groups of up to 128k rows or 32 MB of Arrow data.
The window writer keeps the rows held by all its open files under one budget by flushing
the largest holder first, so memory does not grow with the number of event names.

Encoding a row group (dictionary, pages, zstd) is the export's heaviest step for Parquet,
and pyarrow releases the GIL for it, so row groups are written on a small shared pool
instead of the thread that routes rows: one write at a time per file (its bytes go to
its upload in order), several files at once. An error in a write is raised by the
file's next flush.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 32 * 1024 * 1024
ROW_GROUP_WRITERS = 2
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _row_group_pool() -> ThreadPoolExecutor:
    """Created on first use and kept for the process: its threads idle between exports."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(ROW_GROUP_WRITERS, thread_name_prefix="export-parquet")
        return _pool


class ParquetEncoder:
    def __init__(self, *, compression: str = "zstd") -> None:
        self._compression = compression
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._writing: Future[None] | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(sink, schema, compression=self._compression)

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def held_bytes(self) -> int:
        """Rows not yet handed to the pool. Not the rows being written: the budget's choices
        must not depend on how fast the pool is, or row groups (and bytes) would differ
        between runs of the same window."""
        return self._pending_bytes

    def flush(self) -> None:
        """Hand the held rows to the pool as row groups, after this file's previous write."""
        assert self._writer is not None, "begin() first"
        if not self._pending:
            return
        self._wait_for_write()
        table = pa.Table.from_batches(self._pending)
        self._writing = _row_group_pool().submit(self._writer.write_table, table, ROW_GROUP_ROWS)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def finish(self) -> None:
        assert self._writer is not None, "begin() first"
        self.flush()
        self._wait_for_write()
        self._writer.close()

    def abandon(self) -> None:
        """A failed window: let a write in flight end before the upload under it is aborted."""
        with contextlib.suppress(Exception):
            self._wait_for_write()

    def _wait_for_write(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()
