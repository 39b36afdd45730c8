"""ExportSpec → DAG, and the loader that turns a folder of YAML definitions into DAGs.

Airflow only parses Python files, so drop-in YAML exports need one small DAG file next
to them that calls :func:`load_export_dags` (see ``example_dags/exports_from_yaml.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pendulum
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.operators.export import EventExportOperator
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import DAG

logger = logging.getLogger(__name__)


def export_timetable(spec: ExportSpec) -> CronDataIntervalTimetable:
    """Runs whose data interval is one grid window: every N hours from local midnight."""
    every = spec.window.every
    hours = "0" if every == 24 else f"*/{every}"
    return CronDataIntervalTimetable(f"0 {hours} * * *", timezone=pendulum.timezone(spec.window.timezone))


def build_export_dag(spec: ExportSpec, **dag_kwargs: Any) -> DAG:
    """One DAG per export, ``export__<export_id>``; its runs are the export's windows.

    Runs are sequential (``max_active_runs=1``) so files arrive in window order; retries
    are Airflow's. Extra keyword arguments go to the DAG (e.g. ``default_args``, ``tags``).
    """
    start = spec.window.start_date
    options: dict[str, Any] = {
        "dag_id": spec.dag_id,
        "schedule": export_timetable(spec),
        "start_date": pendulum.datetime(start.year, start.month, start.day, tz=spec.window.timezone),
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["export", f"account:{spec.account_id}"],
        "description": spec.description or f"Export {spec.export_id} to {_destination_label(spec)}",
        "doc_md": _doc(spec),
        "default_args": {"retries": 3, "retry_delay": dt.timedelta(minutes=5)},
    }
    options.update(dag_kwargs)
    with DAG(**options) as dag:
        EventExportOperator(task_id="export_window", spec=spec)
    return dag


def load_export_dags(
    folder: str | Path, namespace: MutableMapping[str, Any], *, strict: bool = True
) -> dict[str, DAG]:
    """Build a DAG for every ``*.yaml``/``*.yml`` export definition in ``folder``.

    With ``strict`` (the default) any invalid file makes this raise one
    :class:`ExportSpecError` naming every bad file and key: Airflow shows it as an import
    error of the calling DAG file, and no export of the folder runs with a definition
    nobody checked. With ``strict=True`` bad files are logged and skipped, so one broken
    drop-in does not stop the others; check them with ``airflow-export validate``.
    """
    folder = Path(folder)
    specs: list[ExportSpec] = []
    problems: list[str] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            specs.append(ExportSpec.from_yaml(path))
        except ExportSpecError as error:
            problems.extend(f"{path.name}: {problem}" for problem in error.problems)
    seen: dict[str, int] = {}
    for spec in specs:
        seen[spec.export_id] = seen.get(spec.export_id, 0) + 1
    problems.extend(
        f"export_id {eid!r} is used by {n} files; ids must be unique" for eid, n in seen.items() if n > 1
    )
    if problems and strict:
        raise ExportSpecError(problems, source=str(folder))
    for problem in problems:
        logger.error("skipping export definition: %s", problem)
    dags = {}
    for spec in specs:
        if seen[spec.export_id] == 1:
            dags[spec.dag_id] = namespace[spec.dag_id] = build_export_dag(spec)
    return dags


def _destination_label(spec: ExportSpec) -> str:
    destination = spec.destination
    root = f"s3://{destination.bucket}" if destination.type == "s3" else destination.path
    return f"{root}/{destination.prefix}".rstrip("/")


def _doc(spec: ExportSpec) -> str:
    return (
        f"### Export `{spec.export_id}`\n\n"
        f"- account: `{spec.account_id}`\n"
        f"- source: `{spec.source.path}` ({spec.source.file_format})\n"
        f"- destination: `{_destination_label(spec)}`\n"
        f"- format: {spec.format.type}, compression {spec.format.outer_compression}\n"
        f"- window: every {spec.window.every}h from midnight {spec.window.timezone}\n"
        f"- spec hash: `{spec.spec_hash}`\n"
    )
