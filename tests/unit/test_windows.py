from __future__ import annotations

import itertools

import pendulum
import pytest

from airflow_export_provider.engine.windows import Window, WindowGrid, parse_moment
from airflow_export_provider.exceptions import WindowError


def test_four_hour_grid_from_midnight() -> None:
    grid = WindowGrid(4, "UTC")
    windows = grid.windows(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
    assert [w.start.hour for w in windows] == [0, 4, 8, 12, 16, 20]
    assert all(w.hours == 4 for w in windows)


def test_off_grid_start_is_rejected_with_the_nearest_point() -> None:
    with pytest.raises(
        WindowError, match=r"not on the export's grid .* nearest grid point before it is 2025-03-01T08:00"
    ):
        WindowGrid(4, "UTC").windows(pendulum.datetime(2025, 3, 1, 10, 30), pendulum.datetime(2025, 3, 2))


def test_end_must_follow_start() -> None:
    with pytest.raises(WindowError, match="must be after its start"):
        Window(pendulum.datetime(2025, 3, 2), pendulum.datetime(2025, 3, 1))
    with pytest.raises(WindowError, match="must be after its start"):
        WindowGrid(24, "UTC").windows(pendulum.datetime(2025, 3, 2), pendulum.datetime(2025, 3, 2))


def test_dst_spring_forward_day_keeps_local_grid_points() -> None:
    grid = WindowGrid(6, "Europe/Berlin")
    start = pendulum.datetime(2025, 3, 30, tz="Europe/Berlin")
    windows = grid.windows(start, pendulum.datetime(2025, 3, 31, tz="Europe/Berlin"))
    local_starts = [w.start.in_timezone("Europe/Berlin").hour for w in windows]
    assert local_starts == [0, 6, 12, 18]
    assert [w.hours for w in windows] == [5, 6, 6, 6]
    assert sum(w.hours for w in windows) == 23


def test_hourly_grid_over_fall_back_covers_every_instant_once() -> None:
    grid = WindowGrid(1, "Europe/Berlin")
    start = pendulum.datetime(2025, 10, 26, tz="Europe/Berlin")
    windows = grid.windows(start, pendulum.datetime(2025, 10, 27, tz="Europe/Berlin"))
    assert sum(w.hours for w in windows) == 25
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


def test_parse_moment_reads_dates_in_the_export_timezone() -> None:
    assert parse_moment("2025-03-01", "Europe/Berlin") == pendulum.datetime(2025, 2, 28, 23)
    with pytest.raises(WindowError, match="cannot read 'soon'"):
        parse_moment("soon")
