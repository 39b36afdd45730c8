"""Event sources: where the events of a window are read from (a lake of files, or SQL)."""

from __future__ import annotations

from airflow_export_provider.engine.sources.base import EventSource, SourceStats
from airflow_export_provider.engine.sources.lake import LakeSource

__all__ = ["EventSource", "LakeSource", "SourceStats"]
