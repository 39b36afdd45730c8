"""The export timetable: the rules of docs/schedules.md, checked by examples and by properties.

The property tests compare the timetable with facts computed independently of
WindowGrid: local wall-clock readings and UTC offsets straight from the tz database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pendulum
import pytest
from airflow.serialization.decoders import decode_timetable
from airflow.serialization.encoders import encode_timetable
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.utils.types import DagRunType
from hypothesis import given, settings
from hypothesis import strategies as st
from pendulum import DateTime

from airflow_export_provider.engine.windows import Window
from airflow_export_provider.timetables import GridWindowTimetable

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
]
EVERY = [1, 2, 3, 4, 6, 8, 12, 24]
HOUR = dt.timedelta(hours=1)

moments = st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2031, 12, 31)).map(
    lambda naive: pendulum.instance(naive.replace(tzinfo=dt.UTC))
)
delays = st.sampled_from(
    [dt.timedelta(0), dt.timedelta(minutes=30), dt.timedelta(hours=4), dt.timedelta(days=1)]
)


def utc(*args: int) -> DateTime:
    return pendulum.datetime(*args, tz="UTC")


def local(zone: str, *args: int) -> DateTime:
    return pendulum.datetime(*args, tz=zone).in_timezone("UTC")


def following(timetable: GridWindowTimetable, window: Window, count: int) -> list[Window]:
    """``count`` windows after ``window`` as the scheduler asks for them (catchup off)."""
    windows = [window]
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=DataInterval(windows[-1].start, windows[-1].end),
            restriction=TimeRestriction(earliest=None, latest=None, catchup=False),
        )
        assert info is not None and info.data_interval is not None
        windows.append(Window(info.data_interval.start, info.data_interval.end))
    return windows


def on_local_grid(moment: DateTime, zone: str, every: int) -> bool:
    """A grid point reads k*every:00 on the wall clock, or is the instant a DST gap jumped to."""
    reading = moment.in_timezone(zone)
    if (reading.minute, reading.second, reading.microsecond) == (0, 0, 0) and reading.hour % every == 0:
        return True
    just_before = (moment - dt.timedelta(microseconds=1)).in_timezone(zone)
    return just_before.utcoffset() != reading.utcoffset()


# -- the examples of the issue and the docs --------------------------------------------------


def test_created_at_1030_on_a_4h_grid_first_exports_midnight_to_noon_then_consecutive_windows() -> None:
    timetable = GridWindowTimetable(4, "UTC")
    first = timetable.next_window(last_end=None, earliest=None, catchup=False, now=utc(2025, 3, 5, 10, 30))
    assert first == Window(utc(2025, 3, 5), utc(2025, 3, 5, 12))
    nxt = following(timetable, first, 2)
    assert [(w.start.hour, w.end.hour) for w in nxt[1:]] == [(12, 16), (16, 20)]


def test_run_after_is_the_window_end_plus_the_delivery_delay() -> None:
    timetable = GridWindowTimetable(24, "UTC", dt.timedelta(hours=4))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(2025, 3, 1), utc(2025, 3, 2)),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=False),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 2), utc(2025, 3, 3))
    assert info.run_after == utc(2025, 3, 3, 4)


def test_daily_delivery_at_four_covers_the_previous_calendar_day_from_the_first_run() -> None:
    timetable = GridWindowTimetable(24, "UTC", dt.timedelta(hours=4))
    first = timetable.next_window(last_end=None, earliest=None, catchup=False, now=utc(2025, 3, 5, 2))
    assert first == Window(utc(2025, 3, 4), utc(2025, 3, 5))


def test_a_start_date_in_the_future_starts_with_its_first_window() -> None:
    timetable = GridWindowTimetable(8, "Europe/Berlin")
    earliest = local("Europe/Berlin", 2025, 6, 1)
    first = timetable.next_window(last_end=None, earliest=earliest, catchup=False, now=utc(2025, 5, 20, 9))
    assert first == Window(earliest, local("Europe/Berlin", 2025, 6, 1, 8))


def test_after_a_pause_the_missed_windows_come_in_order() -> None:
    timetable = GridWindowTimetable(12, "UTC")
    resumed = timetable.next_window(
        last_end=utc(2025, 3, 1, 12), earliest=None, catchup=False, now=utc(2025, 3, 9, 15)
    )
    assert resumed == Window(utc(2025, 3, 1, 12), utc(2025, 3, 2))


@pytest.mark.parametrize(
    ("day", "hours"),
    [((2025, 3, 30), [5, 6, 6, 6]), ((2025, 10, 26), [7, 6, 6, 6]), ((2025, 6, 1), [6, 6, 6, 6])],
)
def test_dst_days_keep_local_grid_points_and_one_window_changes_length(
    day: tuple[int, int, int], hours: list[int]
) -> None:
    timetable = GridWindowTimetable(6, "Europe/Berlin")
    first = Window(local("Europe/Berlin", *day), local("Europe/Berlin", *day, 6))
    windows = following(timetable, first, 3)
    assert [w.start.in_timezone("Europe/Berlin").hour for w in windows] == [0, 6, 12, 18]
    assert [w.hours for w in windows] == hours


def test_backfill_range_yields_the_grid_windows_whose_start_is_in_range() -> None:
    timetable = GridWindowTimetable(8, "UTC")
    restriction = TimeRestriction(earliest=utc(2025, 3, 1, 5), latest=utc(2025, 3, 2), catchup=True)
    starts = []
    last = None
    while info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction):
        assert info.data_interval is not None
        starts.append(info.data_interval.start)
        last = info.data_interval
    assert starts == [utc(2025, 3, 1, 8), utc(2025, 3, 1, 16), utc(2025, 3, 2)]


def test_manual_runs_take_the_window_of_the_logical_date_or_the_latest_closed_one() -> None:
    timetable = GridWindowTimetable(4, "UTC")
    now = utc(2025, 3, 5, 10, 30)
    assert timetable.manual_window(utc(2025, 3, 1, 5), now=now) == Window(
        utc(2025, 3, 1, 4), utc(2025, 3, 1, 8)
    )
    assert timetable.manual_window(now, now=now) == Window(utc(2025, 3, 5, 4), utc(2025, 3, 5, 8))
    assert timetable.manual_window(utc(2025, 4, 1), now=now) == Window(utc(2025, 3, 5, 4), utc(2025, 3, 5, 8))
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 3, 1))
    assert interval == DataInterval(utc(2025, 3, 1), utc(2025, 3, 1, 4))


def test_scheduled_and_backfill_runs_are_named_by_their_window() -> None:
    timetable = GridWindowTimetable(4, "UTC", dt.timedelta(hours=1))
    interval = DataInterval(utc(2025, 3, 1, 4), utc(2025, 3, 1, 8))
    for run_type, prefix in ((DagRunType.SCHEDULED, "scheduled"), (DagRunType.BACKFILL_JOB, "backfill")):
        run_id = timetable.generate_run_id(
            run_type=run_type, run_after=utc(2025, 3, 1, 9), data_interval=interval
        )
        assert run_id == f"{prefix}__2025-03-01T04:00:00+00:00"
    manual = timetable.generate_run_id(
        run_type=DagRunType.MANUAL, run_after=utc(2025, 3, 1, 9, 3), data_interval=interval
    )
    assert manual.startswith("manual__2025-03-01T09:03")


def test_round_trips_through_airflow_serialization_and_describes_itself() -> None:
    timetable = GridWindowTimetable(4, "Europe/Berlin", dt.timedelta(minutes=90))
    assert decode_timetable(encode_timetable(timetable)) == timetable
    assert timetable.summary == "every 4h from 00:00 Europe/Berlin"
    assert timetable.description == (
        "every 4 hours from 00:00 Europe/Berlin, each window delivered 1h30m after it closes"
    )
    assert GridWindowTimetable(24).description == "every day at 00:00 UTC"


# -- properties ------------------------------------------------------------------------------


def timetables_and_moments(test: Any) -> Any:
    """Every property runs on 150 random (moment, zone, grid, delay) cases."""
    cases = given(moments, st.sampled_from(ZONES), st.sampled_from(EVERY), delays)
    return settings(max_examples=150, deadline=None)(cases(test))


@timetables_and_moments
def test_windows_are_consecutive_on_the_local_grid_and_never_overlap(
    moment: DateTime, zone: str, every: int, delay: dt.timedelta
) -> None:
    timetable = GridWindowTimetable(every, zone, delay)
    restriction = TimeRestriction(earliest=moment, latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info is not None and info.data_interval is not None
    first = Window(info.data_interval.start, info.data_interval.end)
    assert first.start >= moment and first.start - moment <= dt.timedelta(hours=every) + HOUR
    windows = following(timetable, first, 30)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end == later.start
    for window in windows:
        assert on_local_grid(window.start, zone, every) and on_local_grid(window.end, zone, every)
        assert dt.timedelta(0) < window.end - window.start <= dt.timedelta(hours=every) + HOUR
        assert window.end - window.start >= dt.timedelta(hours=every) - HOUR


@timetables_and_moments
def test_the_first_run_starts_at_local_midnight_and_covers_the_moment_of_creation(
    now: DateTime, zone: str, every: int, delay: dt.timedelta
) -> None:
    timetable = GridWindowTimetable(every, zone, delay)
    first = timetable.next_window(last_end=None, earliest=None, catchup=False, now=now)
    anchor = now - delay
    assert first.start <= anchor < first.end
    assert on_local_grid(first.start, zone, 24)
    assert first.start.in_timezone(zone).date() == anchor.in_timezone(zone).date()
    assert first.end - anchor <= dt.timedelta(hours=every) + HOUR
    assert on_local_grid(first.end, zone, every)


@settings(max_examples=150, deadline=None)
@given(moments, moments, st.sampled_from(ZONES), st.sampled_from(EVERY))
def test_manual_runs_only_export_closed_windows(
    moment: DateTime, now: DateTime, zone: str, every: int
) -> None:
    timetable = GridWindowTimetable(every, zone)
    window = timetable.manual_window(moment, now=now)
    containing = timetable.grid.window_containing(moment)
    if containing.end <= now:
        assert window == containing
    else:
        assert window.end == timetable.grid.floor(now) and window.end <= now


def test_a_backfill_does_not_start_the_schedule_of_an_export_that_never_ran() -> None:
    from airflow_export_provider.timetables.grid import _BackfillBeforeFirstScheduledRun

    timetable = GridWindowTimetable(12, "UTC")
    old_backfill = DataInterval(utc(2025, 3, 2, 12), utc(2025, 3, 3))
    restriction = TimeRestriction(earliest=None, latest=None, catchup=False)
    marked = _BackfillBeforeFirstScheduledRun(run_after=old_backfill.end, data_interval=old_backfill)
    info = timetable.next_dagrun_info_v2(last_dagrun_info=marked, restriction=restriction)
    assert info is not None and info.data_interval is not None
    now = pendulum.now("UTC")
    assert info.data_interval.start == pendulum.datetime(now.year, now.month, now.day, tz="UTC")
    # once the export has run on its own, the newest automated run is simply continued
    plain = timetable.next_dagrun_info_v2(
        last_dagrun_info=DagRunInfo(run_after=old_backfill.end, data_interval=old_backfill),
        restriction=restriction,
    )
    assert plain is not None and plain.data_interval == DataInterval(utc(2025, 3, 3), utc(2025, 3, 3, 12))
