"""``wait_for_data`` inside Airflow: a run defers until the window's marker appears, then exports.

``dag.test()`` runs a deferred task's trigger in-process, so this exercises the same
``WindowCompleteTrigger`` the triggerer runs, end to end with the export after it. The
export is a drop-in YAML in a DAGs folder of its own (``dag.test()`` finds DAGs by
parsing the folder), with a one-second check interval.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.dag_folders import dag_of_definition
from tests.receivers import webhook_receiver
from tests.reference import lake_rows

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]
START = pendulum.datetime(2025, 3, 3, 8, tz="UTC")


def export_dag(
    folder: Path, lake: Path, monkeypatch: pytest.MonkeyPatch, *, extra: dict[str, Any] | None = None,
    **completeness: Any,
) -> Any:  # fmt: skip
    """The export as a drop-in YAML in its own DAGs folder, parsed the way Airflow parses it."""
    spec = {
        "export_id": "waits", "account_id": "acme", "source": {"path": str(lake)},
        "destination": {"bucket": "demo-exports", "prefix": "waits"}, "format": {"type": "jsonl"},
        "schedule": {"every": "8h", "start_date": "2025-03-01", "retries": 0}, "access": {"check": False},
        "completeness": {"mode": "marker", "marker": "date={date}/_SUCCESS", "check_every": "1s",
                         **completeness}, **(extra or {})}  # fmt: skip
    return dag_of_definition(folder, spec, "export__waits", monkeypatch)


@pytest.fixture()
def lake(s3: Any, lake3: Path, tmp_path: Path) -> Path:
    """A copy of the three-day lake (markers get written into it) and an empty export bucket."""
    copy = tmp_path / "lake"
    shutil.copytree(lake3, copy)
    s3.create_bucket(Bucket="demo-exports")
    return copy


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state).split(".")[-1].lower() for ti in run.get_task_instances()}


def test_the_export_waits_in_the_trigger_until_the_marker_appears(
    s3: Any, lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = lake / "date=2025-03-03" / "_SUCCESS"
    appeared = threading.Timer(4.0, marker.touch)
    appeared.start()
    started = time.monotonic()
    run = export_dag(tmp_path / "dags", lake, monkeypatch).test(logical_date=START)
    waited = time.monotonic() - started
    appeared.cancel()
    assert states(run) == {"wait_for_data": "success", "export_window": "success"}, states(run)
    assert marker.exists() and waited >= 4.0  # the export could not start before the marker
    [listed] = [o for o in s3.list_objects_v2(Bucket="demo-exports")["Contents"] if "_manifests" in o["Key"]]
    manifest = json.loads(s3.get_object(Bucket="demo-exports", Key=listed["Key"])["Body"].read())
    expected = sum(1 for _ in lake_rows(lake, START, START.add(hours=8)))
    assert manifest["totals"]["records"] == expected > 0


def test_a_window_that_never_completes_is_retried_alerts_and_exports_nothing(
    s3: Any, lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout fails a try like any failure: Airflow retries it and ``failed`` goes out."""
    with webhook_receiver() as receiver:
        monkeypatch.setenv(
            "AIRFLOW_CONN_EXPORT_WEBHOOK",
            json.dumps({"conn_type": "http", "host": receiver.url, "password": "s"}),
        )
        extra = {
            "schedule": {"every": "8h", "start_date": "2025-03-01", "retries": 1, "retry_delay": "10s"},
            "alerts": {"webhook": {"conn_id": "export_webhook", "retries": 0}, "failed_after": "2 tries"},
        }
        dag = export_dag(tmp_path / "dags", lake, monkeypatch, timeout="3s", extra=extra)
        run = dag.test(logical_date=START)
    assert states(run) == {"wait_for_data": "failed", "export_window": "upstream_failed"}, states(run)
    [wait] = [ti for ti in run.get_task_instances() if ti.task_id == "wait_for_data"]
    assert wait.try_number == 2, "the timeout is retried on the export's policy"
    assert "Contents" not in s3.list_objects_v2(Bucket="demo-exports")
    alerts = [d.json for d in receiver.deliveries]
    assert [a["status"] for a in alerts] == ["failed"], alerts
    assert "was not complete within 3s" in alerts[0]["error"]["message"]
    assert alerts[0]["dedupe_key"].endswith("/wait_for_data/failed/0")
