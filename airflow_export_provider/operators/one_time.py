"""Operators of the one-time export: plan a date range into grid windows, and start history.

A one-time export is a DAG run of ``export__<id>__one_time`` with a ``start`` and ``end``
(date pickers in the Trigger form). :class:`PlanWindowsOperator` turns them into one
mapped export task per local day, so Airflow runs the days in parallel with the bounded
concurrency of the spec and shows, retries and logs each day on its own.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import pendulum
from pendulum import DateTime

from airflow_export_provider.engine.windows import WindowGrid, parse_moment
from airflow_export_provider.exceptions import WindowError
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import BaseOperator, Context

MAX_MAPPED_TASKS = 1_000
"""Stay under Airflow's ``[core] max_map_length`` (1024): long ranges get several days per task."""


class PlanWindowsOperator(BaseOperator):
    """Validate a one-time export's range and cut it into per-day chunks of grid windows.

    :param spec: the export definition.
    :param start: first day (``YYYY-MM-DD``) or a grid point (ISO date-time). (templated)
    :param end: last day, inclusive (``YYYY-MM-DD``), or a grid point that ends the range,
        exclusive (ISO date-time). (templated)
    :return: a list of ``{"window_start", "window_end"}`` for ``EventExportOperator.expand_kwargs``.
    """

    template_fields: Sequence[str] = ("start", "end")
    ui_color = "#eef3d9"

    def __init__(self, *, spec: ExportSpec, start: str | None, end: str | None, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)  # a bad range stays bad; retrying it only delays the error
        super().__init__(**kwargs)
        self.spec = spec
        self.start = start
        self.end = end

    def execute(self, context: Context) -> list[dict[str, str]]:
        chunks = plan_range(self.spec, self.start, self.end, now=pendulum.now("UTC"))
        grid = self.spec.schedule.grid
        first, last = parse_moment(chunks[0]["window_start"]), parse_moment(chunks[-1]["window_end"])
        self.log.info(
            "one-time export %s: [%s, %s) is %d grid windows of %dh, run as %d tasks, %d at a time",
            self.spec.export_id,
            first.isoformat(),
            last.isoformat(),
            len(grid.windows(first, last)),
            grid.every_hours,
            len(chunks),
            self.spec.one_time.concurrency,
        )
        return chunks


def plan_range(
    spec: ExportSpec, start: str | None, end: str | None, *, now: DateTime
) -> list[dict[str, str]]:
    """The chunks of grid windows covering ``start``..``end``; the clock is an argument for tests."""
    zone, grid = spec.schedule.timezone, spec.schedule.grid
    if not start or not end:
        raise WindowError("choose both a start and an end for the one-time export")
    begin = _bound(grid, start, "start", inclusive_day=False)
    finish = _bound(grid, end, "end", inclusive_day=True)
    if finish <= begin:
        raise WindowError(f"the end ({end}) must be after the start ({start})")
    oldest = grid.points_on(now.in_timezone(zone).date() - dt.timedelta(days=spec.one_time.max_days_back))[0]
    if begin < oldest:
        raise WindowError(
            f"the start {begin.in_timezone(zone).to_date_string()} is more than "
            f"{spec.one_time.max_days_back} days back "
            f"(oldest allowed: {oldest.in_timezone(zone).to_date_string()}); "
            "raise one_time.max_days_back in the spec to go further"
        )
    closed = grid.floor(now)
    if finish > closed:
        if closed <= begin:
            raise WindowError(
                "no window of the range has closed yet "
                f"(the latest closed window ends at {closed.isoformat()})"
            )
        finish = closed
    days = _local_day_starts(grid, begin, finish)
    per_chunk = max(1, math.ceil(len(days) / MAX_MAPPED_TASKS))
    chunks = []
    for index in range(0, len(days), per_chunk):
        chunk_end = days[index + per_chunk] if index + per_chunk < len(days) else finish
        chunks.append({"window_start": days[index].isoformat(), "window_end": chunk_end.isoformat()})
    return chunks


def _bound(grid: WindowGrid, text: str, name: str, *, inclusive_day: bool) -> DateTime:
    """A date is a whole local day (an ``end`` date includes that day); a date-time must be a grid point."""
    text = str(text).strip()
    moment = parse_moment(text, grid.timezone)
    if len(text) == 10:  # a bare date from the date picker
        day = moment.date() + dt.timedelta(days=1 if inclusive_day else 0)
        return grid.points_on(day)[0]
    return grid.require_point(moment, name)


def _local_day_starts(grid: WindowGrid, begin: DateTime, finish: DateTime) -> list[DateTime]:
    """``begin`` and every local midnight after it, before ``finish``."""
    starts = [begin]
    day = begin.in_timezone(grid.timezone).date() + dt.timedelta(days=1)
    while (midnight := grid.points_on(day)[0]) < finish:
        starts.append(midnight)
        day += dt.timedelta(days=1)
    return starts


class OneTimeReportOperator(BaseOperator):
    """The one-time run's result: every window its export tasks delivered, and the totals.

    Runs once all export tasks succeeded; its XCom is what the run's one ``completed``
    alert reports (every window with its records, files, bytes and manifest).

    :param spec: the export definition.
    :param exports_task_id: the mapped task that exported the range.
    """

    ui_color = "#eef3d9"

    def __init__(self, *, spec: ExportSpec, exports_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.spec = spec
        self.exports_task_id = exports_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        pulled = context["ti"].xcom_pull(task_ids=self.exports_task_id, key="return_value")
        results = [
            r for r in (pulled if isinstance(pulled, list | tuple) else [pulled]) if isinstance(r, dict)
        ]
        windows = sorted((w for r in results for w in r.get("windows", [])), key=lambda w: w["window_start"])
        summary = {
            "export_id": self.spec.export_id,
            "windows": windows,
            "files": sum(w["files"] for w in windows),
            "records": sum(w["records"] for w in windows),
            "bytes": sum(w["bytes"] for w in windows),
        }
        self.log.info(
            "one-time export %s: %d windows, %s records in %d files",
            self.spec.export_id, len(windows), f"{summary['records']:,}", summary["files"],
        )  # fmt: skip
        return summary
