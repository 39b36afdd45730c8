"""Projection of canonical batches onto the spec's fields, checked value by value."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from airflow_export_provider.engine.columns import DecidedSchema, merge
from airflow_export_provider.engine.events import EventSchemaError, conform, window_schema
from airflow_export_provider.engine.records.discover import propose, scan_event_properties
from airflow_export_provider.engine.records.project import Projector, property_sources, select_events
from airflow_export_provider.spec.fields import FieldsSpec
from tests.reference import split_by_event

UTC = dt.timezone.utc
SPRING = dt.datetime(2025, 3, 30, 0, 59, 59, 500000, tzinfo=UTC)  # 01:59:59.5 CET, then clocks jump
AFTER = dt.datetime(2025, 3, 30, 1, 0, 0, tzinfo=UTC)  # 03:00 CEST

ROWS: list[dict[str, Any]] = [
    {
        "event_name": "Charged",
        "event_time": SPRING,
        "user_id": "u1",
        "identity": None,
        "email": "a@example.com",
        "phone": "+49 1",
        "custom_identities": {"crm_id": "CRM-1"},
        "profile": {"city": "Kraków", "plan": "pro", "age": 40},
        "properties": {"amount": 9.5, "price": None, "cost": 3.0, "note": "ü" * 5000},
    },
    {
        "event_name": "Charged",
        "event_time": AFTER,
        "user_id": "u2",
        "identity": None,
        "email": None,
        "phone": None,
        "custom_identities": {"crm_id": None},
        "profile": None,
        "properties": {"amount": None, "price": 7.0, "cost": 4.0},
    },
    {
        "event_name": "Search",
        "event_time": AFTER,
        "user_id": "u3",
        "identity": "id-3",
        "email": "c@example.com",
        "phone": None,
        "custom_identities": None,
        "profile": {"city": None, "plan": "free"},
        "properties": {"query": "李雷"},
    },
]


def canonical(rows: list[dict[str, Any]] = ROWS) -> pa.RecordBatch:
    table = pa.Table.from_pylist(rows)
    schema = window_schema([table.schema])
    return conform(table.combine_chunks().to_batches()[0], schema)


def fields(**section: Any) -> FieldsSpec:
    return FieldsSpec.model_validate(section)


def records(spec: FieldsSpec, batch: pa.RecordBatch | None = None) -> dict[str | None, list[dict[str, Any]]]:
    """Project like export.py does and return each event's records as Python values."""
    batch = canonical() if batch is None else batch
    presence = scan_event_properties([batch], spec)
    decided = propose(spec, batch.schema, presence)
    projector = Projector(spec, decided)
    out: dict[str | None, list[dict[str, Any]]] = {}
    for name, rows in split_by_event(select_events(batch, spec), projector):
        out[name] = projector.record(name, rows).to_pylist()
    return out


def test_default_fields_write_every_identifier_group_and_carried_property() -> None:
    charged, search = records(fields())["Charged"], records(fields())["Search"]
    assert list(charged[0]) == [
        "eventName",
        "identity",
        "eventTime",
        "profile",
        "deviceInfo",
        "commPrefs",
        "eventProps",
    ]
    assert charged[0]["identity"] == {
        "userId": "u1", "identity": None, "email": "a@example.com", "phone": "+49 1", "crm_id": "CRM-1",
    }  # fmt: skip
    # Each event has only the properties it carries, in the source's order.
    assert list(charged[0]["eventProps"]) == ["amount", "price", "cost", "note"]
    assert list(search[0]["eventProps"]) == ["query"]
    assert charged[1]["profile"] == {"city": None, "plan": None, "age": None}


def test_fallback_writes_the_first_identifier_present_and_says_which() -> None:
    spec = fields(identifiers={"use": ["identity", "crm_id", "email"], "mode": "fallback", "user_id": False})
    out = records(spec)
    assert [r["identity"] for r in out["Charged"]] == [
        {"id": "CRM-1", "idType": "crm_id"},
        {"id": None, "idType": None},
    ]
    assert out["Search"][0]["identity"] == {"id": "id-3", "idType": "identity"}


def test_all_values_mode_keeps_priority_order_and_all_identities_lists_what_the_record_has() -> None:
    spec = fields(identifiers={"use": ["email", "crm_id"], "all_identities": True})
    out = records(spec)
    first = out["Charged"][0]["identity"]
    assert list(first) == ["userId", "email", "crm_id", "allIdentities"]
    assert first["allIdentities"] == ["a@example.com", "+49 1", "CRM-1"]
    assert out["Charged"][1]["identity"]["allIdentities"] == []
    assert out["Search"][0]["identity"]["allIdentities"] == ["id-3", "c@example.com"]


def test_epoch_time_is_integer_seconds_and_iso_time_is_zoned_across_the_dst_jump() -> None:
    epoch = records(fields(event_time={"style": "epoch"}))["Charged"]
    assert [r["eventTime"] for r in epoch] == [int(SPRING.timestamp()), int(AFTER.timestamp())]
    zoned = records(fields(event_time={"timezone": "Europe/Berlin"}))["Charged"]
    local = [r["eventTime"] for r in zoned]
    assert [t.isoformat() for t in local] == [
        "2025-03-30T01:59:59.500000+01:00",
        "2025-03-30T03:00:00+02:00",
    ]


def test_profile_device_and_preferences_keep_only_the_selection_in_its_order() -> None:
    spec = fields(
        profile=["plan", {"name": "city", "as": "City"}], device=["model", "platform"], comm_prefs="none"
    )
    first = records(spec)["Charged"][0]
    assert first["profile"] == {"plan": "pro", "City": "Kraków"}
    assert first["deviceInfo"] == {"model": None, "platform": None}
    assert "commPrefs" not in first


def test_event_selection_renames_the_event_but_keeps_its_original_name_for_files() -> None:
    spec = fields(events={"include": ["Charg*"], "rename": {"Charged": "purchase"}})
    out = records(spec)
    assert set(out) == {"Charged"}  # the split (and so the file names) uses the original name
    assert {r["eventName"] for r in out["Charged"]} == {"purchase"}


def test_two_properties_written_as_one_output_take_the_first_non_null_in_order() -> None:
    spec = fields(
        properties={
            "per_event": {"Charged": [{"name": "price", "as": "value"}, {"name": "amount", "as": "value"}]}
        }
    )
    assert [r["eventProps"] for r in records(spec)["Charged"]] == [{"value": 9.5}, {"value": 7.0}]


def test_rename_everywhere_yields_to_a_property_already_named_like_the_target() -> None:
    spec = fields(properties={"rename_everywhere": {"amount": "price", "query": "search_text"}})
    out = records(spec)
    assert [r["eventProps"]["price"] for r in out["Charged"]] == [9.5, 7.0]  # price wins, amount fills
    assert "amount" not in out["Charged"][0]["eventProps"]
    assert out["Search"][0]["eventProps"] == {"search_text": "李雷"}
    assert property_sources(
        fields(properties={"rename_everywhere": {"amount": "price"}}), "Charged", ["amount", "price"]
    ) == [("price", ["price", "amount"])]


def test_a_selected_property_no_record_has_is_an_all_null_column() -> None:
    spec = fields(properties={"per_event": {"Search": ["query", "missing"]}})
    assert records(spec)["Search"] == [
        {**records(spec)["Search"][0], "eventProps": {"query": "李雷", "missing": None}}
    ]


def test_lock_keeps_the_first_columns_and_append_adds_new_ones_at_the_end() -> None:
    spec_lock, spec_append = fields(schema_evolution="lock"), fields()
    first = canonical(ROWS[2:])  # Search with "query"
    second = canonical([{**ROWS[2], "properties": {"query": "x", "page": 2}}])
    for spec, expected in ((spec_lock, ["query"]), (spec_append, ["query", "page"])):
        decided = propose(spec, first.schema, scan_event_properties([first], spec))
        decided = merge(
            decided,
            propose(spec, second.schema, scan_event_properties([second], spec)),
            spec.schema_evolution,
        )
        assert [f.name for f in decided.events["Search"]] == expected
        projector = Projector(spec, decided)
        ((name, rows),) = split_by_event(second, projector)
        assert list(projector.record(name, rows).to_pylist()[0]["eventProps"]) == expected


def test_a_locked_type_that_values_cannot_take_is_a_clear_error() -> None:
    spec = fields(schema_evolution="lock")
    decided = DecidedSchema(
        events={"Search": pa.schema([("query", pa.int64())])}, groups={"profile": pa.schema([])}
    )
    projector = Projector(spec, decided)
    ((name, rows),) = split_by_event(canonical(ROWS[2:]), projector)
    with pytest.raises(EventSchemaError, match="property 'query' of event 'Search': values of type string"):
        projector.record(name, rows)


def test_append_widens_types_and_turns_irreconcilable_scalars_into_text() -> None:
    current = DecidedSchema(
        events={"E": pa.schema([("n", pa.int64()), ("s", pa.struct([("a", pa.int64())])), ("z", pa.null())])}
    )
    seen = DecidedSchema(
        events={
            "E": pa.schema([("n", pa.float64()), ("s", pa.struct([("b", pa.string())])), ("z", pa.bool_())])
        }
    )
    widened = merge(current, seen, "append").events["E"]
    assert widened.types == [pa.float64(), pa.struct([("a", pa.int64()), ("b", pa.string())]), pa.bool_()]
    text = merge(current, DecidedSchema(events={"E": pa.schema([("n", pa.string())])}), "append").events["E"]
    assert text.field("n").type == pa.string()
    locked = merge(current, seen, "lock").events["E"]
    assert locked.types == [pa.int64(), pa.struct([("a", pa.int64())]), pa.bool_()]  # only null takes a type
