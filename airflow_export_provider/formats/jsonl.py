"""JSON Lines: one JSON object per record, UTF-8, null members left out.

Records are spelled by Arrow kernels (``json_kernels``), a slice of rows at a time, and
the slice's text goes to the sink as one buffer.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.formats.json_kernels import json_objects, text_buffer

ROWS_PER_SLICE = 16_384  # bounds the text of one slice (a few MB), whatever the batch size


class JsonLinesEncoder:
    def __init__(self) -> None:
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._sink is not None, "begin() first"
        for offset in range(0, batch.num_rows, ROWS_PER_SLICE):
            rows = batch.slice(offset, ROWS_PER_SLICE)
            objects = json_objects(list(zip(rows.schema.names, rows.columns, strict=True)))
            self._sink.write(text_buffer(pc.binary_join_element_wise(objects, "\n", "")))

    def finish(self) -> None:
        """JSON Lines has no trailer."""

    def held_bytes(self) -> int:
        return 0

    def flush(self) -> None:
        """Every record is encoded as it is written; nothing is held."""
