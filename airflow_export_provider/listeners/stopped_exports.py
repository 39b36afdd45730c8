"""Pause an export whose access check stopped it, from the scheduler, without a REST connection.

When access to the bucket is not fixed within the grace period, the access sensor marks
its task instance with :data:`STOP_XCOM_KEY` and fails for good. The scheduler calls
this listener when it marks the run failed; it pauses the DAG in the same transaction,
the way Airflow's own ``max_consecutive_failed_dag_runs`` pauses a DAG (``is_paused``
plus a ``paused`` entry in the audit log, owner ``export-provider``).

Why a listener and not ``max_consecutive_failed_dag_runs``: that option counts failed
runs of any cause, so an export would also pause after a window that failed its
retries for a bug, or after a person marked a run failed; only the stop should pause.
Why not the DAG's failure callback: in Airflow 3 it runs in the DAG processor, which has
no metadata-database access, so it can only pause through the REST API (the fallback,
:class:`~airflow_export_provider.sensors.bucket_access.PauseStoppedExport`, used when an
``airflow_api`` connection is configured and the plugin is not loaded in the scheduler).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.listeners import hookimpl

from airflow_export_provider.timetables import GridWindowTimetable

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

logger = logging.getLogger(__name__)

STOP_XCOM_KEY = "export_stopped"
"""XCom key the access sensor sets (to the stop's reason) on the try that stops the export."""

ACCESS_TASK_ID = "check_access"
PAUSED_BY = "export-provider"


@hookimpl
def on_dag_run_failed(dag_run: DagRun, msg: str) -> None:
    """Pause the export's DAG if this run failed because its access check stopped it."""
    if not isinstance(getattr(getattr(dag_run, "dag", None), "timetable", None), GridWindowTimetable):
        return
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:  # the scheduler's: the pause commits with the failed run
        pause_if_stopped(session, dag_run)
        return
    from airflow.utils.session import create_session

    with create_session() as own:  # a detached run (``dag.test()``): a transaction of its own
        pause_if_stopped(own, dag_run)


def pause_if_stopped(session: Any, dag_run: DagRun) -> None:
    reason = stop_reason(session, dag_run)
    if reason is not None:
        pause(session, dag_run.dag_id, reason)


def stop_reason(session: Any, dag_run: DagRun) -> str | None:
    """The reason the access sensor recorded when it stopped this run, if it did."""
    from airflow_export_provider.metadata_xcom import stored_xcom

    reason = stored_xcom(
        session, dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=ACCESS_TASK_ID, key=STOP_XCOM_KEY
    )
    return None if reason is None else str(reason)


def pause(session: Any, dag_id: str, reason: str) -> None:
    """Set ``is_paused`` and write the audit-log entry, as Airflow does when it pauses a DAG."""
    from airflow.models.dag import DagModel
    from airflow.models.log import Log
    from sqlalchemy import update

    session.execute(
        update(DagModel)
        .where(DagModel.dag_id == dag_id)
        .values(is_paused=True)
        .execution_options(synchronize_session="fetch")
    )
    session.add(Log(event="paused", dag_id=dag_id, owner=PAUSED_BY, extra=f"export stopped: {reason}"))
    logger.warning("export %s stopped (%s); its DAG is paused", dag_id, reason)
