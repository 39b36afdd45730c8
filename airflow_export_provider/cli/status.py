"""Export status from Airflow's states: what ``airflow-export status`` and the docs call each run.

=========================  ==========================================================
export status              Airflow states
=========================  ==========================================================
pending                    the run is queued, or its tasks are not started yet
waiting_for_access         ``check_access`` is deferred or up for reschedule
running                    ``export_window`` (or ``check_access``) is running, or up for retry
done                       the run succeeded (its manifest is written)
stopped                    the run failed in ``check_access``: access was not fixed in time
failed                     the run failed in ``export_window``, retries exhausted
gap                        a failed window older than a delivered one: readers miss it
                           until a re-run (Clear, backfill, one-time export) delivers it
=========================  ==========================================================

The export itself is *active* or *paused* (a stop pauses the DAG; so may a person).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow_export_provider.hooks.airflow_api import AirflowApi, AirflowApiError

NAME = "status"
HELP = "the export's latest runs and their status, from the Airflow API"
EXAMPLE = "airflow-export status exports/daily.yaml --limit 5"

WAITING_STATES = {"deferred", "up_for_reschedule"}
# The tasks that export a window: one task, a one-time range's, a sharded window's (any running counts).
WINDOW_TASKS = ("export_window", "export_windows", "plan_window", "export_shard", "commit_window")


def run_status(run_state: str, task_states: Mapping[str, str | None]) -> str:
    check = task_states.get("check_access")
    exporting = any(
        task_states.get(task) in ("running", "up_for_retry", "restarting", "deferred")
        for task in WINDOW_TASKS
    )
    if run_state == "success":
        return "done"
    if run_state == "failed":
        return "stopped" if check == "failed" else "failed"
    if check in WAITING_STATES:
        return "waiting_for_access"
    if exporting or check == "running":
        return "running"
    return "pending"


@dataclass(frozen=True)
class RunRow:
    run_id: str
    window_start: str | None
    window_end: str | None
    status: str
    records: int | None


def recent_runs(api: AirflowApi, dag_id: str, limit: int = 10) -> tuple[bool, list[RunRow]]:
    """Whether the DAG is paused, and its latest runs (newest first) with their export status."""
    dag = api.request("GET", f"/api/v2/dags/{quote(dag_id)}")
    runs = api.request("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns?order_by=-run_after&limit={limit}")
    rows = []
    for run in runs.get("dag_runs", []):
        run_id = run["dag_run_id"]
        tis = api.request("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances")
        states = {ti["task_id"]: ti.get("state") for ti in tis.get("task_instances", [])}
        status = run_status(run.get("state") or "", states)
        rows.append(RunRow(run_id, run.get("data_interval_start"), run.get("data_interval_end"), status,
                           _records(api, dag_id, run_id) if status == "done" else None))  # fmt: skip
    return bool(dag.get("is_paused")), mark_gaps(rows)


def mark_gaps(rows: list[RunRow]) -> list[RunRow]:
    """Failed windows that a later window was delivered after (rows newest first) are gaps."""
    latest_done = max((row.window_start or "" for row in rows if row.status == "done"), default=None)
    return [
        RunRow(row.run_id, row.window_start, row.window_end, "gap", row.records)
        if row.status == "failed" and latest_done is not None and (row.window_start or "") < latest_done
        else row
        for row in rows
    ]


RESULT_TASKS = ("export_window", "commit_window", "report")
"""Where a run's numbers are: the recurring export's task, or the one-time run's last task."""


def _records(api: AirflowApi, dag_id: str, run_id: str) -> int | None:
    for task_id in RESULT_TASKS:
        path = (f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{task_id}"
                "/xcomEntries/return_value")  # fmt: skip
        try:
            value: Any = api.request("GET", path).get("value")
        except AirflowApiError:
            continue
        if isinstance(value, str):
            import json

            value = json.loads(value)
        if isinstance(value, dict):
            return value.get("records")
    return None


def render(dag_id: str, paused: bool, rows: list[RunRow]) -> str:
    lines = [
        f"{dag_id}: {'paused' if paused else 'active'}",
        f"  {'window start':<26} {'status':<24} {'records':>9}  run",
    ]
    for row in rows:
        records = f"{row.records:,}" if row.records is not None else "-"
        lines.append(f"  {row.window_start or '-':<26} {row.status:<24} {records:>9}  {row.run_id}")
    if not rows:
        lines.append("  (no runs yet)")
    return "\n".join(lines) + "\n"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.cli.connections import (
        env_name,
        expose_connections,
        load_spec_with_connections,
    )
    from airflow_export_provider.hooks.airflow_api import AirflowApi

    spec = load_spec_with_connections(args.spec, for_api=True)
    if args.api_conn_id and env_name(args.api_conn_id) not in os.environ:
        expose_connections([args.api_conn_id])
    api = AirflowApi.from_connection(args.api_conn_id or spec.access.airflow_api_conn_id)
    for dag_id in (spec.dag_id, spec.one_time_dag_id) if spec.one_time.enabled else (spec.dag_id,):
        paused, rows = recent_runs(api, dag_id, args.limit)
        sys.stdout.write(render(dag_id, paused, rows))
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the export definition (YAML)")
    parser.add_argument("--limit", type=int, default=10, help="runs to show per DAG (default 10)")
    parser.add_argument(
        "--api-conn-id", help="http connection to the API server (default: access.airflow_api_conn_id)"
    )
