"""JSON Lines: one JSON object per record, UTF-8, null members left out.

Records are spelled by Arrow kernels (``json_kernels``): ``prepare`` spells each member
as ``,"name":value`` (once per source batch for the members all events share), and the
encoder joins a slice of rows at a time into objects whose text goes to the sink as one
buffer.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa

from airflow_export_provider.formats.json_kernels import json_members, json_objects_of, text_buffer

ROWS_PER_SLICE = 16_384  # bounds the text of one slice (a few MB), whatever the batch size


def prepare(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Each member's JSON text, ``,"name":value`` or null (see ``formats.base.Preparation``)."""
    members = json_members(list(zip(batch.schema.names, batch.columns, strict=True)))
    return pa.RecordBatch.from_arrays(members, names=batch.schema.names)


class JsonLinesEncoder:
    def __init__(self) -> None:
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        """``batch`` is prepared: its columns are member texts, joined here into lines."""
        assert self._sink is not None, "begin() first"
        for offset in range(0, batch.num_rows, ROWS_PER_SLICE):
            rows = batch.slice(offset, ROWS_PER_SLICE)
            self._sink.write(text_buffer(json_objects_of(rows.columns, end="\n")))

    def finish(self) -> None:
        """JSON Lines has no trailer."""

    def held_bytes(self) -> int:
        return 0

    def flush(self) -> None:
        """Every record is encoded as it is written; nothing is held."""
