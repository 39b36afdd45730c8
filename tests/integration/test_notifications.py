"""Webhook and e-mail alerts, delivered to real local servers and checked on arrival."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_export_provider.engine.access_errors import AccessContext, MissingPermission
from airflow_export_provider.notifications import ExportEmailNotifier, ExportWebhookNotifier
from tests.receivers import smtp_receiver, webhook_receiver

pytestmark = pytest.mark.integration
SECRET = "whsec-test-5f1c"
START, END = (
    dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc),
    dt.datetime(2025, 3, 1, 4, tzinfo=dt.timezone.utc),
)


def context(result: dict[str, Any] | None = None, exception: BaseException | None = None) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="export__daily", run_id="scheduled__2025-03-01T00:00:00+00:00", try_number=2,
        task_id="export_window", map_index=-1,
        start_date=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=42),
        xcom_pull=lambda task_ids, key, map_indexes=None: result,
    )  # fmt: skip
    run = SimpleNamespace(dag_id=ti.dag_id, run_id=ti.run_id, start_date=ti.start_date)
    return {
        "ti": ti,
        "dag_run": run,
        "data_interval_start": START,
        "data_interval_end": END,
        "exception": exception,
    }


def webhook_conn(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPORT_WEBHOOK", json.dumps({"conn_type": "http", "host": url, "password": SECRET})
    )


def test_a_completed_run_is_posted_signed_with_its_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver() as receiver:
        webhook_conn(monkeypatch, receiver.url)
        notifier = ExportWebhookNotifier(conn_id="export_webhook", status="completed", export_id="daily")
        notifier(context({"files": 41, "records": 120_400, "bytes": 9_148_340, "seconds": 3.2}))
    [delivery] = receiver.deliveries
    assert delivery.path == "/hooks/export"
    expected = "sha256=" + hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Export-Signature"] == expected, "HMAC-SHA256 of the exact body"
    assert delivery.headers["X-Export-Event"] == "completed"
    body = delivery.json
    assert body["export_id"] == "daily" and body["status"] == "completed"
    assert body["window"] == {"start": "2025-03-01T00:00:00+00:00", "end": "2025-03-01T04:00:00+00:00"}
    assert (body["files"], body["records"], body["bytes"]) == (41, 120_400, 9_148_340)
    assert body["duration_seconds"] >= 42 and body["attempt"] == 2 and body["error"] is None


def test_server_errors_are_retried_with_backoff_and_client_errors_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with webhook_receiver() as receiver:
        webhook_conn(monkeypatch, receiver.url)
        receiver.answers = [500, 503, 200]
        notifier = ExportWebhookNotifier(conn_id="export_webhook", status="started", export_id="daily",
                                         retries=3, backoff_seconds=0.05)  # fmt: skip
        assert notifier.send({"status": "started"})
        assert len(receiver.deliveries) == 3
        ids = {d.headers["X-Export-Delivery"] for d in receiver.deliveries}
        assert len(ids) == 1, "one delivery id across retries, for de-duplication"
        receiver.answers = [400]
        assert not notifier.send({"status": "started"})
        assert len(receiver.deliveries) == 4


def test_a_slow_receiver_times_out_and_the_run_is_not_affected(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver() as receiver:
        webhook_conn(monkeypatch, receiver.url)
        receiver.delay_seconds = 1.0
        notifier = ExportWebhookNotifier(conn_id="export_webhook", status="failed", export_id="daily",
                                         timeout_seconds=0.2, retries=1, backoff_seconds=0.05)  # fmt: skip
        assert notifier.send({"status": "failed"}) is False


def test_an_access_failure_alert_names_the_class_and_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    where = AccessContext(
        bucket="acme-exports", prefix="p", region="eu-west-1", key_id="AKIA…MPLE", conn_id="aws"
    )
    error = MissingPermission(
        where, "s3:PutObject", "s3:PutObject is not allowed (AccessDenied)", "allow it", "AccessDenied"
    )
    with webhook_receiver() as receiver:
        webhook_conn(monkeypatch, receiver.url)
        ExportWebhookNotifier(conn_id="export_webhook", status="waiting_for_access", export_id="daily")(
            context(exception=error)
        )
    sent = receiver.deliveries[0]
    assert sent.json["error"]["class"] == "MissingPermission"
    assert "s3:PutObject is not allowed" in sent.json["error"]["message"]
    assert SECRET not in sent.body.decode()


def test_e_mails_go_through_the_smtp_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_receiver() as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_EXPORTS", json.dumps({
            "conn_type": "smtp", "host": smtp.host, "port": smtp.port, "login": "", "password": "",
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "exports@example.com"},
        }))  # fmt: skip
        for status, result in (("completed", {"files": 3, "records": 1_234, "bytes": 99}), ("stopped", None)):
            ExportEmailNotifier(to=["data@example.com"], status=status, export_id="daily",
                                smtp_conn_id="smtp_exports")(context(result))  # fmt: skip
    completed, stopped = smtp.messages
    assert completed["Subject"] == (
        "[export daily] completed: 2025-03-01T00:00:00+00:00 to 2025-03-01T04:00:00+00:00, 1,234 records"
    )
    assert completed["To"] == "data@example.com" and completed["From"] == "exports@example.com"
    assert "1234" in completed.get_payload(0).get_payload(decode=True).decode()
    assert "access was not fixed within the grace period" in stopped["Subject"]
