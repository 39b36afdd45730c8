"""Alerts a person can trust: once per window and kind, never once per try, and no secret in a log.

The callbacks are called as Airflow calls them on each try (``on_execute_callback``,
``on_retry_callback``, ``on_failure_callback``), and the alerts are counted where they
arrive: the suite's local webhook receiver.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_export_provider.hooks.airflow_api import AirflowApi
from airflow_export_provider.hooks.http_connection import redacted_url
from airflow_export_provider.notifications import ExportWebhookNotifier
from airflow_export_provider.notifications.alerts import run_callbacks
from airflow_export_provider.spec import ExportSpec
from tests.receivers import webhook_receiver

pytestmark = pytest.mark.integration
NOW = dt.datetime.now(dt.timezone.utc)


def spec(failed_after: Any = None) -> ExportSpec:
    alerts: dict[str, Any] = {"webhook": {"conn_id": "export_webhook", "retries": 0}}
    if failed_after is not None:
        alerts["failed_after"] = failed_after
    return ExportSpec.from_mapping(
        {
            "export_id": "daily", "account_id": "acme", "source": {"path": "/tmp/lake"},
            "destination": {"bucket": "exports"}, "schedule": {"every": "24h"}, "alerts": alerts,
        }
    )  # fmt: skip


def try_context(try_number: int, run_started: dt.datetime, retry_delay: dt.timedelta) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="export__daily", run_id="scheduled__2026-12-01T00:00:00+00:00", task_id="export_window",
        map_index=-1, try_number=try_number, start_date=NOW, task=SimpleNamespace(retry_delay=retry_delay),
        xcom_pull=lambda task_ids, key, map_indexes=None: None,
    )  # fmt: skip
    run = SimpleNamespace(dag_id=ti.dag_id, run_id=ti.run_id, start_date=run_started)
    return {"ti": ti, "dag_run": run, "data_interval_start": NOW, "data_interval_end": NOW,
            "exception": RuntimeError("the source is down")}  # fmt: skip


def call(callbacks: dict[str, Any], name: str, context: dict[str, Any]) -> None:
    for notifier in callbacks.get(name, []):
        notifier(context)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Any:
    with webhook_receiver() as receiving:
        monkeypatch.setenv(
            "AIRFLOW_CONN_EXPORT_WEBHOOK",
            json.dumps({"conn_type": "http", "host": receiving.url, "password": "s"}),
        )
        yield receiving


def statuses(receiver: Any) -> Counter[str]:
    return Counter(delivery.json["status"] for delivery in receiver.deliveries)


@pytest.mark.parametrize("exhausted", [False, True], ids=["retries-go-on", "retries-exhausted-at-5"])
def test_a_window_failing_five_tries_sends_one_started_and_one_failed(receiver: Any, exhausted: bool) -> None:
    callbacks = run_callbacks(spec())  # failed_after: 3 tries (the default)
    delay = dt.timedelta(minutes=5)
    for attempt in range(1, 6):
        context = try_context(attempt, NOW - attempt * delay, delay)
        call(callbacks, "on_execute_callback", context)
        final = exhausted and attempt == 5
        call(callbacks, "on_failure_callback" if final else "on_retry_callback", context)
    assert statuses(receiver) == {"started": 1, "failed": 1}
    failed = next(d.json for d in receiver.deliveries if d.json["status"] == "failed")
    assert failed["attempt"] == 3 and failed["dedupe_key"] == (
        "export__daily/scheduled__2026-12-01T00:00:00+00:00/export_window/failed/0"
    )
    assert failed["error"]["message"] == "the source is down"


def test_giving_up_before_the_threshold_still_sends_one_failed(receiver: Any) -> None:
    callbacks = run_callbacks(spec("3 tries"))
    delay = dt.timedelta(minutes=5)
    call(callbacks, "on_retry_callback", try_context(1, NOW - delay, delay))
    call(callbacks, "on_failure_callback", try_context(2, NOW - 2 * delay, delay))
    assert statuses(receiver) == {"failed": 1}


def test_failing_for_an_hour_alerts_once_then_once_a_day(receiver: Any) -> None:
    callbacks = run_callbacks(spec("1h"))
    delay = dt.timedelta(minutes=5)
    failing_for = [dt.timedelta(minutes=m) for m in range(5, 24 * 60 * 2 + 120, 5)]  # two days of retries
    for number, elapsed in enumerate(failing_for, start=1):
        call(callbacks, "on_retry_callback", try_context(number, NOW - elapsed, delay))
    keys = [d.json["dedupe_key"].rsplit("/", 1)[-1] for d in receiver.deliveries]
    assert keys == ["0", "1", "2"], "at 1 h, then at 1 d 1 h and 2 d 1 h of failing"


def test_the_same_alert_has_the_same_dedupe_key_wherever_it_is_computed(receiver: Any) -> None:
    """A callback run again (e.g. after a restart) sends what the receiver already has."""
    callbacks = run_callbacks(spec())
    delay = dt.timedelta(minutes=5)
    for _ in range(2):
        call(callbacks, "on_retry_callback", try_context(3, NOW - 3 * delay, delay))
    first, again = (d.json for d in receiver.deliveries)
    assert first["dedupe_key"] == again["dedupe_key"]
    assert first["sent_at"] <= again["sent_at"]


def test_a_webhook_url_with_a_token_never_reaches_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = "T0KEN-9f8e7d6c5b4a"
    with webhook_receiver() as receiving:
        url = f"{receiving.url}/services/{token}?sig={token}"
        monkeypatch.setenv(
            "AIRFLOW_CONN_LEAKY", json.dumps({"conn_type": "http", "host": url, "password": "s"})
        )
        notifier = ExportWebhookNotifier(conn_id="leaky", status="failed", export_id="daily", retries=1,
                                         backoff_seconds=0.01)  # fmt: skip
        receiving.answers = [500, 404]
        with caplog.at_level(logging.DEBUG):
            assert notifier.send({"status": "failed"}) is False
    assert caplog.text and token not in caplog.text
    assert "http://127.0.0.1" in caplog.text, "scheme and host stay, to say where it went"
    assert (
        redacted_url("https://user:pw@hooks.example.com:8443/a/b?x=1") == "https://hooks.example.com:8443/…"
    )


def test_no_connection_holding_object_shows_a_password() -> None:
    api = AirflowApi("http://127.0.0.1:8080", "admin", "p4ssw0rd-secret")
    assert "p4ssw0rd-secret" not in repr(api) and "p4ssw0rd-secret" not in str(api)
    notifier = ExportWebhookNotifier(conn_id="export_webhook", status="failed", export_id="daily")
    assert "password" not in repr(vars(notifier)).lower()
