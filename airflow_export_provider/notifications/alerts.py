"""The notifiers an export's spec configures for each run event."""

from __future__ import annotations

from typing import Any

from airflow_export_provider.spec import ExportSpec


def notifiers_for(spec: ExportSpec, status: str) -> list[Any]:
    """Webhook and e-mail notifiers that want ``status`` (started, completed, failed, ...)."""
    from airflow_export_provider.notifications.email import ExportEmailNotifier
    from airflow_export_provider.notifications.webhook import ExportWebhookNotifier

    found: list[Any] = []
    webhook, email = spec.alerts.webhook, spec.alerts.email
    if webhook is not None and status in webhook.on:
        found.append(
            ExportWebhookNotifier(
                conn_id=webhook.conn_id,
                status=status,
                export_id=spec.export_id,
                timeout_seconds=webhook.timeout.total_seconds(),
                retries=webhook.retries,
            )
        )
    if email is not None and status in email.on:
        found.append(
            ExportEmailNotifier(
                to=list(email.to),
                status=status,
                export_id=spec.export_id,
                smtp_conn_id=email.conn_id,
                from_email=email.from_email,
            )
        )
    return found
