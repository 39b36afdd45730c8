"""Is a window's data complete? The checks behind the ``wait_for_data`` task.

Late events after a window was exported are not lost: re-running the window (Clear in
the UI, a backfill with ``reprocess_behavior=completed``) rewrites the same keys with
what the source holds then, and removes parts it no longer writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow.fs as pafs

from airflow_export_provider.engine.sources.sql import close_quietly
from airflow_export_provider.engine.windows import Window, as_utc
from airflow_export_provider.spec import ExportSpec, LakeSourceSpec, SqlSourceSpec
from airflow_export_provider.spec.durations import describe_duration


@dataclass(frozen=True)
class Verdict:
    complete: bool
    reason: str


LakeOpener = Callable[[LakeSourceSpec], tuple[pafs.FileSystem, str]]
"""Opens a lake: its filesystem and the spec's path as that filesystem names it."""


def check_window(
    spec: ExportSpec,
    window: Window,
    *,
    open_lake: LakeOpener,
    connect_sql: Callable[[], Any],
    now: dt.datetime | None = None,
) -> Verdict:
    """Whether ``window`` may be exported now; ``open_lake``/``connect_sql`` reach the source."""
    settings = spec.completeness
    now = now or dt.datetime.now(dt.timezone.utc)
    ready_at = window.end + settings.lateness
    if now < ready_at:
        lateness = describe_duration(settings.lateness)
        return Verdict(False, f"waiting until {ready_at.isoformat()} (window end + lateness {lateness})")
    if settings.mode == "watermark":
        assert isinstance(spec.source, SqlSourceSpec) and settings.watermark_query
        watermark = _watermark(connect_sql(), settings.watermark_query)
        if watermark is None or watermark < window.end:
            return Verdict(
                False, f"source watermark {watermark} is before the window end {window.end.isoformat()}"
            )
        return Verdict(True, f"source watermark {watermark.isoformat()} has passed the window end")
    if settings.mode == "marker":
        assert isinstance(spec.source, LakeSourceSpec) and settings.marker
        path = marker_path(spec.source, settings.marker, window, spec.schedule.timezone)
        if not _exists(open_lake(spec.source), path):
            return Verdict(False, f"marker {path} does not exist yet")
        return Verdict(True, f"marker {path} exists")
    return Verdict(True, "the window end plus lateness has passed")


def marker_path(source: LakeSourceSpec, template: str, window: Window, timezone: str) -> str:
    local = window.start.in_timezone(timezone)
    name = template.format(
        date=local.format("YYYY-MM-DD"),
        window_start=window.start.format("YYYYMMDDTHHmmss"),
        window_end=window.end.format("YYYYMMDDTHHmmss"),
    )
    return f"{source.path.rstrip('/')}/{name.lstrip('/')}"


def _exists(lake: tuple[pafs.FileSystem, str], path: str) -> bool:
    filesystem, _ = lake
    return bool(filesystem.get_file_info(path.removeprefix("s3://")).type != pafs.FileType.NotFound)


def _watermark(connection: Any, query: str) -> dt.datetime | None:
    try:
        cursor = connection.cursor()
        cursor.execute(query)
        row = cursor.fetchone()
    finally:
        close_quietly(connection)
    value = row[0] if row else None
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"watermark_query must return a timestamp, it returned {type(value).__name__}")
    return as_utc(value)
