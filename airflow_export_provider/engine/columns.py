"""The export's decided columns: persisted next to its data, evolved by ``lock`` or ``append``.

Some columns depend on data, not only on the spec: which properties each event carries,
which profile properties and custom identities exist when the spec says ``all``. The
first window decides them; later windows follow the export's evolution mode:

- ``append``: columns that appear later are added at the end; existing columns never
  move or rename. A column's type may widen (null → anything, int → double, a struct
  gains members); a value that fits no common type turns a scalar column into text.
- ``lock``: each column set is fixed when it is first decided (an event's columns when
  the event is first exported); new properties never appear.

The decision lives in one JSON object per export (``_schema/<export_id>.json``, next to ``_manifests/``)
so every worker sees it. A window decides its columns from it before exporting
(:meth:`SchemaStore.decide`) but writes it only when it commits (:meth:`SchemaStore.persist`),
so a run that fails or is killed decides nothing for later windows. The write is
conditional (S3 ``If-Match`` / ``If-None-Match``) and re-merged on conflict, so windows
exported in parallel never overwrite each other's columns; if a parallel window decided
a column set this window's files disagree with, the window is exported again
(:class:`ColumnsChanged`). Each manifest records the columns its files have.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from airflow_export_provider.engine.destinations.base import ConcurrentUpdate, Destination
from airflow_export_provider.exceptions import ExportError

SCHEMA_VERSION = 1
MAX_ATTEMPTS = 20
Evolution = Literal["append", "lock"]
logger = logging.getLogger(__name__)


class SchemaStoreError(ExportError):
    """The persisted schema cannot be read or kept up to date."""


class ColumnsChanged(ExportError):
    """While this window was exported, another window decided columns its files do not follow."""


@dataclass(frozen=True)
class DecidedSchema:
    """Ordered, typed columns per slot: ``identity`` and ``profile`` groups, and each event's properties."""

    groups: Mapping[str, pa.Schema] = field(default_factory=dict)
    events: Mapping[str | None, pa.Schema] = field(default_factory=dict)

    def to_json(self, export_id: str, evolution: Evolution) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "export_id": export_id,
            "evolution": evolution,
            "groups": {name: _describe(schema) for name, schema in sorted(self.groups.items())},
            "events": [
                {"event_name": name, **_describe(self.events[name])}
                for name in sorted(self.events, key=_event_order)
            ],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> DecidedSchema:
        if document.get("schema_version") != SCHEMA_VERSION:
            raise SchemaStoreError(
                f"schema document version {document.get('schema_version')!r} is not {SCHEMA_VERSION}; "
                "it was written by another version of airflow-export-provider"
            )
        groups = {name: _schema_of(entry) for name, entry in document.get("groups", {}).items()}
        events = {entry["event_name"]: _schema_of(entry) for entry in document.get("events", [])}
        return cls(groups, events)

    def only_events(self, names: set[str | None]) -> DecidedSchema:
        """The part a manifest records: the groups and the events its window has."""
        return DecidedSchema(self.groups, {name: s for name, s in self.events.items() if name in names})

    def agrees_with(self, other: DecidedSchema, events: set[str | None] | None, evolution: Evolution) -> bool:
        """Whether files following these columns fit the export's columns ``other`` (for ``events``).

        ``lock``: every column set must be the same. ``append``: each of these column sets
        must be the start of ``other``'s, in order (types may have widened since), which is
        what these files would have if this window had been decided before the others.
        """
        mine = self if events is None else self.only_events(events)
        pairs = [(schema, other.groups.get(name)) for name, schema in mine.groups.items()]
        pairs += [(schema, other.events.get(name)) for name, schema in mine.events.items()]
        if evolution == "lock":
            return all(schema == theirs for schema, theirs in pairs)
        return all(
            theirs is not None and theirs.names[: len(schema)] == schema.names for schema, theirs in pairs
        )


@dataclass(frozen=True)
class SchemaDecision:
    """A window's columns and what they were decided from, for :meth:`SchemaStore.persist` at commit.

    :param columns: the columns the window's files follow.
    :param proposal: what the window itself proposed (its data, its spec).
    :param base: the persisted schema the decision started from (None: the export had none).
    :param base_version: the version token of ``base``, for the conditional write.
    """

    columns: DecidedSchema
    proposal: DecidedSchema
    base: DecidedSchema | None
    base_version: str | None


def _event_order(name: str | None) -> tuple[int, str]:
    return (0, "") if name is None else (1, name)


def _describe(schema: pa.Schema) -> dict[str, Any]:
    """Readable columns for people, the exact Arrow schema for the export itself."""
    return {
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "arrow_schema": base64.b64encode(schema.serialize().to_pybytes()).decode("ascii"),
    }


def _schema_of(entry: Mapping[str, Any]) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(entry["arrow_schema"])))


def merge(current: DecidedSchema | None, proposal: DecidedSchema, evolution: Evolution) -> DecidedSchema:
    """What the export's columns become once this window's proposal is taken into account."""
    if current is None:
        return proposal
    groups = dict(current.groups)
    for name, proposed in proposal.groups.items():
        groups[name] = _merge_columns(groups.get(name), proposed, evolution)
    events = dict(current.events)
    for event_name, proposed in proposal.events.items():
        events[event_name] = _merge_columns(events.get(event_name), proposed, evolution)
    return DecidedSchema(groups, events)


WINDOW_PROPERTIES_GROUP = "properties"
"""The one column set of every event's properties when a window's events share files (``split: window``)."""


def with_shared_properties(proposal: DecidedSchema) -> DecidedSchema:
    """``proposal`` plus the union of its events' property columns, for files holding every event.

    Events are taken in name order and each adds its columns not seen yet, so the order
    is the same for the same events whatever order the data had; a column two events
    type differently gets the common type (text when there is none). Across windows the
    union follows the export's evolution mode like any other column set.
    """
    union: pa.Schema | None = None
    for name in sorted(proposal.events, key=_event_order):
        union = _merge_columns(union, proposal.events[name], "append")
    groups = {**proposal.groups, WINDOW_PROPERTIES_GROUP: union if union is not None else pa.schema([])}
    return DecidedSchema(groups, proposal.events)


def _merge_columns(decided: pa.Schema | None, proposed: pa.Schema, evolution: Evolution) -> pa.Schema:
    if decided is None:
        return proposed
    fields = []
    for existing in decided:
        index = proposed.get_field_index(existing.name)
        fields.append(
            existing
            if index < 0
            else existing.with_type(widen(existing.type, proposed.field(index).type, evolution))
        )
    if evolution == "append":
        fields.extend(f for f in proposed if decided.get_field_index(f.name) < 0)
    return pa.schema(fields)


def widen(decided: pa.DataType, seen: pa.DataType, evolution: Evolution) -> pa.DataType:
    """The type a column keeps once values of type ``seen`` have been met.

    A column without values yet (null type) takes the first real type in both modes: no
    file holds a value that could disagree. Beyond that only ``append`` widens.
    """
    if decided == seen or pa.types.is_null(seen):
        return decided
    if pa.types.is_null(decided):
        return seen
    if evolution == "lock":
        return decided
    try:
        merged = pa.unify_schemas(
            [pa.schema([("c", decided)]), pa.schema([("c", seen)])], promote_options="permissive"
        )
        return merged.field("c").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        if not pa.types.is_nested(decided) and not pa.types.is_nested(seen):
            return pa.string()
        return decided


class SchemaStore:
    """Reads and updates one export's decided schema on its destination."""

    def __init__(self, destination: Destination, key: str, export_id: str, evolution: Evolution) -> None:
        self._destination = destination
        self._key = key
        self._export_id = export_id
        self._evolution = evolution

    @property
    def key(self) -> str:
        return self._key

    def read(self) -> DecidedSchema | None:
        data, _ = self._destination.get_versioned(self._key)
        return None if data is None else self._parse(data)

    def decide(self, proposal: DecidedSchema) -> SchemaDecision:
        """The columns this window's files must follow; nothing is written (see :meth:`persist`)."""
        data, version = self._destination.get_versioned(self._key)
        current = None if data is None else self._parse(data)
        return SchemaDecision(merge(current, proposal, self._evolution), proposal, current, version)

    def persist(self, decision: SchemaDecision, used: set[str | None] | None = None) -> None:
        """Record a committed window's columns for the windows after it.

        ``used`` are the event names the window's files hold (None: all of the decision's).
        If another window persisted since :meth:`decide`, this window's proposal is merged
        into what it wrote; :class:`ColumnsChanged` if the result is not what the files follow.
        """
        current, merged, version = decision.base, decision.columns, decision.base_version
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                data, version = self._destination.get_versioned(self._key)
                current = None if data is None else self._parse(data)
                merged = merge(current, decision.proposal, self._evolution)
                if not decision.columns.agrees_with(merged, used, self._evolution):
                    raise ColumnsChanged(
                        f"the columns in {self._destination.url(self._key)} changed while this window "
                        "was exported (a window exported in parallel decided them first)"
                    )
            if merged == current:
                return
            document = json.dumps(
                merged.to_json(self._export_id, self._evolution), indent=1, ensure_ascii=False
            )
            try:
                self._destination.put_if(self._key, document.encode("utf-8"), "application/json", version)
            except ConcurrentUpdate:
                logger.info("schema %s changed since this window read it; merging again", self._key)
                continue
            return
        raise SchemaStoreError(
            f"could not update {self._destination.url(self._key)} after {MAX_ATTEMPTS} attempts: "
            "other runs kept changing it"
        )

    def _parse(self, data: bytes) -> DecidedSchema:
        try:
            document = json.loads(data)
            return DecidedSchema.from_json(document)
        except SchemaStoreError:
            raise
        except (ValueError, KeyError, TypeError, pa.ArrowInvalid) as error:
            raise SchemaStoreError(
                f"{self._destination.url(self._key)} is not a schema document this export wrote ({error}); "
                "restore it, or delete it to let the next window decide the columns afresh"
            ) from None
