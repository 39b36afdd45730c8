"""Deprecated: :mod:`airflow_export_provider.dags` (``load_export_dags``, ``export_timetable``)."""

from __future__ import annotations

from airflow_export_provider.deprecations import moved_module

__getattr__ = moved_module(__name__, "airflow_export_provider.dags")
