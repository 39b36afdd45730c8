"""Waiting for a window's data: lateness, a watermark query on PostgreSQL, a marker in the lake."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import window_verdict
from airflow_export_provider.spec import ExportSpec
from tests.sql_events import COLUMNS
from tests.unit.test_spec import problems, valid

pytestmark = pytest.mark.integration
DAY3 = Window(pendulum.datetime(2025, 3, 3, 12), pendulum.datetime(2025, 3, 3, 16))
AFTER = Window(pendulum.datetime(2025, 3, 4, 0), pendulum.datetime(2025, 3, 4, 4))


def spec(source: dict[str, Any], completeness: dict[str, Any]) -> ExportSpec:
    return ExportSpec.from_mapping(valid(source=source, completeness=completeness))


def test_lateness_waits_past_the_window_end() -> None:
    export = spec({"path": "/lake"}, {"mode": "lateness", "lateness": "2h"})
    assert not window_verdict(export, DAY3, now=DAY3.end + dt.timedelta(hours=1, minutes=59)).complete
    assert window_verdict(export, DAY3, now=DAY3.end + dt.timedelta(hours=2)).complete


def test_a_watermark_query_on_postgres_decides(events_db_conn_id: str) -> None:
    source = {"type": "sql", "conn_id": events_db_conn_id, "table": "app.events", "columns": COLUMNS}
    export = spec(source, {"mode": "watermark", "watermark_query": "SELECT max(occurred_at) FROM app.events"})
    complete = window_verdict(export, DAY3)
    assert complete.complete and "has passed the window end" in complete.reason
    waiting = window_verdict(export, AFTER)
    assert not waiting.complete and "is before the window end 2025-03-04T04:00:00+00:00" in waiting.reason


def test_a_marker_in_the_lake_decides(lake3: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(lake3, lake)
    export = spec({"path": str(lake)}, {"mode": "marker", "marker": "date={date}/_SUCCESS"})
    verdict = window_verdict(export, DAY3)
    assert not verdict.complete and verdict.reason.endswith("date=2025-03-03/_SUCCESS does not exist yet")
    (lake / "date=2025-03-03" / "_SUCCESS").touch()
    assert window_verdict(export, DAY3).complete


@pytest.mark.parametrize(
    ("source", "completeness", "message"),
    [
        ({"path": "/lake"}, {"mode": "watermark", "watermark_query": "SELECT 1"}, "needs a SQL source"),
        ({"path": "/lake"}, {"mode": "marker"}, "mode 'marker' needs marker"),
        ({"path": "/lake"}, {"mode": "marker", "marker": "{day}/_SUCCESS"}, "unknown placeholder 'day'"),
        ({"path": "/lake"}, {"mode": "lateness"}, "needs a lateness greater than 0s"),
        (
            {"type": "sql", "conn_id": "c", "table": "t"},
            {"mode": "marker", "marker": "x"},
            "needs a lake source",
        ),
    ],
)
def test_completeness_mistakes_are_named(
    source: dict[str, Any], completeness: dict[str, Any], message: str
) -> None:
    assert message in problems(valid(source=source, completeness=completeness))
