"""Parquet with types kept: timestamps, integers, doubles, booleans; groups as structs."""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq


class ParquetEncoder:
    def __init__(self, *, compression: str = "zstd") -> None:
        self._compression = compression
        self._writer: pq.ParquetWriter | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(sink, schema, compression=self._compression)

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None, "begin() first"
        self._writer.write_batch(batch)

    def finish(self) -> None:
        assert self._writer is not None, "begin() first"
        self._writer.close()
