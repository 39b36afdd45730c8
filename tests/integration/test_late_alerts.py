"""``late``: the deadline callback sends one alert for a scheduled window, none for a backfill."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest

from airflow_export_provider.dags import build_export_dag
from airflow_export_provider.notifications.late import window_late
from airflow_export_provider.spec import ExportSpec
from tests.receivers import webhook_receiver

pytestmark = pytest.mark.integration
SPEC = ExportSpec.from_mapping(
    {
        "export_id": "hourly", "account_id": "acme", "source": {"path": "/tmp/lake"},
        "destination": {"bucket": "exports"}, "schedule": {"every": "1h", "delay": "10m"},
        "alerts": {"webhook": {"conn_id": "export_webhook", "retries": 0}, "deadline": "1h"},
    }
)  # fmt: skip


def run_view(run_type: str) -> dict[str, Any]:
    """The context Airflow gives a missed deadline's callback: the run as the REST API shows it."""
    return {
        "dag_run": {
            "dag_id": "export__hourly", "dag_run_id": f"{run_type}__2026-12-01T13:00:00+00:00",
            "run_type": run_type, "data_interval_start": "2026-12-01T13:00:00Z",
            "data_interval_end": "2026-12-01T14:00:00Z",
        },
        "deadline": {"id": "x", "deadline_time": "2026-12-01T15:00:00Z"},
    }  # fmt: skip


def test_the_export_dag_has_a_deadline_of_window_plus_alerts_deadline() -> None:
    [deadline] = build_export_dag(SPEC).deadline
    assert deadline.interval == dt.timedelta(hours=2), "the hour's window, then one hour to deliver it"
    assert deadline.callback.path == "airflow_export_provider.notifications.late.window_late"
    from airflow.serialization.serialized_objects import DagSerialization

    again = DagSerialization.from_dict(DagSerialization.to_dict(build_export_dag(SPEC)))
    assert again.deadline, "the DAG processor can store it"


def test_a_scheduled_window_past_its_deadline_sends_late_and_a_backfill_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with webhook_receiver() as receiver:
        monkeypatch.setenv(
            "AIRFLOW_CONN_EXPORT_WEBHOOK",
            json.dumps({"conn_type": "http", "host": receiver.url, "password": "s"}),
        )
        spec = SPEC.model_dump(mode="json")
        asyncio.run(window_late(spec=spec, context=run_view("scheduled")))
        asyncio.run(window_late(spec=spec, context=run_view("backfill")))
    [alert] = [d.json for d in receiver.deliveries]
    assert alert["status"] == "late" and alert["export_id"] == "hourly"
    assert alert["window"] == {"start": "2026-12-01T13:00:00+00:00", "end": "2026-12-01T14:00:00+00:00"}
    assert alert["dedupe_key"] == "export__hourly/scheduled__2026-12-01T13:00:00+00:00/late"
