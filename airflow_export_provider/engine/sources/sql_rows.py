"""Database rows → canonical Arrow columns, for the SQL source.

Rows arrive as text columns (PostgreSQL through ADBC or ``COPY``) or as a cursor's Python
values; JSON columns are parsed a batch at a time by pyarrow's JSON reader into the
canonical structs: the fixed groups with their canonical types, the open groups with the
members and types of the batch's own values (the source widens them to the window's).
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
# JSON columns whose type is fixed (canonical): their text need not be parsed to learn the schema.
FIXED_GROUPS = tuple(name for name in JSON_FIELDS if name not in OPEN_STRUCTS)


def from_text_columns(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text columns and the event time (a timestamp, or epoch microseconds) as canonical columns.

    The fixed groups stay text: the schema does not depend on them, and parsing them
    later (``with_fixed_groups``, on the export read) moves that work out of the
    database read, where the client competes with the server for the cores.
    """
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name == "event_time":
            arrays.append(_event_times(column))
        elif name in OPEN_STRUCTS:
            arrays.append(_parse_json_column(column, name, None))
        else:
            arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def with_fixed_groups(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its fixed groups parsed, where they are still JSON text."""
    names = batch.schema.names
    if not any(_is_text(batch.schema, name) for name in FIXED_GROUPS):
        return batch
    arrays = [
        _parse_json_column(column, name, _json_type(name))
        if name in FIXED_GROUPS and _is_text(batch.schema, name)
        else column
        for name, column in zip(names, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def with_fixed_group_types(schema: pa.Schema) -> pa.Schema:
    """A spooled batch's schema as ``with_fixed_groups`` will make it: fixed groups canonical."""
    return pa.schema([CANONICAL_SCHEMA.field(f.name) if f.name in FIXED_GROUPS else f for f in schema])


def _is_text(schema: pa.Schema, name: str) -> bool:
    return name in schema.names and pa.types.is_string(schema.field(name).type)


def _event_times(column: pa.Array) -> pa.Array:
    """Epoch microseconds (``COPY``) or a timestamp (ADBC; one without zone is read as UTC)."""
    if pa.types.is_int64(column.type) or pa.types.is_timestamp(column.type):
        return column.cast(EVENT_TIME_TYPE)
    raise EventSchemaError(f"event_time must be a timestamp column, found {column.type}")


def from_cursor_rows(rows: list[tuple[Any, ...]], fields: list[str]) -> pa.RecordBatch:
    """Cursor rows (Python values) as canonical columns."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    arrays = []
    for name, values in zip(fields, columns, strict=True):
        canonical = CANONICAL_SCHEMA.field(name).type
        if name in JSON_FIELDS:
            texts = pa.array([_json_text(value, name) for value in values], pa.string())
            arrays.append(_parse_json_column(texts, name, _json_type(name)))
        elif name == "event_time":
            arrays.append(pa.array([_event_time(value) for value in values], type=canonical))
        else:
            try:  # text columns arrive as str: no per-value conversion
                arrays.append(pa.array(values, type=canonical))
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids stored as numbers become text
                arrays.append(pa.array([None if v is None else str(v) for v in values], type=canonical))
    return pa.RecordBatch.from_arrays(arrays, names=fields)


def _json_type(name: str) -> pa.DataType | None:
    """The type to parse a JSON column into: the fixed groups' canonical one; the open groups' is inferred."""
    return None if name in OPEN_STRUCTS else CANONICAL_SCHEMA.field(name).type


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
