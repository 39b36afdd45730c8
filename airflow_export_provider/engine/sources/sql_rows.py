"""Database rows → canonical Arrow columns, for the SQL source.

Rows arrive as ``COPY`` text (PostgreSQL with psycopg 3) or as a cursor's Python values;
JSON columns are parsed a batch at a time by pyarrow's JSON reader into the canonical
structs, the open groups with the window's types once they are known.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from airflow_export_provider.engine.events import (
    CANONICAL_SCHEMA,
    EVENT_TIME_TYPE,
    OPEN_STRUCTS,
    EventSchemaError,
)
from airflow_export_provider.engine.formats.json_kernels import text_buffer
from airflow_export_provider.engine.windows import as_utc

JSON_FIELDS = ("custom_identities", "profile", "device", "comm_prefs", "properties")


def from_copied_text(batch: pa.RecordBatch, target: pa.Schema | None) -> pa.RecordBatch:
    """A ``COPY`` batch (text, epoch microseconds) as canonical columns."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name == "event_time":
            arrays.append(column.cast(EVENT_TIME_TYPE))
        elif name in JSON_FIELDS:
            arrays.append(_parse_json_column(column, name, _json_target(name, target)))
        else:
            arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def from_cursor_rows(
    rows: list[tuple[Any, ...]], fields: list[str], target: pa.Schema | None
) -> pa.RecordBatch:
    """Cursor rows (Python values) as canonical columns."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    arrays = []
    for name, values in zip(fields, columns, strict=True):
        canonical = CANONICAL_SCHEMA.field(name).type
        if name in JSON_FIELDS:
            texts = pa.array([_json_text(value, name) for value in values], pa.string())
            arrays.append(_parse_json_column(texts, name, _json_target(name, target)))
        elif name == "event_time":
            arrays.append(pa.array([_event_time(value) for value in values], type=canonical))
        else:
            try:  # text columns arrive as str: no per-value conversion
                arrays.append(pa.array(values, type=canonical))
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids stored as numbers become text
                arrays.append(pa.array([None if v is None else str(v) for v in values], type=canonical))
    return pa.RecordBatch.from_arrays(arrays, names=fields)


def _json_target(name: str, target: pa.Schema | None) -> pa.DataType | None:
    """The type to parse a JSON column into: fixed groups always, open groups once the window is known."""
    if name not in OPEN_STRUCTS:
        return CANONICAL_SCHEMA.field(name).type
    return target.field(name).type if target is not None and name in target.names else None


def _parse_json_column(texts: pa.Array, name: str, typed: pa.DataType | None) -> pa.Array:
    """JSON objects as text → one struct array, parsed by pyarrow in one block, no Python per row.

    Each value plus a newline is one JSON Lines record; SQL NULL and JSON ``null`` become
    a null struct (parsed as ``{}``).
    """
    nulls = pc.fill_null(pc.or_(pc.is_null(texts), pc.equal(texts, "null")), True)
    data = text_buffer(pc.binary_join_element_wise(pc.if_else(nulls, "{}", texts), "\n", ""))
    options = pajson.ParseOptions(
        explicit_schema=pa.schema(list(typed)) if typed is not None else None,
        unexpected_field_behavior="ignore" if name not in OPEN_STRUCTS else "infer",
    )
    read = pajson.ReadOptions(block_size=max(data.size, 1) + 1)
    try:
        table = pajson.read_json(pa.BufferReader(data), read_options=read, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise EventSchemaError(f"JSON column for {name!r} has values of mixed types: {error}") from None
    if table.num_columns == 0 or not len(texts):
        return (
            pa.StructArray.from_arrays([], fields=[], mask=nulls)
            if len(texts)
            else pa.array([], pa.struct([]))
        )
    table = table.combine_chunks()
    columns = [column.chunk(0) for column in table.columns]
    return pa.StructArray.from_arrays(columns, fields=list(table.schema), mask=nulls)


def _json_text(value: Any, name: str) -> str | None:
    """A driver's JSON value as text: PostgreSQL sends text (``::text``); others may decode it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    if isinstance(value, dict):
        return json.dumps(value)
    raise EventSchemaError(f"column for {name!r} must hold JSON objects, found {type(value).__name__}")


def refuse_unseen_members(batch: pa.RecordBatch, target: pa.Schema) -> None:
    """A member the schema pass did not see would be dropped by the cast: fail instead."""
    for name in OPEN_STRUCTS:
        if name in batch.schema.names and name in target.names:
            seen = {field.name for field in target.field(name).type}
            new = [field.name for field in batch.schema.field(name).type if field.name not in seen]
            if new:
                raise EventSchemaError(
                    f"{name} member(s) {', '.join(new)} appeared while the window was being exported "
                    "(the source changed between its two reads); run the window again"
                )


def empty_schema(fields: list[str]) -> pa.Schema:
    return pa.schema([CANONICAL_SCHEMA.field(name) for name in fields])


def loose_schema(own: pa.Schema, requested: list[str]) -> pa.Schema:
    """The requested columns with the batch's own types where it has them, canonical ones otherwise."""
    return pa.schema([own.field(n) if n in own.names else CANONICAL_SCHEMA.field(n) for n in requested])


def _event_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise EventSchemaError(f"event_time must be a timestamp column, found {type(value).__name__}")
    return as_utc(value)
