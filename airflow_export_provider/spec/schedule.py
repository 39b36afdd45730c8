"""The ``schedule:`` and ``one_time:`` sections: the window grid, delivery delay and retries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from airflow_export_provider.engine.windows import WindowGrid
from airflow_export_provider.spec.base import SpecModel
from airflow_export_provider.spec.durations import Duration, describe_duration
from airflow_export_provider.spec.fields import TimeZoneName

GRID_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
UNLIMITED_RETRIES = 1_000_000
"""What ``retries: unlimited`` means: about 9.5 years of retries at the default 5-minute delay.

Airflow stores retries in a 32-bit column and has no "forever", so a bound this large is
the honest equivalent.
"""


def describe_schedule(every_hours: int, timezone: str, delay: dt.timedelta) -> str:
    every = "every day at 00:00" if every_hours == 24 else f"every {every_hours} hours from 00:00"
    text = f"{every} {timezone}"
    if delay:
        text += f", each window delivered {describe_duration(delay)} after it closes"
    return text


class ScheduleSpec(SpecModel):
    """When the recurring export runs: grid windows every ``every`` hours from local midnight.

    ``start_date`` is the first day the export may cover (default: the day it is first
    switched on); ``include_history`` exports the windows from ``start_date`` up to the
    first recurring window once, in the one-time DAG, without holding recurring runs back.
    """

    every: int = 24
    timezone: TimeZoneName = "UTC"
    start_date: dt.date | None = None
    delay: Duration = dt.timedelta(0)
    retries: int | Literal["unlimited"] = "unlimited"
    retry_delay: Duration = dt.timedelta(minutes=5)
    include_history: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``schedule: every 4h`` is short for ``schedule: {every: 4h}``."""
        if isinstance(data, str):
            text = data.strip()
            if not text.lower().startswith("every "):
                raise ValueError(
                    f"{data!r} is not a schedule; write e.g. 'every 4h' or a mapping with 'every'"
                )
            return {"every": text[len("every ") :]}
        return data

    @field_validator("every", mode="before")
    @classmethod
    def _parse_every(cls, every: Any) -> int:
        text = str(every).strip().lower()
        match = re.fullmatch(r"(\d+)\s*(h|hours?)?", text) or re.fullmatch(r"(1)\s*(d|days?)", text)
        hours = None
        if match:
            hours = 24 if match.group(2) and match.group(2).startswith("d") else int(match.group(1))
        if hours not in GRID_HOURS:
            allowed = ", ".join(f"{h}h" for h in GRID_HOURS)
            raise ValueError(f"{every!r} is not a whole divisor of 24 hours; use one of {allowed}")
        return hours

    @field_validator("delay")
    @classmethod
    def _delay_within_a_week(cls, delay: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(0) <= delay <= dt.timedelta(days=7):
            raise ValueError("the delivery delay must be between 0s and 7d")
        return delay

    @field_validator("retry_delay")
    @classmethod
    def _positive_retry_delay(cls, retry_delay: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=10) <= retry_delay <= dt.timedelta(days=1):
            raise ValueError("retry_delay must be between 10s and 1d")
        return retry_delay

    @field_validator("retries")
    @classmethod
    def _retries_in_range(cls, retries: int | str) -> int | str:
        if isinstance(retries, int) and not 0 <= retries < UNLIMITED_RETRIES:
            raise ValueError(f"retries must be 'unlimited' or between 0 and {UNLIMITED_RETRIES - 1}")
        return retries

    @model_validator(mode="after")
    def _history_needs_a_start(self) -> ScheduleSpec:
        if self.include_history and self.start_date is None:
            raise ValueError("include_history needs start_date: the first day of history to export")
        return self

    @property
    def grid(self) -> WindowGrid:
        return WindowGrid(self.every, self.timezone)

    @property
    def description(self) -> str:
        """How the Airflow UI and ``validate`` describe the schedule, e.g. "every 4 hours from 00:00 UTC"."""
        return describe_schedule(self.every, self.timezone, self.delay)

    @property
    def airflow_retries(self) -> int:
        return UNLIMITED_RETRIES if self.retries == "unlimited" else int(self.retries)


class OneTimeSpec(SpecModel):
    """The companion DAG that exports a chosen date range once (``export__<id>__one_time``)."""

    enabled: bool = True
    max_days_back: int = Field(default=365, ge=1, le=3_650)
    concurrency: int = Field(default=4, ge=1, le=64)
