"""The canonical event record every source yields, as an Arrow schema.

See ``docs/event-model.md`` for the meaning of each field. Sources must yield record
batches whose columns are a subset of these names with these types; ``conform`` fills
the missing ones with nulls and widens the open structs (``profile``,
``custom_identities``, ``properties``) to the union of the fields seen in a window, so
every batch of a window has one schema and every output file one header.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from airflow_export_provider.engine.record_fields import COMM_PREF_FIELDS, DEVICE_FIELDS

EVENT_TIME_TYPE = pa.timestamp("us", tz="UTC")

DEVICE_TYPE = pa.struct([(name, pa.int32() if name == "dpi" else pa.string()) for name in DEVICE_FIELDS])

COMM_PREFS_TYPE = pa.struct(
    [
        (name, pa.list_(pa.string()) if name == "subscription_groups" else pa.bool_())
        for name in COMM_PREF_FIELDS
    ]
)

# Fields whose struct members vary by account and by event: their types are decided by
# the data, and the union over a window is used.
OPEN_STRUCTS = ("custom_identities", "profile", "properties")

CANONICAL_SCHEMA = pa.schema(
    [
        pa.field("event_name", pa.string()),
        pa.field("event_time", EVENT_TIME_TYPE),
        pa.field("user_id", pa.string()),
        pa.field("identity", pa.string()),
        pa.field("email", pa.string()),
        pa.field("phone", pa.string()),
        pa.field("custom_identities", pa.struct([])),
        pa.field("profile", pa.struct([])),
        pa.field("device", DEVICE_TYPE),
        pa.field("comm_prefs", COMM_PREFS_TYPE),
        pa.field("properties", pa.struct([])),
    ]
)
REQUIRED_COLUMNS = ("event_name", "event_time")


class EventSchemaError(ValueError):
    """A source's data does not fit the canonical event record."""


def window_schema(source_schemas: Iterable[pa.Schema]) -> pa.Schema:
    """The one schema for a window: canonical types, open structs widened to the union.

    Fixed columns always take the canonical type (a JSON lake's ISO strings become
    timestamps in :func:`conform`); only the open structs take their shape from the data.
    """
    open_types: dict[str, list[pa.DataType]] = {name: [] for name in OPEN_STRUCTS}
    for schema in source_schemas:
        missing = [name for name in REQUIRED_COLUMNS if name not in schema.names]
        if missing:
            raise EventSchemaError(f"source data has no {', '.join(missing)} column; it is required")
        for name in OPEN_STRUCTS:
            if name in schema.names:
                field_type = schema.field(name).type
                if pa.types.is_null(field_type):  # only nulls in this file (JSON infers no shape)
                    continue
                if not pa.types.is_struct(field_type):
                    raise EventSchemaError(f"column {name!r} must be an object (struct), found {field_type}")
                open_types[name].append(field_type)
    fields = []
    for field in CANONICAL_SCHEMA:
        if field.name in OPEN_STRUCTS and open_types[field.name]:
            candidates = [pa.schema([pa.field(field.name, t)]) for t in open_types[field.name]]
            try:
                merged = pa.unify_schemas(candidates, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise EventSchemaError(
                    f"source files disagree on a type inside {field.name!r}: {error}"
                ) from None
            field = merged.field(field.name)
        fields.append(field)
    return pa.schema(fields)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a source batch to the window schema, adding missing columns as nulls."""
    columns = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            columns.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(index)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
                raise EventSchemaError(
                    f"column {field.name!r} cannot be read as {field.type}: {error}"
                ) from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)
