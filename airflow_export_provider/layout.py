"""Deprecated: :mod:`airflow_export_provider.engine.keys` (``decode_event_name``, object keys)."""

from __future__ import annotations

from airflow_export_provider.deprecations import moved_module

__getattr__ = moved_module(__name__, "airflow_export_provider.engine.keys")
