"""The export timetable, registered for every Airflow process by :mod:`airflow_export_provider.plugin`."""

from airflow_export_provider.timetables.grid import GridWindowTimetable

__all__ = ["GridWindowTimetable"]
