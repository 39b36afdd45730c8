"""A note on every export run that names the window it exports.

Airflow names new backfill runs after ``run_after`` (``backfill__<window end>``) without
asking the timetable, and one-time runs after the moment they were triggered, so neither
run id says which events a run delivers. The scheduler calls this listener when a run
starts; it writes the window (or the one-time range) into the run's note, which the
Grid, the run's page and the REST API (``note``) show. A note someone already wrote
(e.g. in the Trigger form) is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.listeners import hookimpl

from airflow_export_provider.timetables import GridWindowTimetable

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

ONE_TIME_TAG = "one-time"
"""Tag of the one-time DAGs built by :func:`airflow_export_provider.dags.build_one_time_dag`."""


@hookimpl
def on_dag_run_running(dag_run: DagRun, msg: str) -> None:
    """Give a starting export run its note (the scheduler's session commits it with the run)."""
    if dag_run.note:
        return
    note = note_for(
        getattr(dag_run, "dag", None), dag_run.data_interval_start, dag_run.data_interval_end, dag_run.conf
    )
    if note:
        dag_run.note = note


def note_for(
    dag: Any, start: dt.datetime | None, end: dt.datetime | None, conf: Mapping[str, Any] | None
) -> str | None:
    """The note of a run of ``dag``, or ``None`` for DAGs that are not exports."""
    if dag is None:
        return None
    if isinstance(dag.timetable, GridWindowTimetable):
        if start is None or end is None:
            return None
        return window_note(start, end, dag.timetable.grid.timezone)
    if ONE_TIME_TAG in set(getattr(dag, "tags", ()) or ()) and conf:
        return range_note(conf)
    return None


def window_note(start: dt.datetime, end: dt.datetime, zone: str) -> str:
    """``Window 2026-11-30 00:00 → 2026-12-01 00:00 (Europe/Berlin)``: local wall-clock ends."""
    first, last = (pendulum.instance(moment).in_timezone(zone) for moment in (start, end))
    return f"Window {first.format('YYYY-MM-DD HH:mm')} → {last.format('YYYY-MM-DD HH:mm')} ({zone})"


def range_note(conf: Mapping[str, Any]) -> str | None:
    """``One-time export from 2026-11-01 through 2026-11-15`` from the run's ``start``/``end``.

    Bare dates are local days of the export, the end day included; date-times are grid
    points, the end excluded (the history run ends where the first scheduled window starts).
    """
    start, end = conf.get("start"), conf.get("end")
    if not start or not end:
        return None
    end_text = f"through {end}" if _is_date(end) else f"until {end} (excluded)"
    return f"One-time export from {start} {end_text}"


def _is_date(value: object) -> bool:
    return isinstance(value, str) and len(value.strip()) == 10
