"""The commit protocol against a real S3 API: re-runs, kills at every step, two runs at once.

Kills are real: a separate process (``tests/commit_worker.py``) is SIGKILLed at a chosen
step of the protocol or at a random moment. What the bucket holds is read back with boto3
and the standard library's JSON parser, independently of the package, and reconciled
record by record with the lake.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pendulum
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.commit import FewerRecords
from airflow_export_provider.engine.lease import LeaseHolder, WindowBusy, WindowLease
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from tests.conftest import REPO
from tests.integration.test_s3_export import FailingSource
from tests.reference import expected_records, sort_key

pytestmark = pytest.mark.integration
BUCKET = "exports"
CLEAN_BUCKET = "clean-exports"
WINDOW = Window(pendulum.datetime(2025, 3, 1, 8), pendulum.datetime(2025, 3, 1, 16))
PREFIX = "team/events"


def mapping(lake: Path, bucket: str = BUCKET, **format_options: Any) -> dict[str, Any]:
    return {
        "export_id": "daily",
        "account_id": "acme",
        "source": {"path": str(lake), "batch_size": 2_000},
        "destination": {"bucket": bucket, "prefix": PREFIX},
        "layout": {"folders": ["data_type", "date"]},
        "format": {"type": "jsonl", **format_options},
        "schedule": {"every": "8h", "start_date": "2025-03-01"},
    }


MANY_FILES = {"max_records_per_file": 300}  # the published version: ~25 files per event


def run(spec_mapping: dict[str, Any], **options: Any) -> Any:
    spec = ExportSpec.from_mapping(spec_mapping)
    return export_window(
        spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination), **options
    )


def worker(
    spec_mapping: dict[str, Any],
    tmp_path: Path,
    *,
    die_at: str | None = None,
    start: bool = False,
    **extra: Any,
) -> Any:
    """Run tests/commit_worker.py; ``start`` returns the process (and report path) instead of waiting."""
    report = tmp_path / f"report-{time.monotonic_ns()}.json"
    command = [sys.executable, "-m", "tests.commit_worker", json.dumps(spec_mapping),
               WINDOW.start.isoformat(), WINDOW.end.isoformat(), str(report)]  # fmt: skip
    if die_at:
        command += ["--die-at", die_at]
    for option, value in extra.items():
        command += [f"--{option.replace('_', '-')}", str(value)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if start:
        return process, report
    _, stderr = process.communicate(timeout=180)
    return process.returncode, stderr, (json.loads(report.read_text()) if report.exists() else None)


def objects(s3: Any, bucket: str = BUCKET) -> dict[str, str]:
    """Every object's key and ETag."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def open_uploads(s3: Any, bucket: str = BUCKET) -> list[str]:
    return [upload["Key"] for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def manifest_key() -> str:
    return f"{PREFIX}/_manifests/daily/2025-03-01/{int(WINDOW.start.timestamp())}-0.json"


def read(s3: Any, key: str, bucket: str = BUCKET) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def manifest(s3: Any, bucket: str = BUCKET) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(read(s3, manifest_key(), bucket))
    return loaded


class Mismatch(Exception):
    """A file's bytes are not those the manifest lists: a verifying reader reads the manifest again."""


def records_as_a_manifest_reader_sees_them(s3: Any, bucket: str = BUCKET) -> list[dict[str, Any]]:
    """Read the window the way a consumer that follows manifests does: listed files, checksums checked."""
    records = []
    for entry in manifest(s3, bucket)["files"]:
        data = read(s3, entry["key"], bucket)
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise Mismatch(entry["key"])
        lines = gzip.decompress(data).decode("utf-8").splitlines()
        assert len(lines) == entry["records"]
        records.extend(json.loads(line) for line in lines)
    return sorted(records, key=sort_key)


def assert_final_state_is_one_clean_export(s3: Any, lake: Path, spec_mapping: dict[str, Any]) -> None:
    """Records == the lake's, nothing but the manifest's files, no upload open, same files as a clean run."""
    assert records_as_a_manifest_reader_sees_them(s3) == expected_records(lake, WINDOW.start, WINDOW.end)
    published = manifest(s3)
    listed = {entry["key"] for entry in published["files"]}
    bookkeeping = {manifest_key(), f"{PREFIX}/_schema/daily.json"}
    assert set(objects(s3)) == listed | bookkeeping, "no lease, journal, stale or partial object is left"
    assert open_uploads(s3) == []
    s3.create_bucket(Bucket=CLEAN_BUCKET)
    run({**spec_mapping, "destination": {**spec_mapping["destination"], "bucket": CLEAN_BUCKET}})
    clean = manifest(s3, CLEAN_BUCKET)
    assert [(f["key"], f["sha256"]) for f in published["files"]] == [
        (f["key"], f["sha256"]) for f in clean["files"]
    ]


def logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    """What the run logged: once Airflow has configured logging, records go to stdout via structlog."""
    return caplog.text + capsys.readouterr().out


def records_by_file(s3: Any, bucket: str = BUCKET) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each file the manifest lists, with its records parsed in file order."""
    return [
        (
            entry["key"],
            [json.loads(line) for line in gzip.decompress(read(s3, entry["key"], bucket)).splitlines()],
        )
        for entry in manifest(s3, bucket)["files"]
    ]


def data_objects(listing: dict[str, str]) -> dict[str, str]:
    """What readers that list the window's folder see (no bookkeeping under ``_``-folders)."""
    return {key: etag for key, etag in listing.items() if "/_" not in key}


def test_a_failing_rerun_leaves_the_published_window_exactly_as_it_was(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    run(mapping(lake, **MANY_FILES))
    before, published = objects(s3), read(s3, manifest_key())

    spec = ExportSpec.from_mapping(mapping(lake))
    failing = FailingSource(source_for(spec.source), batches=2)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="worker killed"):
        export_window(spec, WINDOW, source=failing, destination=destination_for(spec.destination))  # type: ignore[arg-type]

    assert objects(s3) == before, "same keys, same ETags: nothing published was touched"
    assert read(s3, manifest_key()) == published and open_uploads(s3) == []
    assert records_as_a_manifest_reader_sees_them(s3) == expected_records(lake, WINDOW.start, WINDOW.end)
    run(mapping(lake))
    assert_final_state_is_one_clean_export(s3, lake, mapping(lake))


# Steps before the journal: readers see no change at all. After it: the next run finishes the commit.
UNTOUCHED_STEPS = {"uploading", "journal-written"}


STEPS = ["uploading", "journal-written", "half-completed", "before-manifest", "stale-deletes",
         "journal-delete", "lease-release"]  # fmt: skip


@pytest.mark.parametrize("step", STEPS)
def test_a_rerun_killed_at_any_step_is_finished_or_rolled_back_by_the_next(
    s3: Any, lake: Path, tmp_path: Path, step: str
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    run(mapping(lake, **MANY_FILES))
    before, published = objects(s3), read(s3, manifest_key())

    returncode, stderr, _ = worker(mapping(lake), tmp_path, die_at=step)
    assert returncode == -signal.SIGKILL, stderr[-2000:]
    after = objects(s3)
    assert manifest_key() in after, "the window never looks unpublished"
    if step in UNTOUCHED_STEPS:
        assert data_objects(after) == data_objects(before) and read(s3, manifest_key()) == published
    assert all(key in after for key in {e["key"] for e in manifest(s3)["files"]})

    rerun = run(mapping(lake))
    if step not in UNTOUCHED_STEPS and step != "lease-release":
        assert rerun.finished_commit_of is not None, "the killed run's commit was finished"
    assert_final_state_is_one_clean_export(s3, lake, mapping(lake))


def test_runs_killed_at_random_moments_never_leave_a_window_a_verifying_reader_gets_wrong(
    s3: Any, lake: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    run(mapping(lake, **MANY_FILES))
    expected = expected_records(lake, WINDOW.start, WINDOW.end)
    chooser = random.Random(16)
    versions = [mapping(lake), mapping(lake, **MANY_FILES)]
    for attempt in range(4):
        process, _ = worker(versions[attempt % 2], tmp_path, start=True)
        time.sleep(chooser.uniform(2.5, 6.0))  # import takes ~2.5 s, the export ~1-3 s more
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        # Killed inside its commit, a changed file fails its checksum; the next run finishes the commit.
        with contextlib.suppress(Mismatch):
            assert records_as_a_manifest_reader_sees_them(s3) == expected
    run(mapping(lake))
    assert records_as_a_manifest_reader_sees_them(s3) == expected
    published = manifest(s3)
    assert set(objects(s3)) == {e["key"] for e in published["files"]} | {
        manifest_key(),
        f"{PREFIX}/_schema/daily.json",
    }
    assert open_uploads(s3) == []
    s3.create_bucket(Bucket=CLEAN_BUCKET)
    run({**mapping(lake), "destination": {**mapping(lake)["destination"], "bucket": CLEAN_BUCKET}})
    # Same files, each with the same records in the same order as a clean export; byte
    # identity is asserted per kill step by the test above.
    assert records_by_file(s3) == records_by_file(s3, CLEAN_BUCKET)


def test_two_runs_of_one_window_at_once_write_one_after_the_other(
    s3: Any, lake: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    run(mapping(lake, **MANY_FILES))
    together = time.time() + 6  # both have imported by then (~2.5 s each)
    started = [worker(mapping(lake), tmp_path, start=True, start_at=together) for _ in range(2)]
    reports, logs = [], []
    for process, report in started:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr[-3000:]
        reports.append(json.loads(report.read_text()))
        logs.append(stdout + stderr)
    first, second = sorted(reports, key=lambda report: report["held_from"])
    assert first["held_until"] <= second["held_from"], "never both in the write phase"
    assert any("is exporting this window" in log and "waiting for it" in log for log in logs)
    assert_final_state_is_one_clean_export(s3, lake, mapping(lake))
    final_keys = {entry["key"] for entry in manifest(s3)["files"]}
    assert not final_keys & {key for report in reports for key in report["deleted"]}


def test_a_rerun_over_an_emptied_source_refuses_to_shrink_the_window(
    s3: Any, lake: Path, tmp_path: Path
) -> None:
    day = tmp_path / "lake" / "date=2025-03-01"
    shutil.copytree(lake / "date=2025-03-01", day)
    s3.create_bucket(Bucket=BUCKET)
    delivered = run(mapping(tmp_path / "lake"))
    before = objects(s3)
    empty = pq.read_table(next(day.glob("*.parquet"))).slice(0, 0)
    for path in day.glob("*.parquet"):
        path.unlink()
    pq.write_table(empty, day / "part-00000.parquet")

    with pytest.raises(FewerRecords) as refused:
        run(mapping(tmp_path / "lake"))
    message = str(refused.value)
    assert f"found 0 records, but the published window has {delivered.records:,}" in message
    assert "allow_fewer_records" in message and "--allow-fewer-records" in message
    assert objects(s3) == before and open_uploads(s3) == []

    allowed = run(mapping(tmp_path / "lake"), allow_fewer_records=True)
    assert allowed.records == 0 and manifest(s3)["totals"]["records"] == 0
    assert data_objects(objects(s3)) == {}, "the now-stale files are removed"
    assert sorted(allowed.stale_deleted) == sorted(f.key for f in delivered.files)


def test_a_consumer_globbing_manifests_never_sees_a_lease_or_an_unfinished_window(
    s3: Any, lake: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    seen: dict[str, Any] = {}
    bookkeeping: set[str] = set()
    stop = threading.Event()

    def consumer() -> None:
        while not stop.is_set():
            for key in objects(s3):
                if key.startswith(f"{PREFIX}/_manifests/") and key.endswith(".json"):
                    seen[key] = json.loads(read(s3, key))
                elif "/_leases/" in key or "/_commits/" in key:
                    bookkeeping.add(key)
            time.sleep(0.02)

    polling = threading.Thread(target=consumer)
    polling.start()
    try:
        run(mapping(lake, **MANY_FILES))
        run(mapping(lake))
    finally:
        stop.set()
        polling.join()
    assert set(seen) == {manifest_key()}
    assert all(document["manifest_version"] == 1 and document["files"] for document in seen.values())
    assert any(key.endswith(".lease") for key in bookkeeping), "the consumer did poll during the runs"


def test_columns_are_decided_for_good_only_by_a_committed_window(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    locked = {**mapping(lake), "fields": {"schema_evolution": "lock"}}
    spec = ExportSpec.from_mapping(locked)
    failing = FailingSource(source_for(spec.source), batches=1)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="worker killed"):
        export_window(spec, WINDOW, source=failing, destination=destination_for(spec.destination))  # type: ignore[arg-type]
    assert f"{PREFIX}/_schema/daily.json" not in objects(s3)
    run(locked)
    assert f"{PREFIX}/_schema/daily.json" in objects(s3)


def test_a_live_lease_makes_a_run_wait_and_then_say_who_holds_it(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = ExportSpec.from_mapping(mapping(lake))
    destination = destination_for(spec.destination)
    lease_key = manifest_key().replace("_manifests", "_leases").replace(".json", ".lease")
    holder = LeaseHolder.here("the recurring export's run scheduled__2025-03-01")
    with WindowLease(destination, lease_key, WINDOW.label, holder), pytest.raises(WindowBusy) as busy:
        run(mapping(lake), lease_wait_seconds=1.5)
    assert "the recurring export's run scheduled__2025-03-01" in str(busy.value)
    assert objects(s3) == {}, "the waiting run wrote nothing; the holder released its lease"


def test_an_expired_lease_of_another_machine_is_taken_over(
    s3: Any, lake: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lease_key = manifest_key().replace("_manifests", "_leases").replace(".json", ".lease")
    now = time.time()
    dead_machine = {"lease_version": 1, "window": WINDOW.label, "run_id": "0" * 32, "host": "worker-7",
                    "pid": 4242, "process_space": "another-machine", "label": "a run on worker-7",
                    "acquired_epoch": now - 400, "expires_epoch": now - 100}  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=lease_key, Body=json.dumps(dead_machine).encode())
    result = run(mapping(lake), lease_wait_seconds=5)
    assert result.records > 0 and lease_key not in objects(s3)
    text = logged(caplog, capsys)
    assert "took over the lease" in text and "a run on worker-7" in text


def test_a_lease_of_a_live_run_on_another_machine_is_not_taken_over(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    lease_key = manifest_key().replace("_manifests", "_leases").replace(".json", ".lease")
    now = time.time()
    live = {"lease_version": 1, "window": WINDOW.label, "run_id": "1" * 32, "host": "worker-8", "pid": 1,
            "process_space": "another-machine", "label": "a run on worker-8",
            "acquired_epoch": now, "expires_epoch": now + 300}  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=lease_key, Body=json.dumps(live).encode())
    with pytest.raises(WindowBusy, match="a run on worker-8"):
        run(mapping(lake), lease_wait_seconds=1)
    assert set(objects(s3)) == {lease_key}


def test_a_journal_that_can_no_longer_be_finished_never_blocks_its_window(
    s3: Any, lake: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed before its manifest; then the manifest changed behind its back (a hand edit, a restore)."""
    s3.create_bucket(Bucket=BUCKET)
    run(mapping(lake, **MANY_FILES))
    returncode, stderr, _ = worker(mapping(lake), tmp_path, die_at="before-manifest")
    assert returncode == -signal.SIGKILL, stderr[-2000:]
    s3.put_object(Bucket=BUCKET, Key=manifest_key(), Body=read(s3, manifest_key()) + b" ")
    rerun = run(mapping(lake))
    assert rerun.finished_commit_of is None and "could not be finished" in logged(caplog, capsys)
    assert_final_state_is_one_clean_export(s3, lake, mapping(lake))


def test_a_shrink_after_the_definition_changed_says_so(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    run(mapping(lake))
    narrower = {**mapping(lake), "fields": {"events": {"include": ["Charged"]}}}
    with pytest.raises(FewerRecords, match=r"definition changed since \(spec hash \w+ → \w+\)"):
        run(narrower)
    assert run(narrower, allow_fewer_records=True).records > 0
