"""Canonical event batches → the records an export writes, as the spec's ``fields`` say.

Every format has the same record shape, in this order: ``eventName``, ``identity{}``,
``eventTime``, ``profile{}``, ``deviceInfo{}``, ``commPrefs{}``, ``eventProps{}`` (the
order the spec reference documents: identifiers, time, user properties, device,
preferences, event properties). Groups with nothing selected are left out.

The work is vectorised over Arrow arrays: events are selected with one ``is_in`` over
the batch's distinct names, identifiers fall back with ``coalesce``, renames are only
new field names, and each event's properties are its own struct (files are per event,
so each event's files have only that event's columns; files of every event, in CSV or
Parquet, give each event the union of the events' columns). Types are kept, so Parquet gets
real numbers, booleans and timestamps, and text encoders decide how to spell them.

The columns are decided before (``records.discover`` proposes, ``engine.columns``
decides); the :class:`Projector` writes exactly the decided columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.columns import WINDOW_PROPERTIES_GROUP, DecidedSchema
from airflow_export_provider.engine.events import EventSchemaError
from airflow_export_provider.spec.fields import STANDARD_IDENTIFIERS, FieldsSpec

IDENTITY_GROUP = "identity"
PROFILE_GROUP = "profile"


def _column(batch: pa.RecordBatch, name: str) -> pa.Array:
    return batch.column(batch.schema.get_field_index(name))


def struct_members(struct: pa.StructArray) -> dict[str, pa.Array]:
    """A struct's members by name; ``flatten`` (unlike ``field``) folds a null parent into them."""
    return {field.name: child for field, child in zip(struct.type, struct.flatten(), strict=True)}


def select_events(batch: pa.RecordBatch, fields: FieldsSpec) -> pa.RecordBatch:
    """Only the rows of selected events; decided on the batch's distinct names, then one filter."""
    events = fields.events
    if events.patterns is None or not batch.num_rows:
        return batch
    names = _column(batch, "event_name")
    distinct = pc.unique(names).to_pylist()
    wanted = [name for name in distinct if events.selects(name)]
    if len(wanted) == len(distinct):
        return batch
    return batch.filter(pc.is_in(names, value_set=pa.array(wanted, pa.string())))


def property_sources(
    fields: FieldsSpec, event_name: str | None, candidates: Sequence[str]
) -> list[tuple[str, list[str]]]:
    """Output columns of an event and the source properties that feed each, first non-null wins.

    With an explicit list, entries sharing an output name coalesce in list order. With
    ``all``, ``candidates`` (the properties the event carries, or the decided columns)
    are taken in order; a property whose own name is the output comes before properties
    renamed to it by ``rename_everywhere`` (the existing name wins).
    """
    spec = fields.properties
    selection = spec.selection_for(event_name)
    outputs: dict[str, list[str]] = {}
    if selection != "all":
        for entry in selection:
            outputs.setdefault(spec.output_for(entry), []).append(entry.name)
        return list(outputs.items())
    renamed_to: dict[str, list[str]] = {}
    for source, target in spec.rename_everywhere.items():
        renamed_to.setdefault(target, []).append(source)
    for name in candidates:
        output = spec.rename_everywhere.get(name, name)
        if output in outputs:
            continue
        own = [] if output in spec.rename_everywhere else [output]
        outputs[output] = own + [source for source in renamed_to.get(output, []) if source != output]
    return list(outputs.items())


@dataclass(frozen=True)
class _Group:
    name: str
    struct: pa.StructArray


@dataclass(frozen=True)
class SharedRows:
    """A batch's projected rows before they are split by event.

    ``columns`` are what every event's records share (identity, time, profile, device,
    preferences), in record order; ``properties`` is the source's properties struct, from
    which :meth:`Projector.event_columns` takes each event's own columns.
    """

    columns: pa.RecordBatch
    properties: pa.StructArray

    def take(self, indices: pa.Array) -> SharedRows:
        return SharedRows(self.columns.take(indices), self.properties.take(indices))

    def slice(self, offset: int, length: int) -> SharedRows:
        return SharedRows(self.columns.slice(offset, length), self.properties.slice(offset, length))

    def filter(self, mask: pa.Array) -> SharedRows:
        return SharedRows(self.columns.filter(mask), self.properties.filter(mask))


class Projector:
    """Projects a window's canonical batches onto the decided columns.

    :meth:`shared` does the per-batch part (identity, time, profile, device, preferences);
    the caller splits its rows by event and :meth:`record` (or :meth:`event_columns`, for
    formats that prepare the shared columns once) adds each event's name and properties.
    """

    def __init__(self, fields: FieldsSpec, decided: DecidedSchema) -> None:
        self._fields = fields
        self._decided = decided
        # Files holding every event (split: window, CSV/Parquet) give each event all their columns.
        self._shared_properties = decided.groups.get(WINDOW_PROPERTIES_GROUP)
        self._property_columns: dict[str | None, list[tuple[pa.Field, list[str]]]] = {}

    def shared(self, batch: pa.RecordBatch) -> SharedRows:
        names = ["identity", "eventTime"]
        arrays: list[pa.Array] = [self._identity(batch), self._event_time(batch)]
        for group in self._groups(batch):
            if group.struct.type.num_fields:  # an empty struct carries nothing, and Parquet cannot store it
                names.append(group.name)
                arrays.append(group.struct)
        return SharedRows(pa.RecordBatch.from_arrays(arrays, names=names), _column(batch, "properties"))

    def record(self, event_name: str | None, rows: SharedRows) -> pa.RecordBatch:
        """One event's finished records: its output name, the shared columns, its properties."""
        head, tail = self.event_columns(event_name, rows.properties)
        return side_by_side([head, rows.columns, tail])

    def event_columns(
        self, event_name: str | None, properties: pa.StructArray
    ) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """What differs by event: its output name (put first) and its properties (put last).

        ``properties`` is :attr:`SharedRows.properties` of this event's rows.
        The second batch has no column when the event has no property columns.
        """
        head = self.event_head(event_name, len(properties))
        event_props = self._event_properties(event_name, properties)
        if event_props.type.num_fields:
            tail = pa.RecordBatch.from_arrays([event_props], names=["eventProps"])
        else:
            tail = pa.RecordBatch.from_arrays([], schema=pa.schema([]))
        return head, tail

    def event_head(self, event_name: str | None, length: int) -> pa.RecordBatch:
        """The event's output name, the first column of its records."""
        output_name = self._fields.events.output_name(event_name)
        return pa.RecordBatch.from_arrays([_constant(output_name, length)], names=["eventName"])

    def _identity(self, batch: pa.RecordBatch) -> pa.StructArray:
        spec = self._fields.identifiers
        available = {name: _column(batch, name) for name in STANDARD_IDENTIFIERS}
        custom = struct_members(_column(batch, "custom_identities"))
        decided_custom = [f.name for f in self._decided.groups.get(IDENTITY_GROUP, pa.schema([]))]
        use = spec.use if spec.use is not None else (*STANDARD_IDENTIFIERS, *decided_custom)
        values = [_as_text(available.get(name, custom.get(name)), batch.num_rows) for name in use]
        names: list[str] = []
        arrays: list[pa.Array] = []
        if spec.user_id:
            names.append("userId")
            arrays.append(_as_text(_column(batch, "user_id"), batch.num_rows))
        if spec.mode == "all":
            names.extend(use)
            arrays.extend(values)
        else:
            names.extend(["id", "idType"])
            arrays.extend([pc.coalesce(*values), _which_present(values, use)])
        if spec.all_identities:
            every = [_as_text(array, batch.num_rows) for array in (*available.values(), *custom.values())]
            names.append("allIdentities")
            arrays.append(_present_values_per_row(every, batch.num_rows))
        return pa.StructArray.from_arrays(arrays, names=names)

    def _event_time(self, batch: pa.RecordBatch) -> pa.Array:
        times = _column(batch, "event_time")
        spec = self._fields.event_time
        if spec.style == "epoch":
            return times.cast(pa.timestamp("s", tz="UTC"), safe=False).cast(pa.int64())
        if spec.timezone in ("UTC", "Etc/UTC"):
            return times
        return times.cast(pa.timestamp(times.type.unit, tz=spec.timezone))

    def _groups(self, batch: pa.RecordBatch) -> list[_Group]:
        profile = struct_members(_column(batch, "profile"))
        decided = self._decided.groups.get(PROFILE_GROUP, pa.schema([]))
        if self._fields.profile == "all":
            sources = {f.name: f.name for f in decided}
        else:
            sources = {entry.output_name: entry.name for entry in self._fields.profile}
        profile_arrays = [
            _fit(
                profile.get(sources[f.name]), f.type, batch.num_rows, f"profile property {sources[f.name]!r}"
            )
            for f in decided
        ]
        return [
            _Group("profile", pa.StructArray.from_arrays(profile_arrays, fields=list(decided))),
            _Group("deviceInfo", _subset(_column(batch, "device"), self._fields.device)),
            _Group("commPrefs", _subset(_column(batch, "comm_prefs"), self._fields.comm_prefs)),
        ]

    def property_columns(self, event_name: str | None) -> list[tuple[pa.Field, list[str]]]:
        """The event's property columns (decided name and type) and the source properties feeding each."""
        columns = self._property_columns.get(event_name)
        if columns is None:
            decided = self._decided.events.get(event_name)
            if decided is None:
                raise EventSchemaError(
                    f"event {event_name!r} appeared after the window's columns were decided; the source "
                    "changed during the export. Re-run the window."
                )
            if self._shared_properties is not None:
                decided = self._shared_properties
            feeds = dict(property_sources(self._fields, event_name, [f.name for f in decided]))
            columns = [(column, feeds.get(column.name, [])) for column in decided]
            self._property_columns[event_name] = columns
        return columns

    def fitted(
        self, event_name: str | None, column: pa.Field, found: Sequence[pa.Array], length: int
    ) -> pa.Array:
        """One property column of an event from the source arrays feeding it (first non-null wins)."""
        where = f"property {column.name!r} of event {event_name!r}"
        fitted = [_fit(array, column.type, length, where) for array in found]
        if not fitted:
            return pa.nulls(length, column.type)
        return fitted[0] if len(fitted) == 1 else pc.coalesce(*fitted)

    def _event_properties(self, event_name: str | None, properties: pa.StructArray) -> pa.StructArray:
        members = struct_members(properties)
        columns = self.property_columns(event_name)
        arrays = [
            self.fitted(event_name, column, [members[n] for n in sources if n in members], len(properties))
            for column, sources in columns
        ]
        return pa.StructArray.from_arrays(arrays, fields=[column for column, _ in columns])


def side_by_side(batches: Sequence[pa.RecordBatch]) -> pa.RecordBatch:
    """The columns of batches with the same rows, in order, as one batch."""
    names = [name for batch in batches for name in batch.schema.names]
    return pa.RecordBatch.from_arrays([column for batch in batches for column in batch.columns], names=names)


def _constant(value: str | None, length: int) -> pa.Array:
    if value is None:
        return pa.nulls(length, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), length)


def _as_text(array: pa.Array | None, length: int) -> pa.Array:
    """Identifiers are text in every format, whatever type the source gave them."""
    if array is None:
        return pa.nulls(length, pa.string())
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_large_string(array.type) or not pa.types.is_nested(array.type):
        return array.cast(pa.string())
    raise EventSchemaError(f"an identity must be a text or number value, found {array.type}")


def _which_present(values: Sequence[pa.Array], names: Sequence[str]) -> pa.Array:
    """Per row, the name of the first identifier that has a value (what ``coalesce`` picked)."""
    result = pa.nulls(len(values[0]) if values else 0, pa.string())
    for array, name in reversed(list(zip(values, names, strict=True))):
        result = pc.if_else(array.is_valid(), pa.scalar(name, pa.string()), result)
    return result


def _present_values_per_row(arrays: Sequence[pa.Array], length: int) -> pa.ListArray:
    """A list per row of the non-null values of ``arrays``, in array order; no Python per row.

    The arrays are stacked column after column, reordered row after row by sorting on
    ``row * width + column``, and the nulls dropped; offsets are the running count of
    values per row.
    """
    width = len(arrays)
    if not arrays or not length:
        return pa.ListArray.from_arrays(
            pa.repeat(pa.scalar(0, pa.int32()), length + 1), pa.array([], pa.string())
        )
    rows = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), length)), 1)
    keys = pa.concat_arrays([pc.add(pc.multiply(rows, width), column) for column in range(width)])
    values = pa.concat_arrays(list(arrays)).take(pc.sort_indices(keys))
    per_row = pa.repeat(pa.scalar(0, pa.int32()), length)
    for array in arrays:
        per_row = pc.add(per_row, array.is_valid().cast(pa.int32()))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(per_row)])
    return pa.ListArray.from_arrays(offsets, values.drop_null())


def _subset(struct: pa.StructArray, selected: str | tuple[str, ...]) -> pa.StructArray:
    members = struct_members(struct)
    names = list(members) if selected == "all" else list(selected)
    fields = [struct.type.field(struct.type.get_field_index(name)) for name in names]
    return pa.StructArray.from_arrays([members[name] for name in names], fields=fields)


def _fit(array: pa.Array | None, target: pa.DataType, length: int, where: str) -> pa.Array:
    """Values in the decided type; the schema store only decides types these casts can reach."""
    if array is None:
        return pa.nulls(length, target)
    if array.type == target:
        return array
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        if pa.types.is_string(target):
            from airflow_export_provider.engine.formats.values import json_text  # text of any value, as JSON

            return pa.array([None if v is None else json_text(v) for v in array.to_pylist()], pa.string())
        raise EventSchemaError(
            f"{where}: values of type {array.type} do not fit the column's decided type {target} "
            "(schema evolution 'lock' keeps types). Delete the export's _schema/<export_id>.json "
            "to decide afresh, or select the property under another name."
        ) from None
