"""Parse-time validation of the spec's ``fields`` section: every mistake named with its key."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.spec.fields import FieldsSpec, Renamed
from tests.unit.test_spec import problems, valid


def fields(**section: Any) -> FieldsSpec:
    return ExportSpec.from_mapping(valid(fields=section)).fields


def test_omitting_fields_exports_everything_the_source_has() -> None:
    spec = fields()
    assert spec.identifiers.use is None and spec.identifiers.mode == "all" and spec.identifiers.user_id
    assert (spec.profile, spec.device, spec.comm_prefs) == ("all", "all", "all")
    assert spec.events.patterns is None and spec.properties.default == "all"
    assert spec.event_time.style == "iso" and spec.schema_evolution == "append"


def test_a_full_selection_parses_with_renames_and_shorthands() -> None:
    spec = fields(
        identifiers={"use": ["crm_id", "email", "identity"], "mode": "fallback", "all_identities": True},
        event_time={"style": "epoch"},
        profile=["city", {"name": "customer_type", "as": "plan"}],
        device=["platform", "model"],
        comm_prefs="none",
        events={
            "include": "commerce",
            "categories": {"commerce": ["Charged", "Checkout *"]},
            "rename": {"Charged": "purchase"},
        },
        properties={
            "default": "none",
            "per_event": {
                "Charged": ["amount", {"name": "currency", "as": "ccy"}],
                "Checkout Started": "all",
            },
            "rename_everywhere": {"item_id": "sku"},
        },
        schema_evolution="lock",
    )
    assert spec.profile == (Renamed(name="city"), Renamed(name="customer_type", output="plan"))
    assert spec.comm_prefs == ()
    assert spec.events.selects("Checkout Started") and spec.events.selects("Charged")
    assert not spec.events.selects("Search") and not spec.events.selects(None)
    assert spec.events.output_name("Charged") == "purchase"
    assert spec.properties.needs_discovery(spec.events)  # a glob and an "all" list need the data


def test_explicit_lists_of_listed_events_need_no_scan_of_the_data() -> None:
    spec = fields(events={"include": ["Charged"]}, properties={"per_event": {"Charged": ["amount"]}})
    assert not spec.properties.needs_discovery(spec.events)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"profile": ["a", "b", "c", "d", "e", "f"]},
            "fields.profile: 6 profile properties selected; at most 5",
        ),
        ({"profile": ["city", {"name": "town", "as": "city"}]}, "output name 'city' is used more than once"),
        ({"device": ["platform", "cpu"]}, "'cpu' is not a device attribute; known: platform, token"),
        ({"device": "some"}, "'some' is not 'all', 'none' or a list"),
        ({"comm_prefs": ["push", "fax"]}, "'fax' is not a communication preference"),
        ({"identity": ["email"]}, "fields.identity: unknown key"),
        ({"identifiers": {"use": [], "user_id": False}}, "select at least one identifier"),
        ({"identifiers": {"mode": "fallback"}}, "mode 'fallback' needs 'use'"),
        ({"identifiers": {"use": ["email", "email"]}}, "email listed more than once"),
        ({"identifiers": {"use": ["crm id"]}}, "'crm id' is not an identifier name"),
        ({"event_time": {"timezone": "Mars/Olympus"}}, "unknown timezone 'Mars/Olympus'"),
        ({"event_time": {"style": "unix"}}, "fields.event_time.style: 'unix' is not allowed"),
        ({"events": {"include": "system"}}, "include 'system' is neither 'all' nor a category"),
        ({"events": {"include": []}}, "include is an empty list"),
        ({"events": {"categories": {"x": []}}}, "category 'x' is empty"),
        ({"events": {"rename": {"A": "C", "B": "C"}}}, "events 'A' and 'B' are both renamed to 'C'"),
        (
            {"events": {"include": ["A", "B"], "rename": {"A": "B"}}},
            "event 'A' is renamed to 'B', which is another exported event's name",
        ),
        ({"properties": {"per_event": {"X": ["a", "a"]}}}, "properties of 'X': 'a' is selected twice"),
        (
            {"properties": {"per_event": {"X": [{"name": "a", "as": "b.c"}]}}},
            "'b.c' cannot be an output name",
        ),
        (
            {
                "properties": {
                    "per_event": {"X": ["amount", "price"]},
                    "rename_everywhere": {"amount": "price"},
                }
            },
            "rename_everywhere turns 'amount' into 'price', which this event already writes",
        ),
        (
            {"properties": {"per_event": {"X": ["Price", {"name": "cost", "as": "price"}]}}},
            "output names 'Price' and 'price' differ only in case",
        ),
        ({"schema_evolution": "freeze"}, "fields.schema_evolution: 'freeze' is not allowed"),
    ],
)
def test_mistakes_are_named_at_parse_time(section: dict[str, Any], message: str) -> None:
    assert message in problems(valid(fields=section))


def test_explicit_renames_to_one_output_coalesce_instead_of_failing() -> None:
    spec = fields(properties={"per_event": {"X": ["price", {"name": "cost", "as": "price"}]}})
    selection = spec.properties.selection_for("X")
    assert selection != "all" and [spec.properties.output_for(e) for e in selection] == ["price", "price"]
