"""Exports from a real PostgreSQL (throwaway cluster on 127.0.0.1), reconciled with the same events.

The sample lake's events are loaded into a table whose columns are named differently from
the canonical record (so the column mapping is exercised), with JSONB for the groups and
``timestamptz`` for the time. Exports of a window in every format must equal the expected
records of the lake, event by event.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pendulum
import psycopg2
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.destinations.local import LocalDestination
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.sources.sql import SourceError, SqlSource
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec, SqlSourceSpec
from tests.integration.test_s3_export import check_csv, check_xml, read_jsonl
from tests.postgres import Postgres
from tests.reference import expected_records, sort_key, strip_nulls
from tests.sql_events import COLUMNS, DRIVERS, connect, sqlite_events

pytestmark = pytest.mark.integration
BUCKET = "sql-exports"
WINDOW = Window(pendulum.datetime(2025, 3, 2, 8), pendulum.datetime(2025, 3, 2, 16))


def make_spec(source: dict[str, Any], fmt: str = "jsonl") -> ExportSpec:
    return ExportSpec.from_mapping({
        "export_id": "from_sql", "account_id": "acme",
        "source": {"type": "sql", "columns": COLUMNS, "batch_size": 1_000, **source},
        "destination": {"bucket": BUCKET, "prefix": "db"}, "format": {"type": fmt},
        "schedule": {"every": "8h"}})  # fmt: skip


def run(spec: ExportSpec) -> Any:
    return export_window(
        spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination)
    )


def objects(s3: Any) -> list[str]:
    return [
        o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []) if "/_schema/" not in o["Key"]
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xml", "parquet"])
def test_a_window_from_postgres_equals_the_same_events_from_the_lake(
    s3: Any, lake3: Path, events_db_conn_id: str, fmt: str
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    result = run(make_spec({"conn_id": events_db_conn_id, "table": "app.events"}, fmt))
    expected: dict[str | None, list[dict[str, Any]]] = {}
    for record in expected_records(lake3, WINDOW.start, WINDOW.end):
        expected.setdefault(record.get("eventName"), []).append(record)
    assert result.records == sum(len(v) for v in expected.values()) > 1_000
    assert result.rows_read == result.records
    assert {f.event_name for f in result.files} == set(expected)
    for file in result.files:
        data = s3.get_object(Bucket=BUCKET, Key=file.key)["Body"].read()
        data = gzip.decompress(data) if file.key.endswith(".gz") else data
        wanted = sorted(expected[file.event_name], key=sort_key)
        if fmt == "jsonl":
            assert sorted(read_jsonl(data), key=sort_key) == wanted
        elif fmt == "csv":
            assert check_csv(data, sorted_like(data, wanted, "csv")) == file.records
        elif fmt == "xml":
            assert check_xml(data, sorted_like(data, wanted, "xml")) == file.records
        else:
            assert (
                sorted((strip_nulls(r) for r in pq.read_table(io.BytesIO(data)).to_pylist()), key=sort_key)
                == wanted
            )


def sorted_like(data: bytes, wanted: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """The expected records in file order (rows are read in event_time order; ties keep source order)."""
    by_time: dict[str, list[dict[str, Any]]] = {}
    for record in wanted:
        by_time.setdefault(record["eventTime"], []).append(record)
    if fmt == "csv":
        times = [row["eventTime"] for row in csv.DictReader(io.StringIO(data.decode(), newline=""))]
    else:
        import xml.etree.ElementTree as ET

        times = [element.findtext("eventTime") or "" for element in ET.fromstring(data).findall("Event")]
    return [by_time[time].pop(0) for time in times]


def test_a_query_with_window_parameters_and_the_same_mapping(
    s3: Any, lake3: Path, events_db_conn_id: str
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    query = ("SELECT * FROM app.events WHERE occurred_at >= %(window_start)s AND occurred_at < %(window_end)s"
             " AND name <> 'Charged'")  # fmt: skip
    result = run(make_spec({"conn_id": events_db_conn_id, "query": query}))
    lake = [r for r in expected_records(lake3, WINDOW.start, WINDOW.end) if r.get("eventName") != "Charged"]
    assert result.records == len(lake) and "Charged" not in {f.event_name for f in result.files}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"table": "app.missing"}, "table app.missing on connection 'events_db' cannot be read: relation"),
        ({"table": "app.events", "columns": {**COLUMNS, "phone": "fax"}}, 'column "fax" does not exist'),
        ({"table": "app.events", "conn_id": "nope"}, "no usable Airflow connection 'nope'"),
        (
            {"query": "SELECT *, 1 / (extract(minute from occurred_at)::int - 30) AS x FROM app.events "
                      "WHERE occurred_at >= %(window_start)s AND occurred_at < %(window_end)s AND "
                      "1 / (extract(hour from occurred_at)::int - 12) IS NOT NULL"},
            "failed mid-window: division by zero",
        ),
    ],
)  # fmt: skip
def test_bad_sources_fail_clearly_and_leave_no_manifest_or_files(
    s3: Any, events_db_conn_id: str, source: dict[str, Any], message: str
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec({"conn_id": events_db_conn_id, **source})
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(spec)
    assert all(key.endswith(".pending.json") for key in objects(s3)), objects(s3)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_rows_stream_in_batches_from_a_server_side_cursor(
    events_db: Postgres, events_db_conn_id: str
) -> None:
    spec = make_spec({"conn_id": events_db_conn_id, "table": "app.events"}).source
    source = source_for(spec)
    sizes = [batch.num_rows for batch in source.read(WINDOW)]
    assert max(sizes) == 1_000 and len(sizes) > 1, sizes
    db = psycopg2.connect(host=events_db.host, port=events_db.port, user="postgres", dbname="events")
    with db, db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM app.events WHERE occurred_at >= %s AND occurred_at < %s",
                           (WINDOW.start, WINDOW.end))  # fmt: skip
        assert sum(sizes) == cursor.fetchone()[0]
    assert dt.timezone.utc  # the window bounds are aware datetimes, bound as parameters


def test_rows_committed_during_an_export_belong_to_the_next_run(
    events_db: Postgres, events_db_conn_id: str
) -> None:
    """The window is read from the database once: what the export writes is what its schema came from."""
    source = source_for(make_spec({"conn_id": events_db_conn_id, "table": "app.events"}).source)
    scanned = sum(batch.num_rows for batch in source.read(WINDOW, columns=["properties"]))
    db = psycopg2.connect(host=events_db.host, port=events_db.port, user="postgres", dbname="events")
    late = "INSERT INTO app.events (name, occurred_at, props) VALUES ('Late', %s, '{\"arrived_late\": 1}')"
    try:
        with db, db.cursor() as cursor:
            cursor.execute(late, (WINDOW.start.add(hours=1),))
        exported = list(source.read(WINDOW))
        assert sum(batch.num_rows for batch in exported) == scanned
        assert "arrived_late" not in [f.name for f in exported[0].schema.field("properties").type]
        again = source_for(make_spec({"conn_id": events_db_conn_id, "table": "app.events"}).source)
        assert sum(batch.num_rows for batch in again.read(WINDOW)) == scanned + 1  # the next run has it
    finally:
        with db, db.cursor() as cursor:
            cursor.execute("DELETE FROM app.events WHERE name = 'Late'")
        db.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_an_export_runs_the_window_query_once_and_leaves_no_spool(
    events_db: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str
) -> None:
    """Schema, property scan and rows come from one database read, spooled under TMPDIR and removed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    connections = []

    def counted() -> Any:
        connections.append(connect(driver, events_db))
        return connections[-1]

    spec = make_spec({"conn_id": "unused", "table": "app.events"}, "csv")
    assert isinstance(spec.source, SqlSourceSpec)
    out = tmp_path / "out"
    result = export_window(
        spec, WINDOW, source=SqlSource(spec.source, connect=counted), destination=LocalDestination(out)
    )
    assert len(connections) == 1 and result.records == result.rows_read > 1_000
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "the spool is removed"


def test_every_driver_path_writes_the_same_bytes(events_db: Postgres, tmp_path: Path) -> None:
    """ADBC, psycopg's COPY and psycopg2's named cursor: the same query, the same files."""
    written = {}
    for fmt in ("jsonl", "csv", "parquet"):
        spec = make_spec({"conn_id": "unused", "table": "app.events"}, fmt)
        assert isinstance(spec.source, SqlSourceSpec)
        for driver in DRIVERS:
            source = SqlSource(spec.source, connect=lambda d=driver: connect(d, events_db))
            out = tmp_path / f"{fmt}-{driver}"
            result = export_window(spec, WINDOW, source=source, destination=LocalDestination(out))
            written[fmt, driver] = sorted((f.key, f.sha256) for f in result.files)
        assert len(written[fmt, "adbc"]) > 5
        assert written[fmt, "adbc"] == written[fmt, "psycopg"] == written[fmt, "psycopg2"], fmt


@pytest.mark.parametrize("style", ["qmark", "named", "numeric"])
def test_any_db_api_driver_reads_through_the_generic_path(
    lake3: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    """SQLite (not PostgreSQL; its own parameter style; JSON as text): the same records as the lake.

    sqlite3 takes ``?``, ``:name`` and ``:1`` alike, so each style the source can be told
    (the driver module's ``paramstyle``) is driven through it.
    """
    import sqlite3

    monkeypatch.setattr(sqlite3, "paramstyle", style)
    path = sqlite_events(lake3, tmp_path / "events.db")
    query = ("SELECT * FROM events WHERE occurred_at >= %(window_start)s AND occurred_at < %(window_end)s"
             " AND name NOT LIKE 'Char%%'")  # fmt: skip
    for name, config in (("table", {"table": "events"}), ("query", {"query": query})):
        spec = make_spec({"conn_id": "unused", **config})
        assert isinstance(spec.source, SqlSourceSpec)
        source = SqlSource(
            spec.source, connect=lambda: sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES)
        )
        out = tmp_path / name
        result = export_window(spec, WINDOW, source=source, destination=LocalDestination(out))
        expected = [
            r for r in expected_records(lake3, WINDOW.start, WINDOW.end)
            if name == "table" or r.get("eventName") != "Charged"
        ]  # fmt: skip
        got = [r for f in result.files for r in read_jsonl(gzip.decompress((out / f.key).read_bytes()))]
        assert len(got) == result.records and sorted(got, key=sort_key) == sorted(expected, key=sort_key)


def test_rows_of_one_instant_come_in_the_same_order_whatever_the_table_order(
    s3: Any, events_db: Any, events_db_conn_id: str
) -> None:
    """The same rows inserted in two physical orders give byte-identical files: ORDER BY breaks ties."""
    import psycopg2

    db = psycopg2.connect(host=events_db.host, port=events_db.port, user=events_db.user, dbname="events")
    rows = [(f"E{i % 2}", f"u{i:03d}", f'{{"n": {i}}}') for i in range(300)]
    digests = []
    for order in (rows, rows[::-1]):
        with db, db.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS app.ties")
            cursor.execute(
                "CREATE TABLE app.ties (name text, occurred_at timestamptz, uid text, props jsonb)"
            )
            cursor.executemany("INSERT INTO app.ties VALUES (%s, '2025-03-02T09:00:00Z', %s, %s)", order)
        s3.create_bucket(Bucket=BUCKET)
        spec = ExportSpec.from_mapping({
            "export_id": "ties", "account_id": "acme",
            "source": {"type": "sql", "conn_id": events_db_conn_id, "table": "app.ties",
                       "columns": {"event_name": "name", "event_time": "occurred_at", "user_id": "uid",
                                   "properties": "props"}},
            "destination": {"bucket": BUCKET, "prefix": "ties"}, "format": {"type": "csv"},
            "schedule": {"every": "8h"}})  # fmt: skip
        result = run(spec)
        digests.append([(f.key, f.sha256) for f in result.files])
    db.close()
    assert len(digests[0]) == 2 and digests[0] == digests[1]


def test_a_connection_that_fails_names_it_and_never_its_password(
    events_db: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_export_provider.hooks.connections import sql_connection
    from airflow_export_provider.testing.loopback_s3 import free_port

    monkeypatch.setenv("AIRFLOW_CONN_NOWHERE_DB", json.dumps({
        "conn_type": "postgres", "host": events_db.host, "port": free_port(), "login": "exporter",
        "password": "hunter2-secret", "schema": "events"}))  # fmt: skip
    for arrow in (True, False):
        with pytest.raises(SourceError, match="cannot connect with 'nowhere_db'") as raised:
            sql_connection("nowhere_db", arrow=arrow)
        assert "hunter2" not in str(raised.value) and "hunter2" not in repr(raised.value)
