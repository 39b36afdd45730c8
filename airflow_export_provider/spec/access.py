"""The ``access:`` section: checking the destination before each run, and waiting for a fix."""

from __future__ import annotations

import datetime as dt

from pydantic import field_validator, model_validator

from airflow_export_provider.spec.base import SpecModel
from airflow_export_provider.spec.durations import Duration


class AccessSpec(SpecModel):
    """Checking the destination before each run, and waiting for a fix instead of failing.

    When the check fails for an access reason, the run waits (a deferrable sensor; a
    rescheduling one without a triggerer), re-checking every ``check_every``, alerting at
    each ``alert_after`` of waiting; after ``grace`` it stops: a final alert, the run
    fails with the classified error, and the scheduler pauses the DAG (the provider's
    listener; ``airflow_api_conn_id``, an ``http`` connection to the API server, is an
    optional REST fallback).
    """

    check: bool = True
    check_every: Duration = dt.timedelta(minutes=10)
    alert_after: tuple[Duration, ...] = (dt.timedelta(0), dt.timedelta(days=1), dt.timedelta(days=2))
    grace: Duration = dt.timedelta(days=3)
    deferrable: bool = True
    airflow_api_conn_id: str = "airflow_api"

    @field_validator("check_every")
    @classmethod
    def _sensible_interval(cls, every: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=1) <= every <= dt.timedelta(days=1):
            raise ValueError("check_every must be between 1s and 1d")
        return every

    @model_validator(mode="after")
    def _alerts_within_grace(self) -> AccessSpec:
        if any(after >= self.grace for after in self.alert_after):
            raise ValueError(
                "every alert_after must come before the grace period ends (the stop alert ends it)"
            )
        if list(self.alert_after) != sorted(set(self.alert_after)):
            raise ValueError("alert_after must be increasing, without repeats")
        return self
