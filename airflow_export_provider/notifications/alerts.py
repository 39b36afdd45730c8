"""The notifiers an export's spec configures for each run event, with the rule of when they send."""

from __future__ import annotations

from typing import Any

from airflow_export_provider.notifications.rules import EVERY_CALL, AlertRule
from airflow_export_provider.spec import ExportSpec


def notifiers_for(spec: ExportSpec, status: str, rule: AlertRule = EVERY_CALL) -> list[Any]:
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
                rule=rule,
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
                rule=rule,
            )
        )
    return found


def failing_rule(spec: ExportSpec, *, final: bool = False) -> AlertRule:
    """``failed`` while retries go on, after ``alerts.failed_after`` (then at most daily);
    ``final``: when retries are exhausted, unless a retry already sent it."""
    after = spec.alerts.failed_after
    return AlertRule("final_failure" if final else "while_failing", after.tries, after.duration)


def run_callbacks(spec: ExportSpec, *, started: bool = True, completed: bool = True) -> dict[str, Any]:
    """A window task's alerts: started (first try), completed, failed (once, then daily while failing).

    ``completed=False`` for tasks whose run reports completion elsewhere (the one-time
    export sends one ``completed`` for all its windows from its last task);
    ``started=False`` for tasks before the export (``wait_for_data`` only alerts failures).
    """
    callbacks = {
        "on_retry_callback": notifiers_for(spec, "failed", failing_rule(spec)),
        "on_failure_callback": notifiers_for(spec, "failed", failing_rule(spec, final=True)),
    }
    if started:
        callbacks["on_execute_callback"] = notifiers_for(spec, "started", AlertRule("first_try"))
    if completed:
        callbacks["on_success_callback"] = notifiers_for(spec, "completed")
    return {name: found for name, found in callbacks.items() if found}
