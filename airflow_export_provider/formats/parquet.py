"""Parquet with types kept: timestamps, integers, doubles, booleans; groups as structs.

Files are per event name, so one source batch gives each file only a slice. Writing each
slice would make row groups of a few hundred rows, which downstream engines read slowly;
slices are therefore collected into row groups of up to 128k rows or 32 MB of Arrow data.
The window writer keeps the rows held by all its open files under one budget by flushing
the largest holder first, so memory does not grow with the number of event names.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 32 * 1024 * 1024


class ParquetEncoder:
    def __init__(self, *, compression: str = "zstd") -> None:
        self._compression = compression
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(sink, schema, compression=self._compression)

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def held_bytes(self) -> int:
        return self._pending_bytes

    def flush(self) -> None:
        assert self._writer is not None, "begin() first"
        if self._pending:
            self._writer.write_table(pa.Table.from_batches(self._pending), row_group_size=ROW_GROUP_ROWS)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def finish(self) -> None:
        assert self._writer is not None, "begin() first"
        self.flush()
        self._writer.close()
