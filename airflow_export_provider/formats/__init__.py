"""File formats: one module per encoder behind the :class:`RecordEncoder` protocol."""

from __future__ import annotations

from airflow_export_provider.formats.base import RecordEncoder, encoder_for

__all__ = ["RecordEncoder", "encoder_for"]
