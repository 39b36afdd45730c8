"""A routed batch's event properties, spelled once per source property for all its events.

Each event's records carry its own properties (``Projector.property_columns``), and text
formats spell them per event: with 41 events and 5-12 properties each, a 16k-row batch
cost some 1,300 kernel calls on a few hundred rows each, 86% of JSON Lines' routing time
(bench/results, profile 2026-12-04). Most property columns are the source property as is
(same name, same type), and the same source property is exported by many events; so its
text (``GroupSpelling.member``) is spelled once on the whole batch, and each event takes a
zero-copy slice of its rows, which are contiguous (``route.group_by_event``).

Columns that need work per event (a cast to a decided type, several sources coalesced)
are fitted and spelled on the event's rows alone, exactly as before: a cast of the
whole batch could fail on another event's values.
"""

from __future__ import annotations

import pyarrow as pa

from airflow_export_provider.engine.formats import GroupSpelling
from airflow_export_provider.engine.records.project import Projector, struct_members

PROPERTIES_COLUMN = "eventProps"


class SpelledProperties:
    """The properties of one batch (in event order), spelled for each event on request."""

    def __init__(self, projector: Projector, properties: pa.StructArray, spelling: GroupSpelling) -> None:
        self._projector = projector
        self._members = struct_members(properties)
        self._spelling = spelling
        self._spelled: dict[tuple[str, str], pa.Array] = {}

    def of(self, event_name: str | None, offset: int, count: int) -> pa.RecordBatch:
        """The event's prepared properties column for its rows ``offset`` to ``offset + count``."""
        columns = self._projector.property_columns(event_name)
        if not columns:
            return pa.RecordBatch.from_arrays([], schema=pa.schema([]))
        texts = []
        for column, sources in columns:
            found = [name for name in sources if name in self._members]
            if not found:
                continue  # no value anywhere in the batch: the member is absent from every record
            if len(found) == 1 and self._members[found[0]].type == column.type:
                texts.append(self._batch_wide(column.name, found[0]).slice(offset, count))
            else:
                own = [self._members[name].slice(offset, count) for name in found]
                values = self._projector.fitted(event_name, column, own, count)
                texts.append(self._spelling.member(column.name, values))
        spelled = self._spelling.group(PROPERTIES_COLUMN, texts, count)
        return pa.RecordBatch.from_arrays([spelled], names=[PROPERTIES_COLUMN])

    def _batch_wide(self, output: str, source: str) -> pa.Array:
        key = (output, source)
        if key not in self._spelled:
            self._spelled[key] = self._spelling.member(output, self._members[source])
        return self._spelled[key]
