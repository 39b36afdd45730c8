"""JSON Lines: one JSON object per record, UTF-8, null members left out."""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa

from airflow_export_provider.formats.values import json_text, python_rows


class JsonLinesEncoder:
    def __init__(self) -> None:
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._sink is not None, "begin() first"
        for rows in python_rows(batch):
            self._sink.write("".join(json_text(row) + "\n" for row in rows).encode("utf-8"))

    def finish(self) -> None:
        """JSON Lines has no trailer."""

    def held_bytes(self) -> int:
        return 0

    def flush(self) -> None:
        """Every record is encoded as it is written; nothing is held."""
