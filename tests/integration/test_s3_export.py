"""Exports to a real S3 API (moto server on loopback) read back with independent readers."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.sources import LakeSource
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.exceptions import DestinationError
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from tests.reference import expected_records, flatten, sort_key, strip_nulls, text_matches

pytestmark = pytest.mark.integration
BUCKET = "exports"
WINDOW = Window(pendulum.datetime(2025, 3, 1, 8), pendulum.datetime(2025, 3, 1, 16))


def make_spec(lake: Path, **format_options: Any) -> ExportSpec:
    return ExportSpec.from_mapping(
        {
            "export_id": "daily",
            "account_id": "acme",
            "source": {"path": str(lake), "batch_size": 4_000},
            "destination": {"bucket": BUCKET, "prefix": "team/events", "encryption": {"type": "AES256"}},
            "layout": {"folders": ["data_type", "date"]},
            "format": {"type": "jsonl", **format_options},
            "schedule": {"every": "8h", "start_date": "2025-03-01"},
        }
    )


def run(spec: ExportSpec, window: Window = WINDOW) -> Any:
    return export_window(
        spec, window, source=source_for(spec.source), destination=destination_for(spec.destination)
    )


def listing(s3: Any) -> dict[str, dict[str, Any]]:
    """Every object but the export's schema document, which outlives windows (see test_fields.py)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    objects = {item["Key"]: item for page in pages for item in page.get("Contents", [])}
    return {key: item for key, item in objects.items() if "/_schema/" not in key}


def body(s3: Any, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return gzip.decompress(data) if key.endswith(".gz") else data


def manifest_of(s3: Any, result: Any) -> dict[str, Any]:
    return json.loads(body(s3, result.manifest_url.removeprefix(f"s3://{BUCKET}/")))


def read_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def check_csv(data: bytes, expected: list[dict[str, Any]]) -> int:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    rows = list(reader)
    assert len(rows) == len(expected)
    for row, record in zip(rows, expected, strict=True):
        flat = flatten(record)
        assert set(flat) <= set(row), f"columns missing: {set(flat) - set(row)}"
        for column, cell in row.items():
            wanted = flat.get(column)
            if wanted == "":  # CSV cannot tell an empty string from a null
                wanted = None
            assert text_matches(cell, wanted), (column, cell, wanted)
    return len(rows)


def check_xml(data: bytes, expected: list[dict[str, Any]]) -> int:
    events = ET.fromstring(data).findall("Event")
    assert len(events) == len(expected)
    for element, record in zip(events, expected, strict=True):
        assert element.findtext("eventName") == record["eventName"]
        assert element.findtext("eventTime") == record["eventTime"]
        for group in ("identity", "profile", "deviceInfo", "commPrefs", "eventProps"):
            entries = {e.findtext("key"): e.findtext("value") or "" for e in element.find(group) or []}
            assert entries.keys() == record[group].keys(), group
            for key, text in entries.items():
                assert text_matches(text, record[group][key]), (group, key, text)
    return len(events)


def per_event_expected(lake: Path) -> dict[str | None, list[dict[str, Any]]]:
    grouped: dict[str | None, list[dict[str, Any]]] = {}
    for record in expected_records(lake, WINDOW.start, WINDOW.end):
        grouped.setdefault(record.get("eventName"), []).append(record)
    return grouped


def file_records(s3: Any, manifest: dict[str, Any], fmt: str) -> Iterator[tuple[dict[str, Any], bytes]]:
    for entry in manifest["files"]:
        yield entry, body(s3, entry["key"])


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xml", "parquet"])
def test_every_record_of_the_window_arrives_exactly_once(s3: Any, lake: Path, fmt: str) -> None:
    s3.create_bucket(Bucket=BUCKET)
    result = run(make_spec(lake, type=fmt))
    manifest = manifest_of(s3, result)
    expected = per_event_expected(lake)
    assert manifest["totals"]["records"] == sum(len(v) for v in expected.values()) > 5_000
    assert {entry["event_name"] for entry in manifest["files"]} == set(expected)
    objects = listing(s3)
    for entry, data in file_records(s3, manifest, fmt):
        wanted = sorted(expected[entry["event_name"]], key=sort_key)
        assert objects[entry["key"]]["Size"] == entry["bytes"]
        if fmt == "jsonl":
            assert sorted(read_jsonl(data), key=sort_key) == wanted
        elif fmt == "csv":
            assert check_csv(data, wanted) == entry["records"]
        elif fmt == "xml":
            assert check_xml(data, wanted) == entry["records"]
        else:
            table = pq.read_table(io.BytesIO(data))
            assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups == 1, "no tiny row groups"
            assert table.schema.field("eventTime").type == pa.timestamp("us", tz="UTC")
            assert sorted((strip_nulls(r) for r in table.to_pylist()), key=sort_key) == wanted
        assert len(wanted) == entry["records"]
    # Nothing but the window's files and its manifest; no bookkeeping left behind.
    assert set(objects) == {e["key"] for e in manifest["files"]} | {
        result.manifest_url.split(f"{BUCKET}/")[1]
    }


def test_values_are_spelled_faithfully_in_json(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    manifest = manifest_of(s3, run(make_spec(lake, type="jsonl")))
    records = [r for entry in manifest["files"] for r in read_jsonl(body(s3, entry["key"]))]
    text = json.dumps(records)
    assert "True" not in text and "'" not in json.dumps([r["eventProps"].get("cart") for r in records])
    assert all(len(r["eventTime"]) == len("2025-03-01T08:00:00.000000Z") for r in records)
    assert any(r["eventProps"].get("big_number") == 2**53 + 1 for r in records), (
        "large integers keep every digit"
    )
    assert any(isinstance(r["eventProps"].get("cart"), dict) for r in records), (
        "nested values stay JSON objects"
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rerun_writes_identical_keys_and_bytes_and_no_extra_objects(
    s3: Any, lake: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tiny budget makes Parquet row groups be written on the pool all the time; where they
    # are cut must not depend on how fast the pool writes.
    monkeypatch.setattr("airflow_export_provider.engine.writer.HELD_BYTES_BUDGET", 20_000)
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(lake, type=fmt)
    run(spec)
    first = {key: (item["ETag"], item["Size"]) for key, item in listing(s3).items()}
    second_result = run(spec)
    second = {key: (item["ETag"], item["Size"]) for key, item in listing(s3).items()}
    assert first == second
    assert second_result.stale_deleted == []


def test_parquet_row_groups_are_not_cut_by_the_memory_budget(
    s3: Any, lake: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # With a tiny budget every file parks its rows after every source batch; each event's
    # rows (fewer than a row group holds) must still come out as one row group, in order,
    # and nothing parked may stay behind in the temp folder.
    monkeypatch.setattr("airflow_export_provider.engine.writer.HELD_BYTES_BUDGET", 20_000)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    caplog.set_level(logging.INFO)
    s3.create_bucket(Bucket=BUCKET)
    result = run(make_spec(lake, type="parquet"))
    expected = per_event_expected(lake)
    for entry, data in file_records(s3, manifest_of(s3, result), "parquet"):
        assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups == 1, entry["key"]
        table = pq.read_table(io.BytesIO(data))
        assert sorted(map(strip_nulls, table.to_pylist()), key=sort_key) == sorted(
            expected[entry["event_name"]], key=sort_key
        )
    assert list(tmp_path.iterdir()) == []
    assert f"waited for their Parquet row groups on local disk ({tmp_path})" in caplog.text


def test_parked_rows_beyond_the_disk_budget_become_row_groups_early(
    s3: Any, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_export_provider.engine.writer.HELD_BYTES_BUDGET", 20_000)
    monkeypatch.setattr("airflow_export_provider.engine.writer.PARKED_BYTES_BUDGET", 200_000)
    s3.create_bucket(Bucket=BUCKET)
    result = run(make_spec(lake, type="parquet"))
    expected = per_event_expected(lake)
    row_groups = 0
    for entry, data in file_records(s3, manifest_of(s3, result), "parquet"):
        row_groups += pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups
        assert pq.read_table(io.BytesIO(data)).num_rows == len(expected[entry["event_name"]])
    assert row_groups > len(expected), "the disk budget cut some row groups early"


def test_rerun_with_fewer_parts_removes_the_stale_ones(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    many = run(make_spec(lake, type="csv", max_records_per_file=200))
    assert any(f.key.endswith("-0003.csv.gz") for f in many.files)
    few = run(make_spec(lake, type="csv"))
    assert len(few.files) < len(many.files) and few.stale_deleted
    keys = set(listing(s3))
    assert keys == {f.key for f in few.files} | {few.manifest_url.split(f"{BUCKET}/")[1]}


class FailingSource:
    """A real lake source that dies after a number of batches, like a run killed half way."""

    def __init__(self, inner: LakeSource, batches: int) -> None:
        self._inner = inner
        self._batches = batches
        self.stats = inner.stats

    def schema(self, window: Window) -> pa.Schema:
        return self._inner.schema(window)

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        if columns is not None:  # the column scan before the export succeeds
            yield from self._inner.read(window, columns)
            return
        for number, batch in enumerate(self._inner.read(window)):
            self.stats = self._inner.stats
            if number == self._batches:
                raise RuntimeError("worker killed")
            yield batch


def test_failed_run_leaves_no_manifest_no_open_upload_and_the_rerun_completes(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    # Small parts and big uncompressed files so multipart uploads are open when the run dies.
    spec = make_spec(lake, type="csv", compression="none", max_records_per_file=100_000)
    spec = spec.model_copy(
        update={"destination": spec.destination.model_copy(update={"multipart_part_size": 5 * 2**20})}
    )
    clean = run(spec)
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in listing(s3)]})

    source = FailingSource(source_for(spec.source), batches=2)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="worker killed"):
        export_window(spec, WINDOW, source=source, destination=destination_for(spec.destination))
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    leftover = set(listing(s3))
    assert all(key.endswith(".pending.json") for key in leftover), leftover

    rerun = run(spec)
    assert [(f.key, f.sha256) for f in rerun.files] == [(f.key, f.sha256) for f in clean.files]
    assert set(listing(s3)) == {f.key for f in rerun.files} | {rerun.manifest_url.split(f"{BUCKET}/")[1]}


def test_rerun_cleans_up_after_a_hard_kill(s3: Any, lake: Path) -> None:
    """A SIGKILLed worker leaves an open multipart upload, a committed part and the pending marker."""
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(lake, type="csv")
    first = run(spec)
    dead_key = first.files[0].key.replace("-0000.csv.gz", "-0007.csv.gz")
    s3.put_object(Bucket=BUCKET, Key=dead_key, Body=b"half a file")
    s3.create_multipart_upload(Bucket=BUCKET, Key=first.files[1].key.replace("-0000.", "-0009."))
    manifest_key = first.manifest_url.split(f"{BUCKET}/")[1]
    s3.put_object(
        Bucket=BUCKET, Key=manifest_key.replace(".json", ".pending.json"), Body=b'{"earlier_keys": []}'
    )
    s3.delete_object(Bucket=BUCKET, Key=manifest_key)

    rerun = run(spec)
    assert rerun.aborted_uploads and dead_key in rerun.stale_deleted
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert set(listing(s3)) == {f.key for f in rerun.files} | {manifest_key}


def test_server_side_encryption_and_multipart_are_used(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(lake, type="csv", compression="none")
    spec = spec.model_copy(
        update={"destination": spec.destination.model_copy(update={"multipart_part_size": 5 * 2**20})}
    )
    result = run(spec)
    biggest = max(result.files, key=lambda f: f.bytes)
    head = s3.head_object(Bucket=BUCKET, Key=biggest.key)
    assert head["ServerSideEncryption"] == "AES256"
    if biggest.bytes > 5 * 2**20:
        assert "-" in head["ETag"], "a file over one part is sent as a multipart upload"


def test_files_roll_over_at_the_byte_limit(s3: Any, lake: Path) -> None:
    """Measured on uncompressed output; gzip adds its internal buffer (tens of kB) to the overshoot."""
    s3.create_bucket(Bucket=BUCKET)
    result = run(make_spec(lake, type="jsonl", compression="none", max_bytes_per_file=50_000))
    charged = [f for f in result.files if f.event_name == "Charged"]
    assert len(charged) >= 3
    # Rows of one event in one 4,000-row batch are well under 1.5 MB: the most a file can overshoot.
    assert all(f.bytes < 50_000 + 1_500_000 for f in charged)
    assert sum(f.records for f in charged) == len(per_event_expected(lake)["Charged"])


def test_missing_bucket_is_a_clear_error(s3: Any, lake: Path) -> None:
    with pytest.raises(DestinationError, match=r"bucket 'exports'.*NoSuchBucket|NoSuchBucket.*"):
        run(make_spec(lake))


def test_jsonl_lake_exports_like_the_parquet_lake(s3: Any, jsonl_lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(jsonl_lake, type="jsonl")
    spec = spec.model_copy(update={"source": spec.source.model_copy(update={"file_format": "jsonl"})})
    result = run(spec)
    records = [r for f in result.files for r in read_jsonl(body(s3, f.key))]
    assert len(records) == result.rows_read > 500
    assert all(r["eventTime"].endswith("Z") for r in records)


def test_lake_in_s3_is_read_through_the_aws_connection(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket="lake")
    for path in sorted(lake.rglob("*.parquet")):
        s3.upload_file(str(path), "lake", "events/" + path.relative_to(lake).as_posix())
    spec = make_spec(lake, type="jsonl")
    spec = spec.model_copy(update={"source": spec.source.model_copy(update={"path": "s3://lake/events"})})
    assert run(spec).records == sum(len(v) for v in per_event_expected(lake).values())


def test_a_window_without_lake_files_says_where_it_looked(
    s3: Any, lake: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    empty_window = Window(pendulum.datetime(2024, 1, 1), pendulum.datetime(2024, 1, 1, 8))
    result = run(make_spec(lake), empty_window)
    assert result.records == 0 and result.files == []
    assert "no lake files" in caplog.text and "date=2024-01-01" in caplog.text


def test_secrets_never_reach_logs_or_errors(
    s3: Any, s3_server: Any, lake: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET"
    connection = json.loads(s3_server.connection_uri())
    connection["password"] = secret
    os.environ["AIRFLOW_CONN_SECRET_TEST"] = json.dumps(connection)
    try:
        s3.create_bucket(Bucket=BUCKET)
        spec = make_spec(lake)
        spec = spec.model_copy(
            update={"destination": spec.destination.model_copy(update={"aws_conn_id": "secret_test"})}
        )
        caplog.set_level(logging.DEBUG)
        run(spec)
        missing = spec.model_copy(
            update={"destination": spec.destination.model_copy(update={"bucket": "nope"})}
        )
        with pytest.raises(DestinationError) as raised:
            run(missing)
        captured = capsys.readouterr()
        for text in (caplog.text, captured.out, captured.err, str(raised.value), repr(raised.value)):
            assert secret not in text
    finally:
        os.environ.pop("AIRFLOW_CONN_SECRET_TEST", None)


def test_kms_encryption_is_requested_with_the_key(s3: Any, s3_server: Any, lake: Path) -> None:
    import boto3

    kms = boto3.client(
        "kms", endpoint_url=s3_server.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.create_bucket(Bucket=BUCKET)
    spec = make_spec(lake)
    encryption = {"type": "aws:kms", "kms_key_id": key_id}
    spec = ExportSpec.from_mapping(
        {
            **spec.model_dump(mode="json"),
            "destination": {**spec.destination.model_dump(), "encryption": encryption},
        }
    )
    result = run(spec)
    head = s3.head_object(Bucket=BUCKET, Key=result.files[0].key)
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]


def test_the_log_reads_in_short_lines_with_progress_in_percent(
    s3: Any, lake: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from airflow_export_provider.engine import run as run_module

    monkeypatch.setattr(run_module, "PROGRESS_EVERY_SECONDS", 0.0)
    s3.create_bucket(Bucket=BUCKET)
    with caplog.at_level(logging.INFO):
        result = run(make_spec(lake))
    text = caplog.text + capsys.readouterr().out
    total = f"{result.rows_read:,}"
    assert f"of {total} rows (100%, about 0.0 s left)" in text  # the discovery scan counted the window
    summary = [
        line for line in text.splitlines() if any(f"  {w} " in line for w in ("read", "wrote", "manifest"))
    ]
    assert len(summary) >= 3 and all(len(line) < 220 for line in summary), summary
    assert f"window {WINDOW.label}: exported in " in text


def test_all_events_without_properties_export_every_event(s3: Any, lake: Path) -> None:
    """No event exports ``all`` properties, but which events exist is still data to discover."""
    s3.create_bucket(Bucket=BUCKET)
    mapping = make_spec(lake).model_dump(mode="json")
    spec = ExportSpec.from_mapping({**mapping, "fields": {"properties": {"default": "none"}}})
    result = run(spec)
    assert result.records == result.rows_read > 0
    assert len({f.event_name for f in result.files}) > 1


def test_without_a_discovery_scan_progress_counts_the_source_rows_the_footers_announce(
    s3: Any, lake: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_export_provider.engine import run as run_module

    monkeypatch.setattr(run_module, "PROGRESS_EVERY_SECONDS", 0.0)
    s3.create_bucket(Bucket=BUCKET)
    mapping = make_spec(lake).model_dump(mode="json")
    fields = {"events": {"include": ["Charged", "App Launched"]}, "properties": {"default": "none"}}
    spec = ExportSpec.from_mapping({**mapping, "fields": fields})
    assert not spec.fields.properties.needs_discovery(spec.fields.events)
    source = source_for(spec.source)
    with caplog.at_level(logging.INFO):
        export_window(spec, WINDOW, source=source, destination=destination_for(spec.destination))
    scanned = source.stats.rows_scanned
    assert scanned > source.stats.rows_in_window > 0  # an 8-hour window of daily folders
    assert f"{scanned:,} of {scanned:,} source rows (100%, about 0.0 s left)" in caplog.text
