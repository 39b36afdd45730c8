"""Schedules through Airflow itself: the one-time DAG over a range, history and manual runs.

The scheduler and backfill behaviour against a running Airflow is in test_live_airflow.py.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.conftest import REPO, upload_lake
from tests.reference import expected_records, sort_key

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]
EXAMPLES = REPO / "example_dags"
BERLIN_MANIFESTS = "acme/berlin-web/_manifests/berlin_web_events/"


def example_dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)


def manifests(s3: Any, prefix: str) -> list[dict[str, Any]]:
    listed = s3.list_objects_v2(Bucket="demo-exports", Prefix=prefix).get("Contents", [])
    found = [json.loads(s3.get_object(Bucket="demo-exports", Key=o["Key"])["Body"].read()) for o in listed]
    return sorted(found, key=lambda m: m["window"]["start"])


def exported_records(s3: Any, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    for entry in manifest["files"]:
        data = gzip.decompress(s3.get_object(Bucket="demo-exports", Key=entry["key"])["Body"].read())
        lines = data.decode().splitlines()
        assert len(lines) == entry["records"]
        records.extend(json.loads(line) for line in lines)
    return sorted(records, key=sort_key)


def test_the_one_time_dag_exports_a_three_day_range_and_every_window_reconciles(s3: Any, lake3: Path) -> None:
    upload_lake(s3, lake3)
    s3.create_bucket(Bucket="demo-exports")
    dag = example_dag("export__berlin_web_events__one_time")
    run = dag.test(run_conf={"start": "2025-03-01", "end": "2025-03-03"})
    assert str(run.state) in ("success", "DagRunState.SUCCESS")

    found = manifests(s3, BERLIN_MANIFESTS)
    zone = "Europe/Berlin"
    expected_windows = [
        (
            pendulum.datetime(2025, 3, day, hour, tz=zone),
            pendulum.datetime(2025, 3, day, hour, tz=zone).add(hours=8),
        )
        for day in (1, 2, 3)
        for hour in (0, 8, 16)
    ]
    assert [(m["window"]["start"], m["window"]["end"]) for m in found] == [
        (start.in_timezone("UTC").isoformat(), end.in_timezone("UTC").isoformat())
        for start, end in expected_windows
    ]
    total = 0
    for manifest, (start, end) in zip(found, expected_windows, strict=True):
        expected = expected_records(lake3, start, end)
        assert exported_records(s3, manifest) == expected, manifest["window"]
        assert manifest["totals"]["records"] == len(expected)
        total += len(expected)
    assert total == len(expected_records(lake3, expected_windows[0][0], expected_windows[-1][1]))
    assert total > 10_000


def test_a_one_time_range_that_is_too_old_fails_with_the_reason(s3: Any) -> None:
    dag = example_dag("export__demo_events__one_time")
    run = dag.test(run_conf={"start": "2001-01-01", "end": "2001-01-02"})
    assert "failed" in str(run.state).lower()
    assert not s3.list_buckets()["Buckets"]


def test_a_manual_run_of_the_recurring_dag_exports_the_chosen_day_and_leaves_history_alone(
    s3: Any, lake3: Path
) -> None:
    upload_lake(s3, lake3)
    s3.create_bucket(Bucket="demo-exports")
    dag = example_dag("export__berlin_web_events")
    assert {task.task_id for task in dag.tasks} == {"check_access", "export_window", "start_history"}
    run = dag.test(logical_date=pendulum.datetime(2025, 3, 2, 9, tz="Europe/Berlin"))
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert "success" in states["export_window"] and "skipped" in states["start_history"]
    [manifest] = manifests(s3, BERLIN_MANIFESTS)
    assert manifest["window"]["start"] == "2025-03-02T07:00:00+00:00"
    assert manifest["window"]["end"] == "2025-03-02T15:00:00+00:00"


def test_the_first_scheduled_run_starts_history_once_up_to_its_own_window() -> None:
    from types import SimpleNamespace

    from airflow.providers.common.compat.sdk import DagRunTriggerException

    dag = example_dag("export__berlin_web_events")
    task = dag.get_task("start_history")
    first_window = pendulum.datetime(2026, 11, 23, tz="Europe/Berlin")
    context: Any = {"dag_run": SimpleNamespace(run_type="scheduled"), "data_interval_start": first_window}
    with pytest.raises(DagRunTriggerException) as raised:
        task.execute(context)
    trigger = raised.value
    assert trigger.trigger_dag_id == "export__berlin_web_events__one_time"
    assert trigger.dag_run_id == "history"  # a second attempt finds the id taken ...
    assert trigger.skip_when_already_exists  # ... and is skipped: history runs once
    assert trigger.conf == {"start": "2025-03-01", "end": "2026-11-22T23:00:00+00:00"}
    assert trigger.logical_date is None and not trigger.wait_for_completion


def test_dags_carry_the_schedule_retry_policy_and_the_date_pickers() -> None:
    from airflow_export_provider.spec import UNLIMITED_RETRIES

    recurring = example_dag("export__berlin_web_events")
    export = recurring.get_task("export_window")
    assert recurring.max_active_runs == 1 and not recurring.catchup
    assert export.retries == UNLIMITED_RETRIES and export.retry_delay.total_seconds() == 300
    assert recurring.timetable.description == (
        "every 8 hours from 00:00 Europe/Berlin, each window delivered 30m after it closes"
    )
    one_time = example_dag("export__berlin_web_events__one_time")
    schema = {name: param.schema for name, param in one_time.params.items()}
    assert schema["start"]["format"] == schema["end"]["format"] == "date"
    assert one_time.max_active_runs == 1 and one_time.is_paused_upon_creation is False
    assert one_time.get_task("export_windows").max_active_tis_per_dagrun == 2
