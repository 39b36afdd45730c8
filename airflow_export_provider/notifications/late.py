"""``late``: a scheduled window not delivered ``alerts.deadline`` after it closed.

Airflow's Deadline Alerts (3.1+) watch each run: when a run of the export DAG has not
finished by its window's end plus the deadline, the scheduler queues this callback, which
runs in the triggerer and sends ``late`` through the export's notifiers. Only scheduled
runs are judged: a backfill or a re-run of an old window is late by definition and would
otherwise alert on every run. Amplitude, for one, promises each hour within an hour.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from types import SimpleNamespace
from typing import Any

logger = logging.getLogger(__name__)


def deadline_alert(spec: Any) -> Any | None:
    """The DAG's ``deadline`` for ``alerts.deadline``, or ``None`` (not set, or Airflow before 3.1)."""
    if spec.alerts.deadline is None:
        return None
    try:
        from airflow.sdk.definitions.callback import AsyncCallback
        from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference
    except ImportError:  # Airflow 3.0: no Deadline Alerts
        logger.warning("alerts.deadline needs Airflow 3.1+; %s sends no 'late' alerts", spec.export_id)
        return None
    # The run's logical date is its window's start; the window closes ``every`` hours later.
    interval = dt.timedelta(hours=spec.schedule.every) + spec.alerts.deadline
    callback = AsyncCallback(f"{__name__}.window_late", kwargs={"spec": spec.model_dump(mode="json")})
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE, interval=interval, callback=callback
    )


async def window_late(*, spec: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Send ``late`` for the run in ``context`` (the scheduler's view of the run), if it is scheduled."""
    from airflow_export_provider.notifications.alerts import notifiers_for
    from airflow_export_provider.spec import ExportSpec

    export = ExportSpec.from_mapping(spec)
    run = context.get("dag_run") or {}
    if run.get("run_type") != "scheduled":
        logger.info(
            "run %s is %s, not scheduled: no 'late' alert", run.get("dag_run_id"), run.get("run_type")
        )
        return
    alert_context = late_context(run)
    for notifier in notifiers_for(export, "late"):
        await asyncio.to_thread(notifier, alert_context)


def late_context(run: dict[str, Any]) -> dict[str, Any]:
    """What the notifiers read from a task's context, built from the run's REST view."""
    start, end = (_moment(run.get(name)) for name in ("data_interval_start", "data_interval_end"))
    dag_run = SimpleNamespace(dag_id=run.get("dag_id"), run_id=run.get("dag_run_id"), start_date=None)
    ti = SimpleNamespace(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id="", map_index=-1, try_number=1)
    return {"dag_run": dag_run, "ti": ti, "data_interval_start": start, "data_interval_end": end}


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
