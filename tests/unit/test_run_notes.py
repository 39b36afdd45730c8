"""The note the scheduler writes on each export run names the window it exports."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pendulum

from airflow_export_provider.listeners.run_notes import note_for, on_dag_run_running, range_note, window_note
from airflow_export_provider.timetables import GridWindowTimetable

UTC = dt.timezone.utc


def test_a_window_is_named_in_the_exports_local_time() -> None:
    start = pendulum.datetime(2026, 11, 29, 23, tz="UTC")
    end = pendulum.datetime(2026, 11, 30, 23, tz="UTC")
    assert (
        window_note(start, end, "Europe/Berlin")
        == "Window 2026-11-30 00:00 → 2026-12-01 00:00 (Europe/Berlin)"
    )


def test_a_dst_day_keeps_its_wall_clock_ends() -> None:
    start = pendulum.datetime(2026, 3, 28, 23, tz="UTC")
    end = pendulum.datetime(2026, 3, 29, 22, tz="UTC")
    assert (
        window_note(start, end, "Europe/Berlin")
        == "Window 2026-03-29 00:00 → 2026-03-30 00:00 (Europe/Berlin)"
    )


def test_one_time_ranges_say_whether_the_end_is_included() -> None:
    assert range_note({"start": "2026-11-01", "end": "2026-11-15"}) == (
        "One-time export from 2026-11-01 through 2026-11-15"
    )
    assert range_note({"start": "2025-03-01", "end": "2026-12-01T00:00:00+00:00"}) == (
        "One-time export from 2025-03-01 until 2026-12-01T00:00:00+00:00 (excluded)"
    )
    assert range_note({"start": None, "end": "2026-11-15"}) is None


def test_only_export_dags_get_notes() -> None:
    start, end = dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2026, 12, 1, 4, tzinfo=UTC)
    export = SimpleNamespace(timetable=GridWindowTimetable(4), tags={"export"})
    one_time = SimpleNamespace(timetable=None, tags={"export", "one-time"})
    other = SimpleNamespace(timetable=None, tags={"etl"})
    assert note_for(export, start, end, {}) == "Window 2026-12-01 00:00 → 2026-12-01 04:00 (UTC)"
    assert note_for(one_time, None, None, {"start": "2026-11-01", "end": "2026-11-02"}) is not None
    assert note_for(other, start, end, {"start": "2026-11-01", "end": "2026-11-02"}) is None
    assert note_for(None, start, end, {}) is None


def test_a_note_someone_wrote_is_kept() -> None:
    export = SimpleNamespace(timetable=GridWindowTimetable(24), tags={"export"})
    window = {
        "data_interval_start": dt.datetime(2026, 12, 1, tzinfo=UTC),
        "data_interval_end": dt.datetime(2026, 12, 2, tzinfo=UTC),
    }
    written = SimpleNamespace(note="re-run after the schema fix", dag=export, conf={}, **window)
    blank = SimpleNamespace(note=None, dag=export, conf={}, **window)
    on_dag_run_running(written, "started")  # type: ignore[arg-type]
    on_dag_run_running(blank, "started")  # type: ignore[arg-type]
    assert written.note == "re-run after the schema fix"
    assert blank.note == "Window 2026-12-01 00:00 → 2026-12-02 00:00 (UTC)"
