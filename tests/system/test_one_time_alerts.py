"""A one-time range sends one ``completed`` alert with every window's numbers, through dag.test()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dag_folders import dag_of_definition
from tests.receivers import webhook_receiver
from tests.reference import lake_rows

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]


def one_time_dag(folder: Path, lake: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = {
        "export_id": "ranges", "account_id": "acme", "source": {"path": str(lake)},
        "destination": {"bucket": "demo-exports", "prefix": "ranges"}, "format": {"type": "jsonl"},
        "schedule": {"every": "8h", "retries": 0}, "access": {"check": False},
        "one_time": {"max_days_back": 3650},
        "alerts": {"webhook": {"conn_id": "export_webhook", "retries": 0}},
    }  # fmt: skip
    return dag_of_definition(folder, spec, "export__ranges__one_time", monkeypatch)


def test_a_three_day_range_sends_one_completed_with_every_window(
    s3: Any, lake3: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket(Bucket="demo-exports")
    with webhook_receiver() as receiver:
        monkeypatch.setenv(
            "AIRFLOW_CONN_EXPORT_WEBHOOK",
            json.dumps({"conn_type": "http", "host": receiver.url, "password": "s"}),
        )
        dag = one_time_dag(tmp_path / "dags", lake3, monkeypatch)
        run = dag.test(run_conf={"start": "2025-03-01", "end": "2025-03-03"})
    assert str(run.state).split(".")[-1].lower() == "success"
    alerts = [d.json for d in receiver.deliveries]
    assert sorted(a["status"] for a in alerts) == ["completed", "started", "started", "started"], (
        "a started per day task (first try), one completed for the run"
    )
    [completed] = [a for a in alerts if a["status"] == "completed"]
    windows = completed["windows"]
    assert len(windows) == 9, "three days of 8-hour windows"
    assert [w["window_start"] for w in windows] == sorted(w["window_start"] for w in windows)
    import pendulum

    for window in windows:
        start, end = pendulum.parse(window["window_start"]), pendulum.parse(window["window_end"])
        assert window["records"] == len(lake_rows(lake3, start, end)) > 0
        assert window["manifest"].startswith("s3://demo-exports/ranges/_manifests/ranges/")
    assert completed["records"] == sum(w["records"] for w in windows)
    assert completed["files"] == sum(w["files"] for w in windows)
