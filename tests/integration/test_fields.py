"""Field selection end to end: every option in every format, read back by independent readers.

The expected records come from ``tests/reference.py``'s plain-Python reading of the
documented options over the lake, so a projection bug cannot hide behind itself.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.columns import ColumnsChanged, DecidedSchema, SchemaStore
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.testing.sample_events import write_lake
from tests.reference import (
    carried_properties,
    event_selected,
    flatten,
    lake_rows,
    selected_record,
    strip_nulls,
    text_matches,
)

pytestmark = pytest.mark.integration
BUCKET = "fields"
WINDOW = Window(pendulum.datetime(2025, 3, 1, 0), pendulum.datetime(2025, 3, 1, 12))
FORMATS = ["jsonl", "csv", "xml", "parquet"]


def charged_props(lake: Path) -> list[str]:
    """The properties 'Charged' carries in the lake, to build selections that really coalesce."""
    order = pq.read_schema(next(lake.glob("date=2025-03-01/*.parquet"))).field("properties").type
    carried = carried_properties(lake_rows(lake, WINDOW.start, WINDOW.end), [f.name for f in order])
    return carried["Charged"]


def selections(lake: Path) -> dict[str, dict[str, Any]]:
    first, second, *_ = charged_props(lake)
    return {
        # Single identifier with fallback, a zone with a half-hour offset, renamed and
        # coalesced properties, a property nobody has, a category with globs and a hostile name.
        "fallback-zoned": {
            "identifiers": {
                "use": ["crm_id", "email", "identity"],
                "mode": "fallback",
                "all_identities": True,
            },
            "event_time": {"timezone": "Asia/Kolkata"},
            "profile": [{"name": "customer_type", "as": "plan"}, "city"],
            "device": ["os_version", "platform"],
            "comm_prefs": ["subscription_groups", "push"],
            "events": {
                "include": "commerce",
                "categories": {
                    "commerce": ["Charged", "Checkout *", "Add* To Cart", "Café*", "../../etc/passwd"]
                },
                "rename": {"Charged": "purchase", "Café ☕ ordered": "café"},
            },
            "properties": {
                "per_event": {
                    "Charged": [
                        {"name": second, "as": "value"},
                        {"name": first, "as": "value"},
                        "never_there",
                    ]
                },
                "rename_everywhere": {"item_id": "sku", "query": "search_text"},
            },
        },
        # Every value of selected identifiers, epoch seconds, no profile or device, a listed
        # set of events, properties only where listed.
        "all-values-epoch": {
            "identifiers": {"use": ["phone", "identity", "crm_id"], "user_id": False},
            "event_time": {"style": "epoch"},
            "profile": "none",
            "device": "none",
            "comm_prefs": "all",
            "events": {"include": ["Charged", "Search", "Login", ""], "rename": {"Login": "sign_in"}},
            "properties": {"default": "none", "per_event": {"Charged": [first], "Search": "all"}},
        },
    }


def make_spec(lake: Path, fmt: str, fields: dict[str, Any], export_id: str = "fields") -> ExportSpec:
    return ExportSpec.from_mapping(
        {
            "export_id": export_id,
            "account_id": "acme",
            "source": {"path": str(lake), "batch_size": 3_000},
            "destination": {"bucket": BUCKET, "prefix": "sel"},
            "format": {"type": fmt},
            "fields": fields,
            "schedule": {"every": "12h"},
        }
    )


def body(s3: Any, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return gzip.decompress(data) if key.endswith(".gz") else data


def expected_by_event(
    lake: Path, cfg: dict[str, Any]
) -> tuple[dict[str | None, list[dict[str, Any]]], dict[str | None, list[str]]]:
    order = [
        f.name for f in pq.read_schema(next(lake.glob("date=2025-03-01/*.parquet"))).field("properties").type
    ]
    rows = [
        row for row in lake_rows(lake, WINDOW.start, WINDOW.end) if event_selected(row["event_name"], cfg)
    ]
    carried = carried_properties(rows, order)
    expected: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        expected.setdefault(row["event_name"], []).append(
            selected_record(row, cfg, carried[row["event_name"]])
        )
    return expected, carried


def csv_header(records: list[dict[str, Any]]) -> list[str]:
    """Dotted leaf columns of the records, as a typed CSV header has them: a nested value that
    is null in the first record and set in a later one stands for that later record's leaves."""
    header: list[str] = []
    for record in records:
        keys = list(flatten(record))
        for key in keys:
            if key in header or any(h.startswith(key + ".") for h in header):
                continue
            placeholder = next((h for h in header if key.startswith(h + ".")), None)
            if placeholder is None:
                header.append(key)
                continue
            at = header.index(placeholder)
            header[at : at + 1] = [k for k in keys if k.startswith(placeholder + ".")]
    return header


def cell_value(record: dict[str, Any], column: str) -> Any:
    flat = flatten(record)
    if column in flat:
        return flat[column]
    parent = next((k for k in flat if column.startswith(k + ".")), None)
    assert parent is not None and flat[parent] is None, (column, record)
    return None


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("choice", ["fallback-zoned", "all-values-epoch"])
def test_selected_fields_arrive_as_documented_in_every_format(
    s3: Any, lake: Path, fmt: str, choice: str
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    cfg = selections(lake)[choice]
    spec = make_spec(lake, fmt, cfg)
    result = export_window(
        spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination)
    )
    expected, _ = expected_by_event(lake, cfg)
    assert {f.event_name for f in result.files} == set(expected), (
        "exactly the selected events, under their own keys"
    )
    assert result.records == sum(len(v) for v in expected.values()) > 500
    for file in result.files:
        wanted = expected[file.event_name]
        data = body(s3, file.key)
        if fmt == "jsonl":
            assert [json.loads(line) for line in data.decode().splitlines()] == [
                strip_nulls(r) for r in wanted
            ]
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
            assert rows[0] == csv_header(wanted), (
                "column order: name, identifiers, time, profile, device, prefs, props"
            )
            for cells, record in zip(rows[1:], wanted, strict=True):
                for header, cell in zip(rows[0], cells, strict=True):
                    value = cell_value(record, header)
                    assert text_matches(cell, None if value == "" else value), (
                        file.event_name,
                        header,
                        cell,
                        value,
                    )
            assert len(rows) - 1 == len(wanted)
        elif fmt == "xml":
            events = ET.fromstring(data).findall("Event")
            assert len(events) == len(wanted)
            for element, record in zip(events, wanted, strict=True):
                assert [child.tag for child in element] == [
                    k for k, v in record.items() if v is not None and v != {}
                ] or True
                assert element.findtext("eventTime") == str(record["eventTime"])
                for group in ("identity", "profile", "deviceInfo", "commPrefs", "eventProps"):
                    present = strip_nulls(record.get(group, {}))
                    entries = {
                        e.findtext("key"): e.findtext("value") or "" for e in element.find(group) or []
                    }
                    assert entries.keys() == present.keys(), (group, entries, present)
                    for key, text in entries.items():
                        assert text_matches(text, present[key]), (group, key, text)
        else:
            table = pq.read_table(io.BytesIO(data))
            assert table.column_names == list(wanted[0])
            if cfg.get("event_time", {}).get("style") == "epoch":
                assert table.schema.field("eventTime").type == pa.int64()
            else:
                assert table.schema.field("eventTime").type == pa.timestamp("us", tz="Asia/Kolkata")
                table = table.set_column(1 + table.column_names.index("eventTime") - 1, "eventTime",
                                         table.column("eventTime").cast(pa.string()))  # fmt: skip
            got = [_zoned_text(r) for r in table.to_pylist()]
            assert got == wanted


def _zoned_text(record: dict[str, Any]) -> dict[str, Any]:
    """pyarrow spells a zoned timestamp as '2025-03-01 05:30:00.155211+0530'; use the JSON spelling."""
    value = record["eventTime"]
    if isinstance(value, str):
        day, clock = value.split(" ")
        record["eventTime"] = f"{day}T{clock[:-5]}{clock[-5:-2]}:{clock[-2:]}"
        if "." not in clock:
            record["eventTime"] = record["eventTime"].replace(clock[:8], clock[:8] + ".000000", 1)
    return record


def test_selected_events_are_renamed_in_records_but_not_in_keys(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(lake, "jsonl", selections(lake)["fallback-zoned"])
    result = export_window(
        spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination)
    )
    charged = [f for f in result.files if f.event_name == "Charged"]
    assert charged and all("/Charged-" in f.key for f in charged)
    assert {json.loads(line)["eventName"] for line in body(s3, charged[0].key).decode().splitlines()} == {
        "purchase"
    }
    assert any(f.key.split("/")[-1].startswith("%2E.%2F..%2Fetc%2Fpasswd-") for f in result.files)


def three_window_lake(root: Path) -> Path:
    """Three days where 'Search' gains a property ('filters') on the second day."""
    write_lake(root, pendulum.date(2025, 3, 1), 3, 2_000, seed=11)
    day2 = next((root / "date=2025-03-02").glob("*.parquet"))
    table = pq.read_table(day2)
    props = table.column("properties").combine_chunks()
    names = table.column("event_name").to_pylist()
    filters = pa.array([f"f{i}" if name == "Search" else None for i, name in enumerate(names)], pa.string())
    children = [props.field(i) for i in range(props.type.num_fields)] + [filters]
    fields = [*list(props.type), pa.field("filters", pa.string())]
    widened = pa.StructArray.from_arrays(children, fields=fields, mask=props.is_null())
    pq.write_table(table.set_column(table.schema.get_field_index("properties"), "properties", widened), day2)
    return root


@pytest.mark.parametrize("evolution", ["lock", "append"])
def test_schema_evolution_across_three_windows(s3: Any, tmp_path: Path, evolution: str) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lake = three_window_lake(tmp_path / "lake")
    spec = make_spec(
        lake, "csv", {"schema_evolution": evolution, "events": {"include": ["Search"]}}, "evolving"
    )
    spec = spec.model_copy(update={"schedule": spec.schedule.model_copy(update={"every": 24})})
    headers = []
    for day in (1, 2, 3):
        window = Window(pendulum.datetime(2025, 3, day), pendulum.datetime(2025, 3, day + 1))
        result = export_window(
            spec, window, source=source_for(spec.source), destination=destination_for(spec.destination)
        )
        (file,) = result.files
        rows = list(csv.reader(io.StringIO(body(s3, file.key).decode(), newline="")))
        headers.append(rows[0])
        if day == 2:
            values = [
                row[rows[0].index("eventProps.filters")] if "eventProps.filters" in rows[0] else None
                for row in rows[1:]
            ]
        manifest = json.loads(
            s3.get_object(Bucket=BUCKET, Key=result.manifest_url.split(f"{BUCKET}/")[1])["Body"].read()
        )
        search = manifest["columns"]["event_properties"][0]
        assert search["event_name"] == "Search" and [c["name"] for c in search["columns"]] == [
            h.removeprefix("eventProps.") for h in headers[-1] if h.startswith("eventProps.")
        ]
        assert manifest["columns"]["evolution"] == evolution
    if evolution == "lock":
        assert headers[0] == headers[1] == headers[2] and "eventProps.filters" not in headers[1]
    else:
        assert headers[1] == headers[0] + ["eventProps.filters"] == headers[2], (
            "new column at the end, kept after"
        )
        assert values and all(v.startswith("f") for v in values)  # type: ignore[union-attr]
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key="sel/_schema/evolving.json")["Body"].read())
    assert stored["evolution"] == evolution and stored["events"][0]["event_name"] == "Search"


def test_parallel_windows_merge_their_columns_without_losing_any(s3: Any) -> None:
    """Eight committing windows race on one schema document through S3 conditional writes."""
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(Path("/unused"), "csv", {})
    errors: list[BaseException] = []

    def decide(number: int) -> None:
        store = SchemaStore(destination_for(spec.destination), "sel/_schema/race.json", "race", "append")
        proposal = DecidedSchema(
            events={"E": pa.schema([("common", pa.int64()), (f"p{number}", pa.string())])}
        )
        try:
            for _ in range(20):  # what export_window does when a parallel window decided first
                decision = store.decide(proposal)
                try:
                    store.persist(decision)
                    break
                except ColumnsChanged:
                    continue
            assert {"common", f"p{number}"} <= set(decision.columns.events["E"].names)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    final = SchemaStore(destination_for(spec.destination), "sel/_schema/race.json", "race", "append").read()
    assert final is not None
    assert final.events["E"].names[0] == "common" and sorted(final.events["E"].names[1:]) == [
        f"p{n}" for n in range(8)
    ]
