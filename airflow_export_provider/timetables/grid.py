"""Runs whose data interval is exactly one window of the export's midnight-aligned grid.

Airflow's cron timetables either give zero-width intervals (``CronTriggerTimetable``) or
follow cron's idea of local time across DST changes; neither knows the rule an export
needs. This timetable asks :class:`~airflow_export_provider.engine.windows.WindowGrid` for every
boundary, so scheduled runs, backfills, manual triggers and the one-time DAG all cut time
the same way.

The rules (docs/schedules.md has the table of windows):

* **Consecutive.** After a scheduled or backfilled run, the next window starts where the
  previous one ended, whatever the time now: a paused export catches up in order when it
  is unpaused, and no instant is skipped or exported twice.
* **First run.** With no run yet, the first window starts at local midnight of today (or
  at ``start_date`` if that is later) and ends at the first grid point after now: an
  export created at 10:30 on a 4-hour grid exports 00:00-12:00 at 12:00.
* **Delivery delay.** Each run starts ``delay`` after its window closes; the grid does not
  move.
* **Backfills** (``catchup`` restriction from Airflow's backfill) yield every grid window
  whose start lies in the requested range. A backfill never *starts* the schedule: until
  the export has had a scheduled run, the first-run rule applies even after backfills
  (Airflow would otherwise continue from the newest backfilled window and catch up from
  there to now). Once scheduled runs exist, a backfill newer than all of them is
  continued from, as Airflow does, so pause, backfill and unpause never export twice.
* **Manual runs** export the window containing the chosen logical date if it has closed,
  otherwise the latest window that has.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from airflow.utils.types import DagRunType
from pendulum import DateTime

from airflow_export_provider.engine.windows import Window, WindowGrid
from airflow_export_provider.exceptions import WindowError
from airflow_export_provider.spec import describe_schedule

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

_ONE_MICROSECOND = dt.timedelta(microseconds=1)


class _BackfillBeforeFirstScheduledRun(DagRunInfo):
    """The newest automated run is a backfill and the export has never run on its own."""


class GridWindowTimetable(Timetable):
    """Every ``every_hours`` hours from local midnight in ``timezone``, ``delay`` after each window.

    :param every_hours: a whole divisor of 24.
    :param timezone: IANA zone whose wall clock the grid follows (DST included).
    :param delay: how long after a window closes its run starts (delivery delay).
    """

    periodic = True
    can_be_scheduled = True

    def __init__(
        self, every_hours: int, timezone: str = "UTC", delay: dt.timedelta = dt.timedelta(0)
    ) -> None:
        self.grid = WindowGrid(every_hours, timezone)
        self.delay = delay

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GridWindowTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.serialize().items())))

    def serialize(self) -> dict[str, Any]:
        return {
            "every_hours": self.grid.every_hours,
            "timezone": self.grid.timezone,
            "delay_seconds": int(self.delay.total_seconds()),
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> GridWindowTimetable:
        return cls(data["every_hours"], data["timezone"], dt.timedelta(seconds=data.get("delay_seconds", 0)))

    def validate(self) -> None:
        if self.delay < dt.timedelta(0):
            raise WindowError(f"the delivery delay cannot be negative, got {self.delay}")

    @property
    def summary(self) -> str:
        return f"every {self.grid.every_hours}h from 00:00 {self.grid.timezone}"

    @property
    def description(self) -> str:  # type: ignore[override]  # a class attribute in the protocol
        return describe_schedule(self.grid.every_hours, self.grid.timezone, self.delay)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        return self._next(last_automated_data_interval, restriction, after_backfill_only=False)

    def next_dagrun_info_v2(
        self, *, last_dagrun_info: DagRunInfo | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        interval = last_dagrun_info.data_interval if last_dagrun_info else None
        after_backfill_only = isinstance(last_dagrun_info, _BackfillBeforeFirstScheduledRun)
        return self._next(interval, restriction, after_backfill_only=after_backfill_only)

    def run_info_from_dag_run(self, *, dag_run: DagRun) -> DagRunInfo:
        """Mark a backfill reference run when the export has no scheduled run yet (see module doc)."""
        info = super().run_info_from_dag_run(dag_run=dag_run)
        if dag_run.run_type != DagRunType.BACKFILL_JOB or _has_scheduled_runs(dag_run):
            return info
        return _BackfillBeforeFirstScheduledRun(*info)

    def _next(
        self, last: DataInterval | None, restriction: TimeRestriction, *, after_backfill_only: bool
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if after_backfill_only and last is not None:
            # the first-run rule applies, never starting before what the backfill covered
            earliest = last.end if earliest is None else max(earliest, last.end)
            last = None
        window = self.next_window(
            last_end=last.end if last else None,
            earliest=earliest,
            catchup=restriction.catchup,
            now=pendulum.now("UTC"),
        )
        if restriction.latest is not None and window.start > restriction.latest:
            return None
        return DagRunInfo(
            run_after=window.end + self.delay, data_interval=DataInterval(window.start, window.end)
        )

    def next_window(
        self, *, last_end: dt.datetime | None, earliest: dt.datetime | None, catchup: bool, now: DateTime
    ) -> Window:
        """The window of the next automated run; the clock is an argument so the rules are testable."""
        lower = self.grid.ceil(pendulum.instance(earliest)) if earliest is not None else None
        if last_end is not None:
            start = pendulum.instance(last_end)
            if lower is not None and start < lower:
                start = lower
            return Window(start, self.grid.next_after(start))
        if catchup:
            if lower is None:
                raise WindowError("a catch-up or backfill needs an earliest date to start from")
            return Window(lower, self.grid.next_after(lower))
        anchor = now - self.delay
        local_day = anchor.in_timezone(self.grid.timezone).date()
        today = self.grid.points_on(local_day)[0]
        if lower is not None and lower > today:
            return Window(lower, self.grid.next_after(lower))
        return Window(today, self.grid.next_after(anchor))

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        window = self.manual_window(pendulum.instance(run_after), now=pendulum.now("UTC"))
        return DataInterval(window.start, window.end)

    def manual_window(self, moment: DateTime, *, now: DateTime) -> Window:
        """The window containing ``moment`` if it has closed by ``now``, else the latest closed one."""
        window = self.grid.window_containing(min(moment, now))
        if window.end > now:
            window = self.grid.window_containing(window.start - _ONE_MICROSECOND)
        return window

    def generate_run_id(
        self, *, run_type: DagRunType, run_after: DateTime, data_interval: DataInterval | None, **extra: Any
    ) -> str:
        """Scheduled runs are named by their window start, which is unique per DAG.

        The default names runs after ``run_after``, which with a delivery delay is not a
        time that appears in any file or manifest. Backfill runs get the same naming where
        Airflow asks the timetable (re-created runs); new non-partitioned backfill runs are
        named by Airflow itself.
        """
        if run_type in (DagRunType.SCHEDULED, DagRunType.BACKFILL_JOB) and data_interval is not None:
            return run_type.generate_run_id(suffix=pendulum.instance(data_interval.start).isoformat())
        return super().generate_run_id(
            run_type=run_type, run_after=run_after, data_interval=data_interval, **extra
        )


def _has_scheduled_runs(dag_run: DagRun) -> bool:
    """Whether the DAG of ``dag_run`` has any scheduled run (asked in the scheduler's own session)."""
    from airflow.models.dagrun import DagRun as DagRunModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select
    from sqlalchemy.orm import object_session

    query = select(func.count()).where(
        DagRunModel.dag_id == dag_run.dag_id, DagRunModel.run_type == DagRunType.SCHEDULED
    )
    session = object_session(dag_run)
    if session is not None:
        return bool(session.scalar(query))
    with create_session() as own_session:
        return bool(own_session.scalar(query))
