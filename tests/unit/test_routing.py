"""Routing prepares shared columns once per batch; the records must equal preparing each event whole."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from airflow_export_provider.engine.events import conform, window_schema
from airflow_export_provider.engine.formats import format_of
from airflow_export_provider.engine.formats.xml import events_of
from airflow_export_provider.engine.records.discover import propose, scan_event_properties
from airflow_export_provider.engine.records.project import Projector, select_events
from airflow_export_provider.engine.records.route import event_rows, group_by_event, own_copy
from airflow_export_provider.spec import FormatSpec
from airflow_export_provider.spec.fields import FieldsSpec
from airflow_export_provider.testing.sample_events import generate_day
from tests.reference import split_by_event

HOSTILE_ROWS: list[dict[str, Any]] = [
    {"event_name": name, "event_time": dt.datetime(2025, 3, 1, hour, tzinfo=dt.timezone.utc),
     "user_id": f"u{hour}", "properties": properties}
    for hour, (name, properties) in enumerate([
        ("../up", {"a": 1, "b": None}),
        (None, {"a": None, "c": "x\n\"y\"<&>"}),
        ("", {"b": 2.5}),
        ("Ünï/😀", {"a": 2**60, "list": ["p", None]}),
        ("../up", {"c": "\x01"}),
        (None, {"a": 3}),
        ("Ünï/😀", {}),
    ])
]  # fmt: skip


def canonical(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    table = pa.Table.from_pylist(rows)
    return conform(table.combine_chunks().to_batches()[0], window_schema([table.schema]))


def sample_batch() -> pa.RecordBatch:
    return (
        pa.Table.from_batches(list(generate_day(dt.date(2025, 3, 1), 3_000))).combine_chunks().to_batches()[0]
    )


def prepared_whole(batch: pa.RecordBatch, spec: FieldsSpec, projector: Projector, fmt: FormatSpec) -> dict:
    """The straightforward way: each event's rows taken, projected, then prepared whole."""
    preparation = format_of(fmt).preparation
    selected = select_events(batch, spec)
    whole = {
        name: preparation.prepare(projector.record(name, rows))
        for name, rows in split_by_event(selected, projector)
    }
    if preparation.lines is None:
        return whole
    return {
        name: pa.record_batch([preparation.lines(rows.columns)], names=["line"])
        for name, rows in whole.items()
    }


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xml", "parquet"])
@pytest.mark.parametrize("source", ["sample", "hostile"])
@pytest.mark.parametrize(
    "section",
    [
        {},
        {
            "events": {"include": ["Charged", "App Launched", "../up", "Ünï/😀"]},
            "identifiers": {"use": ["email", "identity"], "mode": "fallback"},
        },
        {
            "properties": {"rename_everywhere": {"amount": "value", "a": "value"}},
            "event_time": {"style": "epoch"},
        },
    ],
)
def test_routed_records_equal_each_event_prepared_whole(
    fmt: str, source: str, section: dict[str, Any]
) -> None:
    batch = sample_batch() if source == "sample" else canonical(HOSTILE_ROWS)
    spec = FieldsSpec.model_validate(section)
    projector = Projector(spec, propose(spec, batch.schema, scan_event_properties([batch], spec)))
    fmt_spec = FormatSpec.model_validate({"type": fmt})

    routed = event_rows(batch, spec, projector, format_of(fmt_spec).preparation)

    expected = prepared_whole(batch, spec, projector, fmt_spec)
    assert [name for name, _ in routed] == list(expected)
    for name, rows in routed:
        assert rows.equals(expected[name]), name
    assert sum(rows.num_rows for _, rows in routed) == select_events(batch, spec).num_rows


def test_xml_events_from_prepared_columns_in_any_grouping_are_the_same_text() -> None:
    batch = canonical(HOSTILE_ROWS)
    spec = FieldsSpec.model_validate({})
    projector = Projector(spec, propose(spec, batch.schema, scan_event_properties([batch], spec)))
    prepare = format_of(FormatSpec.model_validate({"type": "xml"})).preparation.prepare
    for name, rows in split_by_event(batch, projector):
        record = projector.record(name, rows)
        whole = events_of(prepare(record).columns)
        halves = [prepare(record.select([0, 1, 2])), prepare(record.select(range(3, record.num_columns)))]
        assert events_of([c for half in halves for c in half.columns]).equals(whole)


def test_groups_keep_time_order_within_each_event_and_cover_every_row() -> None:
    names = pa.array(["b", "a", None, "b", "a", "b", None])
    groups = group_by_event(names)
    assert groups.order is not None
    order = groups.order.to_pylist()
    spans = {name: order[offset : offset + count] for name, offset, count in groups.spans}
    assert spans == {"b": [0, 3, 5], "a": [1, 4], None: [2, 6]}
    single = group_by_event(pa.array(["only"] * 3))
    assert single.order is None and single.spans == [("only", 0, 3)]
    assert group_by_event(pa.array([], pa.string())).spans == []


def test_an_own_copy_shares_no_buffer_with_the_batch_it_was_sliced_from() -> None:
    batch = sample_batch()
    piece = batch.slice(100, 50)
    copy = own_copy(piece)
    assert copy.equals(piece)

    def ranges(array: pa.Array) -> list[tuple[int, int]]:
        found = [(b.address, b.address + b.size) for b in array.buffers() if b is not None]
        return found + [r for child in _children(array) for r in ranges(child)]

    parent = [r for column in batch.columns for r in ranges(column)]
    for column in copy.columns:
        for start, end in ranges(column):
            assert not any(start < p_end and p_start < end for p_start, p_end in parent)
    assert copy.nbytes <= piece.nbytes * 2 + 4096  # sized to the piece, not to the batch
    assert copy.nbytes < batch.nbytes / 10


def _children(array: pa.Array) -> list[pa.Array]:
    if isinstance(array, pa.StructArray):
        return [array.field(i) for i in range(array.type.num_fields)]
    if isinstance(array, (pa.ListArray, pa.MapArray)):
        return [array.values]
    return []
