"""File formats: one module per encoder behind the :class:`RecordEncoder` protocol."""

from __future__ import annotations

from airflow_export_provider.engine.formats.base import (
    Preparation,
    RecordEncoder,
    encoder_for,
    preparation_for,
)

__all__ = ["Preparation", "RecordEncoder", "encoder_for", "preparation_for"]
