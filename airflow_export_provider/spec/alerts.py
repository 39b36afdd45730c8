"""The ``alerts:`` section: webhooks and e-mails, the events they are sent on, and when ``failed`` fires."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from airflow_export_provider.spec.base import SpecModel
from airflow_export_provider.spec.durations import Duration, describe_duration, parse_duration

AlertEvent = Literal["started", "completed", "failed", "late", "waiting_for_access", "stopped"]
ALERT_EVENTS: tuple[AlertEvent, ...] = (
    "started",
    "completed",
    "failed",
    "late",
    "waiting_for_access",
    "stopped",
)
RENAMED_EVENTS = {"waiting_for_credentials": "waiting_for_access"}
"""Old event names still accepted in ``on:`` lists (the wait is about access, not only keys)."""


def _renamed(events: Any) -> Any:
    if isinstance(events, list | tuple):
        return tuple(
            RENAMED_EVENTS.get(event, event) if isinstance(event, str) else event for event in events
        )
    return events


AlertEvents = Annotated[tuple[AlertEvent, ...], BeforeValidator(_renamed)]


class WebhookAlertSpec(SpecModel):
    """A signed JSON POST per event to the URL of an Airflow ``http`` connection.

    The connection's host (with schema, port and path) is the URL; its password is the
    HMAC-SHA256 secret of the ``X-Export-Signature`` header.
    """

    conn_id: str = Field(min_length=1)
    on: AlertEvents = ALERT_EVENTS
    timeout: Duration = dt.timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)


class EmailAlertSpec(SpecModel):
    """E-mails through an Airflow ``smtp`` connection (and its notifier)."""

    to: tuple[str, ...] = Field(min_length=1)
    conn_id: str = "smtp_default"
    from_email: str | None = None
    on: AlertEvents = ALERT_EVENTS


class FailedAfter(SpecModel):
    """``failed`` goes out once a window has failed this many tries or for this long."""

    tries: int | None = Field(default=None, ge=1, le=1_000)
    duration: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_words(cls, value: Any) -> Any:
        """``3``, ``3 tries``, ``1 try`` or a duration (``1h``) as well as the mapping."""
        if isinstance(value, bool):
            raise ValueError("write a number of tries (3, '3 tries') or a duration ('1h')")
        if isinstance(value, int):
            return {"tries": value}
        if isinstance(value, dt.timedelta):
            return {"duration": value}
        if isinstance(value, str):
            found = re.fullmatch(r"\s*(\d+)\s*(tries|try)?\s*", value)
            if found:
                return {"tries": int(found.group(1))}
            return {"duration": parse_duration(value)}
        return value

    @model_validator(mode="after")
    def _one_of_them(self) -> FailedAfter:
        if (self.tries is None) == (self.duration is None):
            raise ValueError("give failed_after as a number of tries or as a duration, not both")
        return self

    def describe(self) -> str:
        if self.tries is not None:
            return f"{self.tries} {'try' if self.tries == 1 else 'tries'}"
        assert self.duration is not None
        return describe_duration(self.duration)


class AlertsSpec(SpecModel):
    webhook: WebhookAlertSpec | None = None
    email: EmailAlertSpec | None = None
    failed_after: FailedAfter = FailedAfter(tries=3)
    deadline: Duration | None = None
    """``late`` when a scheduled window is not delivered this long after it closed (Airflow 3.1+)."""
