"""File series per window and Hive-style folders, read back by independent readers.

``split: window`` puts every event of a window into one series of files; each format's
own reader (csv, json, xml.etree, pyarrow, DuckDB) must give back exactly the lake's
records of the window. Hive folders must be what DuckDB and pyarrow datasets discover.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pendulum
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.keys import encode_event_name
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from tests.integration.test_fields import three_window_lake
from tests.reference import (
    carried_properties,
    expected_records,
    flatten,
    lake_rows,
    strip_nulls,
    text_matches,
)

pytestmark = pytest.mark.integration
BUCKET = "layouts"
WINDOW = Window(pendulum.datetime(2025, 3, 1, 0), pendulum.datetime(2025, 3, 1, 12))
FORMATS = ["jsonl", "csv", "xml", "parquet"]


def make_spec(lake: Path, fmt: str, layout: dict[str, Any], **extra: Any) -> ExportSpec:
    return ExportSpec.from_mapping(
        {
            "export_id": "mixed",
            "account_id": "acme",
            "source": {"path": str(lake), "batch_size": 3_000},
            "destination": extra.pop("destination", {"bucket": BUCKET, "prefix": "mix"}),
            "layout": layout,
            "format": {"type": fmt, **extra.pop("format", {})},
            "schedule": {"every": "12h"},
            **extra,
        }
    )


def run(spec: ExportSpec, window: Window = WINDOW) -> Any:
    return export_window(
        spec, window, source=source_for(spec.source), destination=destination_for(spec.destination)
    )


def body(s3: Any, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return gzip.decompress(data) if key.endswith(".gz") else data


def union_of_properties(rows: list[dict[str, Any]], lake: Path) -> list[str]:
    """Events in name order, each adding the properties it carries that no earlier event had."""
    order = [f.name for f in pq.read_schema(next(lake.glob("date=*/*.parquet"))).field("properties").type]
    carried = carried_properties(rows, order)
    union: list[str] = []
    for event in sorted(carried, key=lambda name: (name is not None, name or "")):
        union.extend(p for p in carried[event] if p not in union)
    return union


def record_key(record: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(record.get("eventName")),
        str(record.get("eventTime")),
        str(record.get("identity", {}).get("userId")),
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_series_per_window_holds_every_event_in_every_format(s3: Any, lake: Path, fmt: str) -> None:
    s3.create_bucket(Bucket=BUCKET)
    layout = {"split": "window", "folders": ["date"], "file_template": "{export_id}-{timestamp}-{file_index}"}
    result = run(make_spec(lake, fmt, layout))
    expected = expected_records(lake, WINDOW.start, WINDOW.end)
    assert len(result.files) == 1 and result.records == len(expected) > 1_000
    [file] = result.files
    ext = {"jsonl": "jsonl.gz", "csv": "csv.gz", "xml": "xml.gz", "parquet": "parquet"}[fmt]
    assert file.key == f"mix/2025-03-01/mixed-1740787200-0000.{ext}"
    events = {record["eventName"] for record in expected}
    manifest = json.loads(body(s3, "mix/_manifests/mixed/2025-03-01/1740787200-0.json"))
    assert manifest["files"][0]["event_names"] == sorted(events) and "event_name" not in manifest["files"][0]
    data = body(s3, file.key)
    if fmt == "jsonl":
        got = [json.loads(line) for line in data.decode().splitlines()]
        assert sorted(got, key=record_key) == sorted(expected, key=record_key)
    elif fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
        union = union_of_properties(lake_rows(lake, WINDOW.start, WINDOW.end), lake)
        assert [f.name for f in table.schema.field("eventProps").type] == union
        got = [strip_nulls(r) for r in table.to_pylist()]
        assert sorted(got, key=record_key) == sorted(expected, key=record_key)
    elif fmt == "xml":
        elements = ET.fromstring(data).findall("Event")
        got_keys = Counter((e.findtext("eventName"), e.findtext("eventTime")) for e in elements)
        assert got_keys == Counter((r["eventName"], r["eventTime"]) for r in expected)
    else:
        rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
        header, cells = rows[0], rows[1:]
        union = union_of_properties(lake_rows(lake, WINDOW.start, WINDOW.end), lake)
        leaves = [h.removeprefix("eventProps.") for h in header if h.startswith("eventProps.")]
        assert list(dict.fromkeys(leaf.split(".")[0] for leaf in leaves)) == union, (
            "the header is the union of the events' properties, events in name order"
        )
        by_key = {record_key(r): flatten(r) for r in expected}
        assert len(by_key) == len(expected) == len(cells)
        for row in cells:
            record = dict(zip(header, row, strict=True))
            wanted = by_key[(record["eventName"], record["eventTime"], record["identity.userId"])]
            for column, cell in record.items():
                assert text_matches(cell, wanted.get(column)), (column, cell, wanted.get(column))


def test_a_window_series_rolls_at_the_limits_and_duckdb_reads_every_record(
    lake: Path, tmp_path: Path
) -> None:
    duckdb = pytest.importorskip("duckdb")
    layout = {"preset": "adapty"}
    destination = {"type": "local", "path": str(tmp_path), "prefix": "adapty-events/app"}
    spec = make_spec(lake, "csv", layout, destination=destination, format={"max_records_per_file": 2_500})
    spec = ExportSpec.from_mapping({**spec.model_dump(mode="json"), "schedule": {"every": "24h"}})
    day = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
    result = run(spec, day)
    names = sorted(Path(f.key).name for f in result.files)
    assert names == sorted(f"2025-03-01-{n}.csv.gz" for n in range(len(names))) and len(names) > 2
    expected = expected_records(lake, day.start, day.end)
    counted = duckdb.sql(
        f"SELECT eventName, count(*) FROM read_csv('{tmp_path}/adapty-events/app/*.csv.gz', "
        "union_by_name=true) GROUP BY eventName"
    ).fetchall()
    # CSV has one spelling for null and the empty string: an empty cell, which DuckDB reads as NULL
    assert dict(counted) == Counter(r["eventName"] or None for r in expected)


@pytest.mark.parametrize("evolution", ["append", "lock"])
def test_the_window_series_header_follows_schema_evolution_across_windows(
    s3: Any, tmp_path: Path, evolution: str
) -> None:
    """'Search' gains a property on the second day: append adds it at the end, lock never."""
    s3.create_bucket(Bucket=BUCKET)
    lake = three_window_lake(tmp_path / "lake")
    spec = make_spec(lake, "csv", {"split": "window"}, fields={"schema_evolution": evolution})
    spec = ExportSpec.from_mapping({**spec.model_dump(mode="json"), "schedule": {"every": "24h"}})
    headers = []
    for day in (1, 2, 3):
        window = Window(pendulum.datetime(2025, 3, day), pendulum.datetime(2025, 3, day + 1))
        [file] = run(spec, window).files
        headers.append(next(csv.reader(io.StringIO(body(s3, file.key).decode(), newline=""))))
    if evolution == "lock":
        assert headers[0] == headers[1] == headers[2] and "eventProps.filters" not in headers[1]
    else:
        assert headers[1] == [*headers[0], "eventProps.filters"] == headers[2]


def test_hive_folders_are_the_partitions_duckdb_and_pyarrow_discover(lake: Path, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    destination = {"type": "local", "path": str(tmp_path), "prefix": "warehouse"}
    spec = make_spec(lake, "parquet", {"preset": "hive"}, destination=destination)
    windows = [
        Window(pendulum.datetime(2025, 3, day, hour), pendulum.datetime(2025, 3, day, hour).add(hours=12))
        for day in (1, 2) for hour in (0, 12)
    ]  # fmt: skip
    expected: Counter[tuple[str, str]] = Counter()
    for window in windows:
        run(spec, window)
        for record in expected_records(lake, window.start, window.end):
            expected[(window.start.to_date_string(), encode_event_name(record["eventName"]))] += 1
    root = tmp_path / "warehouse"
    assert not list(root.glob("date=*/**/_*")), "bookkeeping stays outside the partition folders"
    assert {p.name for p in root.iterdir() if p.name.startswith("_")} >= {"_manifests", "_schema"}

    counted = duckdb.sql(
        "SELECT CAST(date AS VARCHAR), hour, event_name, count(*) "
        f"FROM read_parquet('{root}/date=*/**/*.parquet', hive_partitioning=true, union_by_name=true) "
        "GROUP BY ALL"
    ).fetchall()
    by_partition: Counter[tuple[str, str]] = Counter()
    for date, hour, event_name, count in counted:
        assert int(hour) in (0, 12)
        by_partition[(date, segment_of(event_name))] += count
    assert by_partition == expected, "DuckDB URL-decodes the values back to the event names"

    dataset = ds.dataset(root, format="parquet", partitioning="hive", ignore_prefixes=["_", "."])
    table = dataset.to_table(columns=["date", "event_name", "eventName"])
    counts = table.group_by(["date", "event_name"]).aggregate([("eventName", "count")]).to_pylist()
    assert Counter({(str(row["date"]), segment_of(row["event_name"])): row["eventName_count"]
                    for row in counts}) == expected  # fmt: skip


def segment_of(decoded: str) -> str:
    """A partition value as readers give it (URL-decoded) back in its key spelling."""
    return decoded if decoded in ("%null", "%empty") else encode_event_name(decoded)


def test_a_local_folder_takes_windows_whose_first_folder_is_the_event_name(
    lake: Path, tmp_path: Path
) -> None:
    """The window has no folder of its own: it is written (and logged) under the destination root."""
    destination = {"type": "local", "path": str(tmp_path)}
    spec = make_spec(lake, "csv", {"folders": ["event_name", "date"]}, destination=destination)
    window = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 1, 12))
    result = run(spec, window)
    assert result.records == len(expected_records(lake, window.start, window.end)) > 0
    for exported in result.files:
        assert (tmp_path / exported.key).is_file()
        assert exported.key.split("/")[0] == encode_event_name(exported.event_name)
