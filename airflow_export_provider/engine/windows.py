"""Windows and the grid they are cut from.

Every way of running an export (scheduled runs, retries, manual triggers, backfills,
the CLI) cuts time on one grid: points every N hours from local midnight in the
export's timezone. A window is the half-open interval between two consecutive points.

On DST change days the grid keeps local wall-clock points (00:00, 04:00, ...); a local
time that does not exist (spring forward) moves to the next existing instant, and points
that collapse onto the same instant are merged, so one window is shorter or longer by the
DST offset change and no instant is skipped or covered twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pendulum
from pendulum import DateTime

from airflow_export_provider.exceptions import WindowError


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[start, end)`` of event time, both ends in UTC."""

    start: DateTime
    end: DateTime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise WindowError("window ends must carry a timezone")
        if self.end <= self.start:
            raise WindowError(
                f"window end {self.end.isoformat()} must be after its start {self.start.isoformat()}"
            )
        object.__setattr__(self, "start", pendulum.instance(self.start).in_timezone("UTC"))
        object.__setattr__(self, "end", pendulum.instance(self.end).in_timezone("UTC"))

    @property
    def label(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class WindowGrid:
    """Grid points every ``every_hours`` hours from local midnight in ``timezone``."""

    every_hours: int
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.every_hours <= 0 or 24 % self.every_hours:
            raise WindowError(f"every_hours must divide 24, got {self.every_hours}")

    def points_on(self, day: dt.date) -> list[DateTime]:
        """The grid points whose local date is ``day``, in UTC, without duplicates."""
        zone = pendulum.timezone(self.timezone)
        points = {
            pendulum.datetime(day.year, day.month, day.day, hour, tz=zone).in_timezone("UTC")
            for hour in range(0, 24, self.every_hours)
        }
        return sorted(points)

    def _points_around(self, moment: DateTime) -> list[DateTime]:
        local_day = pendulum.instance(moment).in_timezone(self.timezone).date()
        points: list[DateTime] = []
        for offset in (-1, 0, 1):
            points.extend(self.points_on(local_day + dt.timedelta(days=offset)))
        return sorted(set(points))

    def floor(self, moment: DateTime) -> DateTime:
        """The latest grid point at or before ``moment``."""
        return max(point for point in self._points_around(moment) if point <= moment)

    def next_after(self, moment: DateTime) -> DateTime:
        """The earliest grid point strictly after ``moment``."""
        return min(point for point in self._points_around(moment) if point > moment)

    def ceil(self, moment: DateTime) -> DateTime:
        """The earliest grid point at or after ``moment``."""
        return moment if self.is_point(moment) else self.next_after(moment)

    def is_point(self, moment: DateTime) -> bool:
        return self.floor(moment) == moment

    def require_point(self, moment: DateTime, name: str) -> DateTime:
        """``moment`` itself if it is a grid point; otherwise an error naming the nearest one."""
        if not self.is_point(moment):
            raise WindowError(
                f"window {name} {moment.isoformat()} is not on the export's grid "
                f"(every {self.every_hours}h from midnight {self.timezone}); "
                f"nearest grid point before it is {self.floor(moment).isoformat()}"
            )
        return moment

    def reach_of_utc_day(self, day: dt.date) -> tuple[DateTime, DateTime]:
        """From the start of the first to the end of the last grid window that overlaps UTC ``day``.

        A lake partitioned by UTC date is read, folder by folder, by exactly these windows.
        """
        start = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
        return self.floor(start), self.ceil(start.add(days=1))

    def window_containing(self, moment: DateTime) -> Window:
        start = self.floor(moment)
        return Window(start, self.next_after(start))

    def windows(self, start: DateTime, end: DateTime) -> list[Window]:
        """Split ``[start, end)`` into grid windows; both ends must be grid points."""
        self.require_point(start, "start")
        self.require_point(end, "end")
        if end <= start:
            raise WindowError(f"window end {end.isoformat()} must be after its start {start.isoformat()}")
        windows = []
        cursor = start
        while cursor < end:
            following = self.next_after(cursor)
            windows.append(Window(cursor, following))
            cursor = following
        return windows


def check_timezone(name: str) -> str:
    """An IANA zone name pendulum knows; the message says what to write instead."""
    try:
        pendulum.timezone(name)
    except Exception:
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as 'Europe/Berlin'") from None
    return name


def parse_moment(text: str, timezone: str = "UTC") -> DateTime:
    """Parse a user-given instant; a naive time or a bare date is read in ``timezone``."""
    try:
        parsed = pendulum.parse(text, tz=pendulum.timezone(timezone))
    except Exception as error:
        raise WindowError(f"cannot read {text!r} as a date or date-time: {error}") from None
    if isinstance(parsed, DateTime):
        return parsed
    if isinstance(parsed, pendulum.Date):
        return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz=pendulum.timezone(timezone))
    raise WindowError(f"{text!r} is not a point in time")


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A time read from a source; one without a zone (``timestamp without time zone``) is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
