"""The ``alerts:`` section: webhooks and e-mails, and the events they are sent on."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from airflow_export_provider.spec.base import SpecModel
from airflow_export_provider.spec.durations import Duration

AlertEvent = Literal["started", "completed", "failed", "waiting_for_credentials", "stopped"]
ALERT_EVENTS: tuple[AlertEvent, ...] = (
    "started",
    "completed",
    "failed",
    "waiting_for_credentials",
    "stopped",
)


class WebhookAlertSpec(SpecModel):
    """A signed JSON POST per event to the URL of an Airflow ``http`` connection.

    The connection's host (with schema, port and path) is the URL; its password is the
    HMAC-SHA256 secret of the ``X-Export-Signature`` header.
    """

    conn_id: str = Field(min_length=1)
    on: tuple[AlertEvent, ...] = ("started", "completed", "failed", "waiting_for_credentials", "stopped")
    timeout: Duration = dt.timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)


class EmailAlertSpec(SpecModel):
    """E-mails through an Airflow ``smtp`` connection (and its notifier)."""

    to: tuple[str, ...] = Field(min_length=1)
    conn_id: str = "smtp_default"
    from_email: str | None = None
    on: tuple[AlertEvent, ...] = ("started", "completed", "stopped", "failed", "waiting_for_credentials")


class AlertsSpec(SpecModel):
    webhook: WebhookAlertSpec | None = None
    email: EmailAlertSpec | None = None
