"""Event sources: where the events of a window are read from."""

from __future__ import annotations

import pyarrow.fs as pafs

from airflow_export_provider.engine.sources.base import EventSource, SourceStats
from airflow_export_provider.engine.sources.lake import LakeSource, utc_day
from airflow_export_provider.engine.windows import WindowGrid
from airflow_export_provider.spec import LakeSourceSpec, SqlSourceSpec

__all__ = ["EventSource", "LakeSource", "SourceStats", "source_for"]


def source_for(spec: LakeSourceSpec | SqlSourceSpec, grid: WindowGrid | None = None) -> EventSource:
    """The source a spec describes, opened through Airflow connections.

    :param grid: the export's window grid; a lake uses it to tell rows filed under a
        ``date=`` folder that no window reading it covers (default: windows within UTC days).
    """
    if isinstance(spec, SqlSourceSpec):
        from airflow_export_provider.engine.sources.sql import SqlSource

        return SqlSource(spec)
    if spec.is_s3:
        from airflow_export_provider.hooks.lake import EventLakeHook

        filesystem: pafs.FileSystem = EventLakeHook(aws_conn_id=spec.aws_conn_id).filesystem()
        root = spec.path.removeprefix("s3://")
    else:
        filesystem, root = pafs.LocalFileSystem(), spec.path
    return LakeSource(
        filesystem,
        root,
        file_format=spec.file_format,
        batch_size=spec.batch_size,
        time_column=spec.event_time.column,
        time_unit=spec.event_time.unit,
        rejected_rows=spec.rejected_rows.model_dump(),
        reach=grid.reach_of_utc_day if grid is not None else utc_day,
    )
