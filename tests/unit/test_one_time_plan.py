"""Planning a one-time export: the range the user picks becomes per-day chunks of grid windows."""

from __future__ import annotations

import itertools
from typing import Any

import pendulum
import pytest

from airflow_export_provider.engine.windows import WindowGrid, parse_moment
from airflow_export_provider.exceptions import WindowError
from airflow_export_provider.operators.one_time import MAX_MAPPED_TASKS, plan_range
from airflow_export_provider.spec import ExportSpec

NOW = pendulum.datetime(2025, 3, 10, 9, 30, tz="UTC")


def spec(**schedule: Any) -> ExportSpec:
    one_time = schedule.pop("one_time", {})
    return ExportSpec.from_mapping(
        {
            "export_id": "plan",
            "account_id": "acme",
            "source": {"path": "/lake"},
            "destination": {"bucket": "exports"},
            "schedule": {"every": "8h", "timezone": "Europe/Berlin", **schedule},
            "one_time": one_time,
        }
    )


def bounds(chunks: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(c["window_start"], c["window_end"]) for c in chunks]


def test_dates_are_whole_local_days_and_the_end_day_is_included() -> None:
    chunks = plan_range(spec(), "2025-03-01", "2025-03-03", now=NOW)
    assert bounds(chunks) == [
        ("2025-02-28T23:00:00+00:00", "2025-03-01T23:00:00+00:00"),
        ("2025-03-01T23:00:00+00:00", "2025-03-02T23:00:00+00:00"),
        ("2025-03-02T23:00:00+00:00", "2025-03-03T23:00:00+00:00"),
    ]


def test_chunks_tile_the_range_on_the_grid_without_gaps() -> None:
    chunks = plan_range(spec(), "2025-03-08", "2025-03-20", now=NOW)
    grid = WindowGrid(8, "Europe/Berlin")
    for earlier, later in itertools.pairwise(chunks):
        assert earlier["window_end"] == later["window_start"]
    for chunk in chunks:
        assert grid.windows(parse_moment(chunk["window_start"]), parse_moment(chunk["window_end"]))
    # windows that have not closed at NOW are left to the recurring export
    assert chunks[-1]["window_end"] == "2025-03-10T07:00:00+00:00"


def test_a_grid_point_end_is_exclusive_as_the_history_run_passes_it() -> None:
    chunks = plan_range(spec(), "2025-03-01", "2025-03-02T07:00:00+00:00", now=NOW)
    assert chunks[-1]["window_end"] == "2025-03-02T07:00:00+00:00"


def test_long_ranges_stay_under_airflows_map_length() -> None:
    chunks = plan_range(spec(one_time={"max_days_back": 3650}), "2015-03-15", "2025-03-08", now=NOW)
    assert len(chunks) <= MAX_MAPPED_TASKS
    assert chunks[0]["window_start"].startswith("2015-03-14T23:00")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, "2025-03-02", "choose both a start and an end"),
        ("2025-03-05", "2025-03-01", "must be after the start"),
        ("2024-01-01", "2024-01-02", "more than 365 days back .* raise one_time.max_days_back"),
        ("2025-03-10T07:00:00+00:00", "2025-03-11", "no window of the range has closed yet"),
        ("2025-03-01T05:00:00+00:00", "2025-03-02", "not on the export's grid"),
        ("yesterday-ish", "2025-03-02", "cannot read 'yesterday-ish'"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(start: str | None, end: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        plan_range(spec(), start, end, now=NOW)
