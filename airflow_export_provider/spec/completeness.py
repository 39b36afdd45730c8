"""The ``completeness:`` section: when a window's data counts as complete."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import model_validator

from airflow_export_provider.spec.base import SpecModel
from airflow_export_provider.spec.durations import Duration


class CompletenessSpec(SpecModel):
    """When a window's data counts as complete, so the export can start (``wait_for_data`` task).

    ``lateness``: the window end plus ``lateness`` has passed (a fixed allowance for late
    events). ``watermark``: ``watermark_query`` (SQL sources) returns a timestamp at or
    after the window end, e.g. ``SELECT max(ingested_at) FROM app.events``. ``marker``:
    the lake holds the object ``marker`` (a template with ``{date}``, ``{window_start}``,
    ``{window_end}``), e.g. ``date={date}/_SUCCESS``. ``lateness`` also applies to the
    other modes. ``none`` starts at once (after the schedule's ``delay``).
    """

    mode: Literal["none", "lateness", "watermark", "marker"] = "none"
    lateness: Duration = dt.timedelta(0)
    watermark_query: str | None = None
    marker: str | None = None
    check_every: Duration = dt.timedelta(minutes=5)
    timeout: Duration = dt.timedelta(days=1)
    deferrable: bool = True

    @model_validator(mode="after")
    def _mode_has_its_setting(self) -> CompletenessSpec:
        if self.mode == "watermark" and not self.watermark_query:
            raise ValueError("mode 'watermark' needs watermark_query (a query returning one timestamp)")
        if self.mode == "marker" and not self.marker:
            raise ValueError("mode 'marker' needs marker, e.g. 'date={date}/_SUCCESS'")
        if self.marker is not None:
            try:
                self.marker.format(
                    date="2025-01-01", window_start="20250101T000000", window_end="20250101T040000"
                )
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    f"marker {self.marker!r} has an unknown placeholder {error}; "
                    "use {date}, {window_start}, {window_end}"
                ) from None
        if self.mode == "lateness" and not self.lateness:
            raise ValueError("mode 'lateness' needs a lateness greater than 0s")
        return self
