"""Source batches → each event's encoder-ready rows, the per-batch work of an export.

Files are per event, so every source batch is routed: its rows are grouped by event
name, each event gets its output name and its own properties, and the format prepares
the columns (``formats.protocol.Preparation``). Done naively per event, that is dozens of
kernel calls on a few hundred rows each (41 events in a 32k-row batch), and the call
overhead, not the rows, sets the speed.

So what every event shares is done once per batch: the projected rows are put in event
order with one ``take`` (typed, before their text is spelled, which is larger), and
each event is a zero-copy slice of them. For text formats the shared columns are
prepared on the whole batch, and only each event's name and properties per event.
Parquet keeps typed rows that its encoder holds for row groups, and a slice would keep
the whole batch alive while one rare event waits for its row group; so each event's
finished slice is copied into buffers of its own: one sort and contiguous copies are
cheaper than a gather per event (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.formats import Preparation
from airflow_export_provider.engine.records.project import Projector, select_events, side_by_side
from airflow_export_provider.engine.records.spelled_properties import SpelledProperties
from airflow_export_provider.spec.fields import FieldsSpec

EventRows = list[tuple[str | None, pa.RecordBatch]]


@dataclass(frozen=True)
class EventGroups:
    """Where each event's rows are once the batch is put in ``order`` (None: already in order)."""

    order: pa.Array | None
    spans: list[tuple[str | None, int, int]]  # event name, offset, count


def group_by_event(names: pa.Array) -> EventGroups:
    """Rows grouped by event name, keeping their order within each event (a stable sort)."""
    if not len(names):
        return EventGroups(None, [])
    encoded = pc.dictionary_encode(names, null_encoding="encode")
    if len(encoded.dictionary) == 1:
        return EventGroups(None, [(encoded.dictionary[0].as_py(), 0, len(names))])
    counts = pc.value_counts(encoded.indices)
    by_code = sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))
    dictionary = encoded.dictionary.to_pylist()
    spans = []
    offset = 0
    for code, count in by_code:
        spans.append((dictionary[code], offset, count))
        offset += count
    return EventGroups(pc.sort_indices(encoded.indices), spans)


def own_copy(rows: pa.RecordBatch) -> pa.RecordBatch:
    """``rows`` in buffers of their own, sized to them: nothing of a larger batch stays alive."""
    return pa.concat_batches([rows])


def event_rows(
    batch: pa.RecordBatch, fields: FieldsSpec, projector: Projector, preparation: Preparation
) -> EventRows:
    """One source batch as each event's prepared rows, in the order of the event names' codes."""
    selected = select_events(batch, fields)
    groups = group_by_event(selected.column("event_name"))
    rows = projector.shared(selected)
    if groups.order is not None:  # typed columns are smaller than their text: sort before preparing
        rows = rows.take(groups.order)
    if preparation.pieces_own_rows:
        return [
            (name, own_copy(preparation.prepare(projector.record(name, rows.slice(offset, count)))))
            for name, offset, count in groups.spans
        ]
    shared = preparation.prepare(rows.columns)
    spelled = (
        SpelledProperties(projector, rows.properties, preparation.group_spelling)
        if preparation.group_spelling is not None
        else None
    )
    pieces = []
    for name, offset, count in groups.spans:
        if spelled is not None:
            head, tail = (
                preparation.prepare(projector.event_head(name, count)),
                spelled.of(name, offset, count),
            )
        else:
            head, raw_tail = projector.event_columns(name, rows.properties.slice(offset, count))
            head, tail = preparation.prepare(head), preparation.prepare(raw_tail)
        prepared = side_by_side([head, shared.slice(offset, count), tail])
        if preparation.lines is not None:
            prepared = pa.RecordBatch.from_arrays([preparation.lines(prepared.columns)], names=["line"])
        pieces.append((name, prepared))
    return pieces
