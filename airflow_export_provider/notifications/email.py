"""E-mail alerts through Airflow's SMTP connection and the smtp provider's notifier.

The subject says what happened in a few words (``[export product_events] completed:
2025-03-01 00:00 to 04:00, 120,400 records``); the body lists the same facts as the webhook.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from airflow_export_provider.notifications.payload import alert_payload
from airflow_export_provider.notifications.rules import EVERY_CALL, AlertRule

_VERBS = {
    "started": "started",
    "completed": "completed",
    "failed": "failed",
    "late": "is late: the window was not delivered by its deadline",
    "waiting_for_access": "is waiting for access to its bucket",
    "stopped": "stopped: access was not fixed within the grace period; the export is paused",
}


class ExportEmailNotifier(SmtpNotifier):
    """An :class:`SmtpNotifier` whose subject and body describe an export run event."""

    def __init__(
        self,
        *,
        to: str | Iterable[str],
        status: str,
        export_id: str,
        smtp_conn_id: str = "smtp_default",
        from_email: str | None = None,
        rule: AlertRule = EVERY_CALL,
    ) -> None:
        super().__init__(to=to, from_email=from_email, smtp_conn_id=smtp_conn_id, subject="", html_content="")
        self.status = status
        self.export_id = export_id
        self.rule = rule

    def notify(self, context: Any) -> None:
        payload = alert_payload(context, self.status, self.export_id, self.rule)
        if payload is None:
            return
        self.subject, self.html_content = compose(payload)
        super().notify(context)


def compose(payload: dict[str, Any]) -> tuple[str, str]:
    window = payload["window"]
    span = f"{window['start']} to {window['end']}" if window["start"] else "no window"
    subject = f"[export {payload['export_id']}] {_VERBS.get(payload['status'], payload['status'])}: {span}"
    if payload.get("records") is not None:
        subject += f", {payload['records']:,} records"
    rows = [
        ("export", payload["export_id"]), ("status", payload["status"]), ("window", span),
        ("DAG run", f"{payload['dag_id']} / {payload['run_id']}"), ("files", payload.get("files")),
        ("records", payload.get("records")), ("bytes", payload.get("bytes")),
        ("duration (s)", payload.get("duration_seconds")), ("attempt", payload.get("attempt")),
    ]  # fmt: skip
    error = payload.get("error")
    if error:
        rows += [("error", f"{error['title']} ({error['class']})"), ("message", error["message"])]
    cells = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in rows
        if value is not None
    )
    return subject, f"<p>{html.escape(subject)}</p><table>{cells}</table>"
