"""Every export and its recent windows, read from Airflow's metadata database (API server side).

Statuses are the words commercial export centers use: an export is **Pending** (no run
yet), **Running** (its schedule is active), **Waiting for access** (its latest run waits
in ``check_access``) or **Stopped** (paused: by the access grace period or a person); a
one-time run is **Running**, **Done** or **Failed**. Windows are *delivered*, *running*,
*failing* (retrying), *waiting for access*, *pending*, *failed*, *stopped* (access was not
fixed in time) or *gap* (failed and older than a delivered window, see
docs/access-and-alerts.md#no-silent-gaps).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from airflow_export_provider.cli.status import RESULT_TASKS, RunRow, mark_gaps, run_status
from airflow_export_provider.ui.facts import read_facts

WINDOW_WORDS = {
    "done": "delivered",
    "running": "running",
    "pending": "pending",
    "waiting_for_access": "waiting for access",
    "failed": "failed",
    "stopped": "stopped",
    "gap": "gap",
}


@dataclass
class WindowState:
    run_id: str
    start: str | None
    end: str | None
    state: str
    records: int | None = None


@dataclass
class ExportRow:
    dag_id: str
    facts: dict[str, Any]
    status: str
    paused: bool
    next_window: str | None
    last_delivered: dict[str, Any] | None
    alerts: list[str] = field(default_factory=list)
    windows: list[WindowState] = field(default_factory=list)
    one_time: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id, **self.facts, "status": self.status, "paused": self.paused,
            "next_window": self.next_window, "last_delivered": self.last_delivered, "alerts": self.alerts,
            "windows": [vars(window) for window in self.windows], "one_time": self.one_time,
        }  # fmt: skip


def export_rows(allowed: set[str] | None, windows: int = 42) -> list[ExportRow]:
    """One row per export DAG the user may read (``allowed``; None: all), with its latest ``windows``."""
    from airflow.models.dag import DagModel
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    rows = []
    with create_session() as session:
        dags = session.scalars(
            select(DagModel).where(DagModel.dag_id.like("export\\_\\_%", escape="\\"), ~DagModel.is_stale)
        ).all()
        for dag in sorted(dags, key=lambda d: d.dag_id):
            if allowed is not None and dag.dag_id not in allowed:
                continue
            if dag.dag_id.endswith(("__one_time", "__consumer")) or dag.dag_id.startswith(
                "export__invalid__"
            ):
                continue
            serialized = SerializedDagModel.get_dag(dag.dag_id, session=session)
            facts = read_facts(getattr(serialized, "doc_md", None))
            if facts is None:
                continue
            rows.append(_row(session, dag, facts, windows))
    return rows


def _row(session: Any, dag: Any, facts: dict[str, Any], limit: int) -> ExportRow:
    windows = _windows(session, dag.dag_id, limit)
    delivered = next((w for w in windows if w.state == "delivered"), None)
    last = _result(session, dag.dag_id, delivered.run_id) if delivered else None
    latest = windows[0] if windows else None
    if dag.is_paused:
        status = "Stopped"
    elif latest is not None and latest.state == "waiting for access":
        status = "Waiting for access"
    elif not windows:
        status = "Pending"
    else:
        status = "Running"
    alerts = [f"gap: window {_short(w.start)} was not delivered" for w in windows if w.state == "gap"]
    alerts += [
        f"{w.state}: window {_short(w.start)}"
        for w in windows
        if w.state in ("failing", "waiting for access")
    ]
    if latest is not None and latest.state == "failed":
        alerts.append(f"failed: window {_short(latest.start)}")
    if latest is not None and latest.state == "stopped":
        alerts.append(f"stopped: access was not fixed in time (window {_short(latest.start)})")
    one_time_id = facts.get("one_time_dag_id")
    next_start = dag.next_dagrun_data_interval_start
    return ExportRow(
        dag_id=dag.dag_id,
        facts=facts,
        status=status,
        paused=bool(dag.is_paused),
        next_window=next_start.isoformat() if isinstance(next_start, dt.datetime) else None,
        last_delivered=None if last is None or delivered is None else {**last, "run_id": delivered.run_id},
        alerts=alerts,
        windows=windows,
        one_time=_one_time(session, one_time_id) if one_time_id else None,
    )


def _windows(session: Any, dag_id: str, limit: int) -> list[WindowState]:
    """The latest ``limit`` windows that have runs, newest first (a week of 4-hour windows by default)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    runs = session.scalars(
        select(DagRun).where(DagRun.dag_id == dag_id, DagRun.data_interval_start.is_not(None))
        .order_by(DagRun.data_interval_start.desc(), DagRun.id.desc()).limit(2 * limit)
    ).all()  # fmt: skip
    states: dict[str, dict[str, str | None]] = {}
    for run_id, task_id, state in session.execute(
        select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id
        )
    ):
        states.setdefault(run_id, {})[task_id] = None if state is None else str(state)
    seen: set[Any] = set()
    rows = []
    for run in runs:
        if run.data_interval_start in seen:  # a reprocessed window: its newest run counts
            continue
        seen.add(run.data_interval_start)
        tasks = states.get(run.run_id, {})
        status = run_status(str(run.state or ""), tasks)
        if status == "running" and "up_for_retry" in tasks.values():
            status = "failing"
        rows.append(
            RunRow(run.run_id, _iso(run.data_interval_start), _iso(run.data_interval_end), status, None)
        )
    return [
        WindowState(row.run_id, row.window_start, row.window_end, WINDOW_WORDS.get(row.status, row.status))
        for row in mark_gaps(rows)[:limit]
    ]


def _result(session: Any, dag_id: str, run_id: str) -> dict[str, Any] | None:
    """The numbers the run's export task returned (records, files, bytes, the manifest)."""
    from airflow_export_provider.metadata_xcom import stored_xcom

    for task_id in RESULT_TASKS:
        value = stored_xcom(session, dag_id=dag_id, run_id=run_id, task_id=task_id, key="return_value")
        if isinstance(value, dict):
            windows = value.get("windows") or [{}]
            return {
                "records": value.get("records"), "files": value.get("files"), "bytes": value.get("bytes"),
                "manifest": windows[-1].get("manifest"), "manifest_key": windows[-1].get("manifest_key"),
                "window_start": windows[-1].get("window_start"), "window_end": windows[-1].get("window_end"),
            }  # fmt: skip
    return None


def _one_time(session: Any, dag_id: str) -> dict[str, Any] | None:
    """The latest one-time run: Running, Done or Failed, with its range and numbers."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    run = session.scalars(
        select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
    ).first()
    if run is None:
        return None
    state = str(run.state or "")
    words = {"success": "Done", "failed": "Failed", "queued": "Pending"}.get(state, "Running")
    result = _result(session, dag_id, run.run_id) if state == "success" else None
    conf = run.conf or {}
    return {"dag_id": dag_id, "run_id": run.run_id, "status": words, "start": conf.get("start"),
            "end": conf.get("end"), "records": (result or {}).get("records")}  # fmt: skip


def _short(moment: str | None) -> str:
    return "?" if not moment else moment.replace("T", " ")[:16]


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else None


def read_manifest(facts: dict[str, Any], manifest_key: str) -> dict[str, Any]:
    """A delivered window's manifest, read through the export's own destination connection."""
    import json

    from pydantic import TypeAdapter

    from airflow_export_provider.hooks.connections import destination_for
    from airflow_export_provider.spec.destination import DestinationSpec

    destination = destination_for(TypeAdapter(DestinationSpec).validate_python(facts["destination_spec"]))
    data = destination.get_bytes(manifest_key)
    if data is None:
        raise FileNotFoundError(f"{destination.url(manifest_key)} is not there (re-exported or deleted?)")
    manifest: dict[str, Any] = json.loads(data)
    return manifest
