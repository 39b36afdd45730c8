"""CSV with a header row, written by pyarrow's CSV writer.

Groups are flattened into dotted columns (``identity.email``, ``eventProps.cart.items``);
lists and other nested values become JSON text; null is an empty cell. The header is the
window schema's, so every file of a window has the same columns in the same order.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from airflow_export_provider.engine.formats.json_kernels import nested_as_json_text
from airflow_export_provider.engine.formats.protocol import Format, Preparation, StreamingEncoder
from airflow_export_provider.engine.formats.values import timestamps_as_text


def flatten_columns(batch: pa.RecordBatch) -> tuple[list[str], list[pa.Array]]:
    """Every leaf of the record as a column of text-friendly values."""
    names: list[str] = []
    arrays: list[pa.Array] = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        _add_leaves(field.name, column, names, arrays)
    return names, arrays


def _add_leaves(name: str, array: pa.Array, names: list[str], arrays: list[pa.Array]) -> None:
    """A module function, not a recursive closure: a closure that calls itself is a reference
    cycle, which keeps a whole batch's cells alive until Python's cycle collector runs."""
    if pa.types.is_struct(array.type):
        for field, child in zip(array.type, array.flatten(), strict=True):
            _add_leaves(f"{name}.{field.name}", child, names, arrays)
    elif pa.types.is_nested(array.type):
        names.append(name)
        arrays.append(nested_as_json_text(array))
    else:
        names.append(name)
        arrays.append(timestamps_as_text(array))


def prepare(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The record's cells: one text-friendly column per leaf (see ``formats.protocol.Preparation``)."""
    names, arrays = flatten_columns(batch)
    return pa.RecordBatch.from_arrays(arrays, names=names)


class CsvEncoder(StreamingEncoder):
    def __init__(self) -> None:
        self._writer: pacsv.CSVWriter | None = None
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        """``batch`` is prepared: its columns are the cells, its names the header."""
        if self._writer is None:
            options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            self._writer = pacsv.CSVWriter(self._sink, batch.schema, write_options=options)
        self._writer.write_batch(batch)

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()


FORMAT = Format(
    name="csv",
    extension="csv",
    content_type="text/csv; charset=utf-8",
    preparation=Preparation(prepare),
    encoder=lambda spec: CsvEncoder(),
    one_schema_per_file=True,
)
