"""Is a window's data complete? The checks behind the ``wait_for_data`` task.

Late events after a window was exported are not lost: re-running the window (Clear in
the UI, a backfill with ``reprocess_behavior=completed``) rewrites the same keys with
what the source holds then, and removes parts it no longer writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow.fs as pafs

from airflow_export_provider.engine.windows import Window
from airflow_export_provider.spec import ExportSpec, LakeSourceSpec, SqlSourceSpec


@dataclass(frozen=True)
class Verdict:
    complete: bool
    reason: str


def check_window(spec: ExportSpec, window: Window, now: dt.datetime | None = None) -> Verdict:
    settings = spec.completeness
    now = now or dt.datetime.now(dt.timezone.utc)
    ready_at = window.end + settings.lateness
    if now < ready_at:
        return Verdict(
            False, f"waiting until {ready_at.isoformat()} (window end + lateness {settings.lateness})"
        )
    if settings.mode == "watermark":
        assert isinstance(spec.source, SqlSourceSpec) and settings.watermark_query
        watermark = _watermark(spec.source, settings.watermark_query)
        if watermark is None or watermark < window.end:
            return Verdict(
                False, f"source watermark {watermark} is before the window end {window.end.isoformat()}"
            )
        return Verdict(True, f"source watermark {watermark.isoformat()} has passed the window end")
    if settings.mode == "marker":
        assert isinstance(spec.source, LakeSourceSpec) and settings.marker
        path = marker_path(spec.source, settings.marker, window, spec.schedule.timezone)
        if not _exists(spec.source, path):
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


def _exists(source: LakeSourceSpec, path: str) -> bool:
    if source.is_s3:
        from airflow_export_provider.hooks.lake import EventLakeHook

        filesystem: pafs.FileSystem = EventLakeHook(aws_conn_id=source.aws_conn_id).filesystem()
        path = path.removeprefix("s3://")
    else:
        filesystem = pafs.LocalFileSystem()
    return bool(filesystem.get_file_info(path).type != pafs.FileType.NotFound)


def _watermark(source: SqlSourceSpec, query: str) -> dt.datetime | None:
    from airflow_export_provider.engine.sources.sql import _close_quietly, _connection_of

    connection = _connection_of(source.conn_id)
    try:
        cursor = connection.cursor()
        cursor.execute(query)
        row = cursor.fetchone()
    finally:
        _close_quietly(connection)
    value = row[0] if row else None
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"watermark_query must return a timestamp, it returned {type(value).__name__}")
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
