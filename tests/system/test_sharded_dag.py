"""A sharded export (``shards: 3``) as an Airflow DAG, run through ``dag.test()``.

The DAG is built from a drop-in definition by the YAML loader; its run goes
``check_access`` → ``plan_window`` → ``export_shard`` [0..2] → ``commit_window``, and must
publish what a one-task export of the same window publishes (same keys, same bytes, same
manifest but the spec hash, which names the bucket), with one asset event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pendulum
import pytest
import yaml

from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.testing.demo import DEMO_SPEC_YAML
from tests.conftest import LAKE_DAY, upload_lake
from tests.dag_folders import dag_of_definition
from tests.system.test_airflow import latest_asset_event

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]
SHARDED_YAML = DEMO_SPEC_YAML.replace("export_id: demo_events", "export_id: sharded_events").replace(
    "format:\n", "shards: 3\nformat:\n  max_records_per_file: 2000\n"
)
DAY = pendulum.datetime(LAKE_DAY.year, LAKE_DAY.month, LAKE_DAY.day, tz="UTC")


def objects(s3: Any, bucket: str) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def manifest_without_spec_hash(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    manifest.pop("spec_hash")
    return manifest


def test_a_sharded_export_dag_publishes_what_one_task_would(
    s3: Any, lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_lake(s3, lake)
    s3.create_bucket(Bucket="demo-exports")
    s3.create_bucket(Bucket="one-task")
    definition = yaml.safe_load(SHARDED_YAML)
    dag = dag_of_definition(tmp_path, definition, "export__sharded_events", monkeypatch)
    assert {"plan_window", "export_shard", "commit_window"} <= set(dag.task_ids)
    assert "export_window" not in dag.task_ids

    run = dag.test(logical_date=DAY)
    assert str(run.state) in ("success", "DagRunState.SUCCESS")
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert {index for task, index in states if task == "export_shard"} == {0, 1, 2}
    assert all(state.endswith("success") for state in states.values()), states

    spec = ExportSpec.from_mapping(definition)
    one_task = spec.model_copy(
        update={"destination": spec.destination.model_copy(update={"bucket": "one-task"})}
    )
    window = Window(DAY, DAY.add(days=1))
    reference = export_window(
        one_task,
        window,
        source=source_for(one_task.source),
        destination=destination_for(one_task.destination),
    )
    sharded = objects(s3, "demo-exports")
    expected = objects(s3, "one-task")
    assert set(sharded) == set(expected)
    assert [key for key in expected if "/_" not in key and sharded[key] != expected[key]] == []
    assert manifest_without_spec_hash(s3, "demo-exports", reference.manifest_key or "") == (
        manifest_without_spec_hash(s3, "one-task", reference.manifest_key or "")
    )
    event = latest_asset_event("export__sharded_events")
    assert event.extra["records"] == reference.records == 20_000
    assert event.extra["manifest_key"] == reference.manifest_key
