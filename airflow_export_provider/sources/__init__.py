"""Event sources: where the events of a window are read from."""

from __future__ import annotations

import pyarrow.fs as pafs

from airflow_export_provider.sources.base import EventSource, SourceStats
from airflow_export_provider.sources.lake import LakeSource
from airflow_export_provider.spec import LakeSourceSpec, SqlSourceSpec

__all__ = ["EventSource", "LakeSource", "SourceStats", "source_for"]


def source_for(spec: LakeSourceSpec | SqlSourceSpec) -> EventSource:
    """The source a spec describes, opened through Airflow connections."""
    if isinstance(spec, SqlSourceSpec):
        from airflow_export_provider.sources.sql import SqlSource

        return SqlSource(spec)
    if spec.is_s3:
        from airflow_export_provider.hooks.lake import EventLakeHook

        filesystem: pafs.FileSystem = EventLakeHook(aws_conn_id=spec.aws_conn_id).filesystem()
        root = spec.path.removeprefix("s3://")
    else:
        filesystem, root = pafs.LocalFileSystem(), spec.path
    return LakeSource(filesystem, root, file_format=spec.file_format, batch_size=spec.batch_size)
