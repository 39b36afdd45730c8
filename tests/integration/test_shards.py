"""One window on many workers (``engine/shards.py``) against a real S3 API.

Shards run as separate processes side by side (``tests/commit_worker.py --shard``), some
killed with SIGKILL half way. What the bucket holds is read back with boto3 and the
standard library and compared with a one-task export of the same window into another
bucket: the same keys, the same bytes, the same manifest; and reconciled record by record
with the lake.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_export_provider.engine.commit import CommitConflict
from airflow_export_provider.engine.keys import shard_of
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.shards import ShardPlanError, commit_shards, export_shard, plan_shards
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from tests.integration.test_commit_protocol import (
    WINDOW,
    manifest_key,
    objects,
    open_uploads,
    read,
    records_as_a_manifest_reader_sees_them,
    worker,
)
from tests.integration.test_s3_export import FailingSource
from tests.reference import expected_records, sort_key

pytestmark = pytest.mark.integration
BUCKET = "sharded"
ONE_TASK_BUCKET = "one-task"
SHARDS = 4


def mapping(lake: Path, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "export_id": "daily",
        "account_id": "acme",
        "source": {"path": str(lake), "batch_size": 2_000},
        "destination": {"bucket": bucket, "prefix": "team/events"},
        "layout": {"folders": ["data_type", "date"]},
        "format": {"type": "jsonl", "max_records_per_file": 400},
        "schedule": {"every": "8h", "start_date": "2025-03-01"},
        "shards": SHARDS,
        **extra,
    }


def spec_for(lake: Path, bucket: str = BUCKET, **extra: Any) -> ExportSpec:
    return ExportSpec.from_mapping(mapping(lake, bucket, **extra))


def one_task_export(s3: Any, lake: Path, **extra: Any) -> dict[str, str]:
    """The same window exported by one task, into its own bucket: what the shards must equal."""
    s3.create_bucket(Bucket=ONE_TASK_BUCKET)
    spec = spec_for(lake, ONE_TASK_BUCKET, **extra)
    export_window(spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination))
    return objects(s3, ONE_TASK_BUCKET)


def plan(spec: ExportSpec) -> str:
    return plan_shards(
        spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination)
    ).plan_id


def shard(spec: ExportSpec, plan_id: str, index: int, source: Any = None) -> Any:
    return export_shard(spec, WINDOW, plan_id, index, source=source or source_for(spec.source),
                        destination=destination_for(spec.destination))  # fmt: skip


def commit(spec: ExportSpec, plan_id: str) -> Any:
    return commit_shards(spec, WINDOW, plan_id, destination=destination_for(spec.destination))


def shard_processes(lake: Path, plan_id: str, tmp_path: Path, shards: range, **options: Any) -> list[Any]:
    """Shards as processes of their own, all started at once; their exit codes."""
    started = [
        worker(mapping(lake, BUCKET), tmp_path, start=True, shard=f"{plan_id}:{index}", **options)
        for index in shards
    ]
    codes = []
    for process, _ in started:
        process.communicate(timeout=180)
        codes.append(process.returncode)
    return codes


def data_keys(found: dict[str, str]) -> set[str]:
    return {key for key in found if "/_" not in key}


def same_as_one_task(s3: Any, reference: dict[str, str]) -> None:
    """Keys, every object's bytes and the manifest (but its spec hash) as a one-task export's.

    Bytes, not ETags: a multipart ETag also depends on where the parts were cut.
    """
    sharded = objects(s3, BUCKET)
    assert set(sharded) == set(reference), set(sharded) ^ set(reference)
    different = [
        key
        for key in sorted(data_keys(reference))
        if sharded[key] != reference[key] and read(s3, key, BUCKET) != read(s3, key, ONE_TASK_BUCKET)
    ]
    assert not different, different[:5]
    # The spec hash names the bucket, the one difference of the two exports' definitions.
    assert _without_spec_hash(read(s3, manifest_key(), BUCKET)) == _without_spec_hash(
        read(s3, manifest_key(), ONE_TASK_BUCKET)
    )


def _without_spec_hash(manifest: bytes) -> bytes:
    lines = manifest.decode("utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith('  "spec_hash": ')).encode("utf-8")


def test_shards_in_parallel_processes_publish_what_one_task_would(
    s3: Any, lake: Path, tmp_path: Path
) -> None:
    reference = one_task_export(s3, lake)
    s3.create_bucket(Bucket=BUCKET)
    spec = spec_for(lake)
    plan_id = plan(spec)

    assert shard_processes(lake, plan_id, tmp_path, range(SHARDS)) == [0] * SHARDS
    assert not data_keys(objects(s3, BUCKET)), "no shard's file is visible before the window commits"
    assert manifest_key() not in objects(s3, BUCKET)
    assert open_uploads(s3, BUCKET)

    result = commit(spec, plan_id)
    same_as_one_task(s3, reference)
    assert not open_uploads(s3, BUCKET)
    assert not [key for key in objects(s3, BUCKET) if "/_shards/" in key], "the plan and part lists are gone"
    listed = json.loads(read(s3, manifest_key(), BUCKET))
    instances = {int(entry["key"].rsplit("-", 2)[-2]) for entry in listed["files"]}
    assert instances == set(range(SHARDS)), "each event's files carry its shard as {instance_id}"
    for entry in listed["files"]:
        assert int(entry["key"].rsplit("-", 2)[-2]) == shard_of(entry["event_name"], SHARDS)
    assert result.records == listed["totals"]["records"]

    got = sorted(records_as_a_manifest_reader_sees_them(s3, BUCKET), key=sort_key)
    assert got == sorted(expected_records(lake, WINDOW.start, WINDOW.end), key=sort_key)


def test_a_failed_shard_is_retried_alone_and_a_killed_shards_uploads_are_aborted_at_commit(
    s3: Any, lake: Path, tmp_path: Path
) -> None:
    reference = one_task_export(s3, lake)
    s3.create_bucket(Bucket=BUCKET)
    spec = spec_for(lake)
    plan_id = plan(spec)
    assert shard_processes(lake, plan_id, tmp_path, range(2)) == [0, 0]

    # Shard 2 fails half way (its try aborts what it sent), then is retried alone.
    with pytest.raises(RuntimeError, match="worker killed"):
        shard(spec, plan_id, 2, FailingSource(source_for(spec.source), batches=2))
    shard(spec, plan_id, 2)
    # Shard 3 is SIGKILLed after sending uploads it never listed; its retry runs to the end.
    assert shard_processes(lake, plan_id, tmp_path, range(3, 4), die_at="uploading") == [-signal.SIGKILL]
    left_open = set(open_uploads(s3, BUCKET))
    assert shard_processes(lake, plan_id, tmp_path, range(3, 4)) == [0]
    # A shard listed twice (its task cleared after it had succeeded): the first listing is superseded.
    shard(spec, plan_id, 1)

    commit(spec, plan_id)
    same_as_one_task(s3, reference)
    assert not open_uploads(s3, BUCKET), f"left open: {left_open}"


def test_a_run_that_publishes_the_window_between_plan_and_commit_wins_and_the_shards_publish_nothing(
    s3: Any, lake: Path, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = spec_for(lake)
    plan_id = plan(spec)
    assert shard_processes(lake, plan_id, tmp_path, range(SHARDS)) == [0] * SHARDS
    # A one-task run of the same window (the CLI, a one-time export) publishes other files
    # meanwhile (larger ones: the definition changed); its recovery aborts the shards' uploads.
    other = spec_for(lake, format={"type": "jsonl", "max_records_per_file": 1_000})
    export_window(
        other, WINDOW, source=source_for(other.source), destination=destination_for(other.destination)
    )
    published = objects(s3, BUCKET)

    with pytest.raises(CommitConflict, match="another run published this window after this run planned it"):
        commit(spec, plan_id)
    assert objects(s3, BUCKET) == {k: v for k, v in published.items() if "/_shards/" not in k}
    assert not open_uploads(s3, BUCKET)
    got = sorted(records_as_a_manifest_reader_sees_them(s3, BUCKET), key=sort_key)
    assert got == sorted(expected_records(lake, WINDOW.start, WINDOW.end), key=sort_key)


def test_a_commit_before_every_shard_listed_its_uploads_names_the_missing_ones(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = spec_for(lake)
    plan_id = plan(spec)
    shard(spec, plan_id, 0)
    shard(spec, plan_id, 2)
    with pytest.raises(ShardPlanError, match=r"shards 1, 3 of 4 listed no uploads"):
        commit(spec, plan_id)
    assert manifest_key() not in objects(s3, BUCKET)


def test_a_retried_commit_after_its_window_was_published_succeeds_without_change(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = spec_for(lake)
    plan_id = plan(spec)
    for index in range(SHARDS):
        shard(spec, plan_id, index)
    kept = {key: read(s3, key, BUCKET) for key in objects(s3, BUCKET) if "/_shards/" in key}
    commit(spec, plan_id)
    published = objects(s3, BUCKET)
    for key, data in kept.items():  # the try was killed after publishing, before deleting its plan
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    commit(spec, plan_id)
    assert objects(s3, BUCKET) == published


def test_a_changed_definition_between_plan_and_shard_stops_the_shard(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    plan_id = plan(spec_for(lake))
    changed = spec_for(lake, fields={"events": {"include": ["App Launched"]}})
    with pytest.raises(ShardPlanError, match="definition changed since this run planned the window"):
        shard(changed, plan_id, 0)
    with pytest.raises(ShardPlanError, match=r"plan .* is gone"):
        shard(spec_for(lake), "0" * 32, 0)


def test_a_one_task_export_of_a_sharded_definition_writes_the_shards_keys(s3: Any, lake: Path) -> None:
    """The one-time DAG and the CLI export a sharded window in one task, under the same keys."""
    s3.create_bucket(Bucket=BUCKET)
    spec = spec_for(lake)
    plan_id = plan(spec)
    for index in range(SHARDS):
        shard(spec, plan_id, index)
    commit(spec, plan_id)
    sharded = objects(s3, BUCKET)
    time.sleep(0.01)
    export_window(spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination))
    assert set(objects(s3, BUCKET)) == set(sharded)
