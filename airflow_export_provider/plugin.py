"""The Airflow plugin of this provider (entry point ``airflow.plugins``).

Airflow loads ``airflow.plugins`` entry points in every process (scheduler, DAG processor,
API server, workers), unlike a provider's ``plugins`` info, which is only honoured with
``lazy_discover_providers=False``. Anything every process must resolve by class path,
such as the export timetable, is registered here; without it the scheduler refuses the
DAG with ``TimetableNotRegistered``. The run-notes listener must run in the scheduler,
which is where Airflow calls ``on_dag_run_running``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_export_provider.listeners import run_notes
from airflow_export_provider.timetables import GridWindowTimetable


class ExportProviderPlugin(AirflowPlugin):
    name = "export_provider"
    timetables = [GridWindowTimetable]
    listeners = [run_notes]
