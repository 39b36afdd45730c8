"""The Airflow plugin of this provider (entry point ``airflow.plugins``).

Airflow loads ``airflow.plugins`` entry points in every process (scheduler, DAG processor,
API server, workers), unlike a provider's ``plugins`` info, which is only honoured with
``lazy_discover_providers=False``. Anything every process must resolve by class path,
such as the export timetable, is registered here; without it the scheduler refuses the
DAG with ``TimetableNotRegistered``. The listeners (run notes, pausing a stopped
export) must run in the scheduler, which is where Airflow calls ``on_dag_run_*``. The
Export center (``ui/``) is a FastAPI app the API server mounts, with an entry in the UI's
navigation.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_export_provider.listeners import run_notes, stopped_exports
from airflow_export_provider.timetables import GridWindowTimetable
from airflow_export_provider.ui import URL_PREFIX


class _ExportCenterApp:
    """The Export center's ASGI app, imported at its first request.

    Plugins are imported by every Airflow process, tasks included, while only the API
    server serves FastAPI apps; importing the app (and Airflow's API security) at plugin
    import would add about 1.8 s and 40 MB to every task's start.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_export_provider.ui.export_center import app

            self._app = app
        await self._app(scope, receive, send)


class ExportProviderPlugin(AirflowPlugin):
    name = "export_provider"
    timetables = [GridWindowTimetable]
    listeners = [run_notes, stopped_exports]
    fastapi_apps = [{"app": _ExportCenterApp(), "url_prefix": URL_PREFIX, "name": "Export center"}]
    # Airflow 3.1+ shows it in the navigation, inside the UI; older UIs ignore the entry.
    external_views = [
        {
            "name": "Export center",
            "href": "/export-center/",
            "destination": "nav",
            "url_route": "export-center",
        }
    ]
