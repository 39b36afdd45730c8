"""What columns a window could have: the property scan and the proposal from the source schema.

A window is exported in two steps: :func:`propose` (from the window's source schema and,
when the spec selects ``all`` properties, a scan of which properties each event
carries) gives this window's candidate columns; ``engine.columns`` merges them under the
export's evolution mode; ``records.project.Projector`` then writes exactly the decided
columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.columns import DecidedSchema
from airflow_export_provider.engine.records.project import (
    IDENTITY_GROUP,
    PROFILE_GROUP,
    property_sources,
    select_events,
)
from airflow_export_provider.spec.fields import FieldsSpec

EventPresence = dict[str | None, list[str]]


def scan_event_properties(batches: Iterable[pa.RecordBatch], fields: FieldsSpec) -> EventPresence:
    """Which properties carry a value for each selected event, in the source's member order.

    Fed with only the ``event_name`` and ``properties`` columns; one group-by per batch.
    """
    return merge_presence(batch_presence(batch, fields) for batch in batches)


@dataclass(frozen=True)
class BatchPresence:
    """One batch's part of a scan: its property members in order, and which each event carries."""

    members: list[str]
    carried: dict[str | None, set[str]]


def batch_presence(batch: pa.RecordBatch, fields: FieldsSpec) -> BatchPresence:
    """The scan of one batch; batches are independent, so they can be scanned on several threads."""
    batch = select_events(batch, fields)
    if not batch.num_rows:
        return BatchPresence([], {})
    properties = batch.column("properties")
    members = [f.name for f in properties.type]
    encoded = pc.dictionary_encode(batch.column("event_name"), null_encoding="encode")
    columns = {"code": encoded.indices}
    for index, child in enumerate(properties.flatten()):
        columns[f"p{index}"] = child.is_valid()
    grouped = pa.table(columns).group_by("code").aggregate([(f"p{i}", "any") for i in range(len(members))])
    names = encoded.dictionary.to_pylist()
    carried: dict[str | None, set[str]] = {names[code]: set() for code in grouped.column("code").to_pylist()}
    codes = grouped.column("code").to_pylist()
    for index, member in enumerate(members):
        for code, flag in zip(codes, grouped.column(f"p{index}_any").to_pylist(), strict=True):
            if flag:
                carried[names[code]].add(member)
    return BatchPresence(members, carried)


def merge_presence(parts: Iterable[BatchPresence]) -> EventPresence:
    """Batch scans in batch order merged: members in first-seen order (batches may differ)."""
    present: dict[str | None, set[str]] = {}
    order: list[str] = []
    known: set[str] = set()
    for part in parts:
        order += [name for name in part.members if name not in known]
        known.update(part.members)
        for event, carried in part.carried.items():
            present.setdefault(event, set()).update(carried)
    return {event: [name for name in order if name in seen] for event, seen in present.items()}


def propose(fields: FieldsSpec, window_schema: pa.Schema, presence: EventPresence | None) -> DecidedSchema:
    """This window's candidate columns for every data-dependent slot, typed from the source."""
    groups: dict[str, pa.Schema] = {}
    custom = _struct_type_of(window_schema, "custom_identities")
    identifiers = fields.identifiers.use
    if identifiers is None:
        groups[IDENTITY_GROUP] = pa.schema([pa.field(f.name, pa.string()) for f in custom])
    profile = _struct_type_of(window_schema, "profile")
    if fields.profile == "all":
        groups[PROFILE_GROUP] = pa.schema(list(profile))
    else:
        groups[PROFILE_GROUP] = pa.schema(
            [pa.field(entry.output_name, _member_type(profile, entry.name)) for entry in fields.profile]
        )
    properties = _struct_type_of(window_schema, "properties")
    if presence is None:
        listed = fields.events.listed_names or frozenset()
        presence = {name: [] for name in sorted(listed)}
    events = {
        name: _proposed_properties(fields, name, carried, properties) for name, carried in presence.items()
    }
    return DecidedSchema(groups, events)


def _member_type(struct: pa.StructType, name: str) -> pa.DataType:
    index = struct.get_field_index(name)
    return struct.field(index).type if index >= 0 else pa.null()


def _proposed_properties(
    fields: FieldsSpec, event_name: str | None, carried: Sequence[str], properties: pa.StructType
) -> pa.Schema:
    columns: dict[str, pa.DataType] = {}
    for output, sources in property_sources(fields, event_name, carried):
        present = [name for name in sources if properties.get_field_index(name) >= 0]
        columns.setdefault(output, _member_type(properties, present[0]) if present else pa.null())
    return pa.schema(list(columns.items()))


def _struct_type_of(schema: pa.Schema, name: str) -> pa.StructType:
    field_type = schema.field(name).type
    assert isinstance(field_type, pa.StructType)
    return field_type
