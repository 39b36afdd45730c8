"""ExportSpec → DAG, and the loader that turns a folder of YAML definitions into DAGs.

Airflow only parses Python files, so drop-in YAML exports need one small DAG file next
to them that calls :func:`load_export_dags` (see ``example_dags/exports_from_yaml.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pendulum

from airflow_export_provider.assets import export_asset
from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.listeners.run_notes import ONE_TIME_TAG
from airflow_export_provider.notifications.alerts import notifiers_for, run_callbacks
from airflow_export_provider.notifications.late import deadline_alert
from airflow_export_provider.operators.export import EventExportOperator
from airflow_export_provider.operators.invalid_definition import InvalidDefinitionOperator
from airflow_export_provider.operators.one_time import OneTimeReportOperator, PlanWindowsOperator
from airflow_export_provider.operators.shards import (
    CommitShardsOperator,
    ExportShardOperator,
    PlanShardsOperator,
)
from airflow_export_provider.sensors.bucket_access import BucketAccessSensor, PauseStoppedExport, notifier_hub
from airflow_export_provider.sensors.window_complete import WindowCompleteSensor
from airflow_export_provider.spec import ExportSpec, describe_duration
from airflow_export_provider.timetables import GridWindowTimetable
from airflow_export_provider.ui.facts import facts_block
from airflow_export_provider.version_compat import DAG, BaseOperator, Param, ParamsDict

logger = logging.getLogger(__name__)


def export_timetable(spec: ExportSpec) -> GridWindowTimetable:
    """Runs whose data interval is one grid window: every N hours from local midnight."""
    schedule = spec.schedule
    return GridWindowTimetable(schedule.every, schedule.timezone, schedule.delay)


def build_export_dag(spec: ExportSpec, **dag_kwargs: Any) -> DAG:
    """The recurring export, ``export__<export_id>``: one run per grid window, in order.

    Runs are sequential (``max_active_runs=1``) and a failed window retries every
    ``retry_delay`` (unlimited by default), so later windows wait instead of overtaking and
    files arrive in window order. ``catchup=False`` only decides the first run (today from
    midnight, see :mod:`~airflow_export_provider.timetables.grid`); after a pause the
    timetable catches up every missed window. Extra keyword arguments go to the DAG.
    """
    options: dict[str, Any] = {
        "dag_id": spec.dag_id,
        "schedule": export_timetable(spec),
        "start_date": _start_date(spec),
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["export", f"account:{spec.account_id}"],
        "description": spec.description or f"Export {spec.export_id} to {_destination_label(spec)}",
        "doc_md": _doc(spec),
        "default_args": _retry_policy(spec),
    }
    if spec.access.check and spec.destination.type == "s3":
        options["on_failure_callback"] = PauseStoppedExport(spec.dag_id, spec.access.airflow_api_conn_id)
    deadline = deadline_alert(spec)
    if deadline is not None:
        options["deadline"] = deadline
    options.update(dag_kwargs)
    with DAG(**options) as dag:
        export = _window_tasks(spec)
        check = _access_check(spec)
        if check is not None:
            check >> export
        if spec.completeness.mode != "none":
            (
                WindowCompleteSensor(
                    task_id="wait_for_data", spec=spec, **run_callbacks(spec, started=False, completed=False)
                )
                >> export
            )
        if spec.schedule.include_history and spec.one_time.enabled:
            from airflow_export_provider.operators.history import StartHistoryOperator  # see its module

            StartHistoryOperator(task_id="start_history", spec=spec, retries=3)
    return dag


def _window_tasks(spec: ExportSpec) -> BaseOperator:
    """The tasks that export the run's window: ``export_window``, or with ``shards`` > 1
    ``plan_window`` → ``export_shard`` (N mapped tasks) → ``commit_window`` (``engine/shards.py``).

    Returns what the checks before the export point at (the first task); the started alert
    goes with the first task, the completed one with the task that publishes.
    """
    if spec.shards == 1:
        return EventExportOperator(
            task_id="export_window", spec=spec, outlets=[export_asset(spec)], **run_callbacks(spec)
        )
    plan = PlanShardsOperator(task_id="plan_window", spec=spec, **run_callbacks(spec, completed=False))
    shards = ExportShardOperator.partial(
        task_id="export_shard", spec=spec, plans=plan.output,
        **run_callbacks(spec, started=False, completed=False),
    ).expand(shard=list(range(spec.shards)))  # fmt: skip
    commit = CommitShardsOperator(
        task_id="commit_window", spec=spec, plans=plan.output, outlets=[export_asset(spec)],
        **run_callbacks(spec, started=False),
    )  # fmt: skip
    plan >> shards >> commit
    return plan


def build_one_time_dag(spec: ExportSpec, **dag_kwargs: Any) -> DAG:
    """The one-time export, ``export__<export_id>__one_time``: a chosen range, once, in parallel.

    Triggered from the UI's Trigger form (date pickers for ``start`` and ``end``) or the
    REST API. It never runs on its own (``schedule=None``), so it is created unpaused:
    a history run started by the recurring DAG must not wait for someone to unpause it.
    Its runs are one at a time so two ranges never write the same window concurrently;
    inside a run, days export in parallel up to ``one_time.concurrency``.
    """
    zone = spec.schedule.timezone
    options: dict[str, Any] = {
        "dag_id": spec.one_time_dag_id,
        "schedule": None,
        "start_date": _start_date(spec),
        "max_active_runs": 1,
        "is_paused_upon_creation": False,
        "tags": ["export", ONE_TIME_TAG, f"account:{spec.account_id}"],
        "description": f"One-time export of {spec.export_id} over a date range ({zone})",
        "doc_md": _doc(spec) + _ONE_TIME_DOC.format(max_days=spec.one_time.max_days_back, zone=zone),
        "default_args": _retry_policy(spec),
        "params": {
            "start": Param(
                None,
                type=["null", "string"],
                format="date",
                title="First day",
                description=f"First day to export (local date in {zone}). "
                "The Logical date above is not used: these two days decide what is exported.",
            ),
            "end": Param(
                None,
                type=["null", "string"],
                format="date",
                title="Last day",
                description=f"Last day to export, inclusive (local date in {zone}); "
                "windows that have not closed yet are left to the recurring export.",
            ),
            "allow_fewer_records": Param(
                False,
                type="boolean",
                title="Allow fewer records",
                description="Re-export windows even where the source now has fewer events than "
                "was delivered (e.g. after deleting users' events). Off: such a window fails and "
                "its delivered files stay as they are.",
            ),
        },
    }
    options.update(dag_kwargs)
    # The DAG's params are given after its tasks exist: a task created inside a DAG with
    # params keeps its own copy, which the DAG processor then validates and serialises
    # again (jsonschema, ~1.5 ms per task and param set: 7.8 ms of this DAG's 8 ms at a
    # thousand exports). At run time Airflow merges the DAG's params into every task's
    # anyway (``process_params``), so the copies add nothing.
    params = ParamsDict(options.pop("params"))
    with DAG(**options) as dag:
        plan = PlanWindowsOperator(
            task_id="plan_windows", spec=spec, start="{{ params.start }}", end="{{ params.end }}"
        )
        exports = EventExportOperator.partial(
            task_id="export_windows",
            spec=spec,
            instance_id=0,
            outlets=[export_asset(spec)],
            max_active_tis_per_dagrun=spec.one_time.concurrency,
            **run_callbacks(spec, completed=False),
        ).expand_kwargs(plan.output)
        report = OneTimeReportOperator(
            task_id="report", spec=spec, exports_task_id="export_windows",
            on_success_callback=notifiers_for(spec, "completed") or None,
        )  # fmt: skip
        exports >> report
        check = _access_check(spec)
        if check is not None:  # after planning: a wrong range fails at once, without waiting for access
            plan >> check >> exports
    dag.params = params
    return dag


def _access_check(spec: ExportSpec) -> BucketAccessSensor | None:
    """The first task of every run: wait until the bucket is usable (see ``sensors/bucket_access.py``)."""
    if not spec.access.check or spec.destination.type != "s3":
        return None
    return BucketAccessSensor(task_id="check_access", spec=spec, notify=notifier_hub(spec))


_ONE_TIME_DOC = """
#### One-time export

Trigger this DAG and pick **First day** and **Last day** (inclusive). The range may
start at most {max_days} days back; windows that have not closed yet are skipped (the
recurring export delivers them). Each day is exported by its own task, on the same
grid and with the same object keys as the recurring export, so re-exporting a range
replaces its files instead of duplicating them. Days are local dates in {zone}.

The form's **Logical date** plays no part: the two days decide what is exported, and
the run's note names the range (`One-time export from 2026-11-01 through 2026-11-15`).
"""


def _start_date(spec: ExportSpec) -> dt.datetime | None:
    start = spec.schedule.start_date
    if start is None:
        return None
    return pendulum.datetime(start.year, start.month, start.day, tz=spec.schedule.timezone)


def _retry_policy(spec: ExportSpec) -> dict[str, Any]:
    return {"retries": spec.schedule.airflow_retries, "retry_delay": spec.schedule.retry_delay}


def load_export_dags(
    folder: str | Path, namespace: MutableMapping[str, Any], *, strict: bool = False
) -> dict[str, DAG]:
    """Build the DAGs of every ``*.yaml``/``*.yml`` export definition in ``folder``.

    One bad file never hides the others: a definition that does not validate (or whose
    ``export_id`` another file also uses) becomes a placeholder DAG
    ``export__invalid__<file name>``, tagged ``invalid-definition``, whose description and
    doc show what is wrong and whose only task fails with it; every valid definition gets
    its DAGs as usual. With ``strict=True`` any bad file instead makes this raise one
    :class:`ExportSpecError` naming every bad file and key, which Airflow shows as an import
    error of the calling DAG file, and no export of the folder runs.
    """
    folder = Path(folder)
    specs: dict[Path, ExportSpec] = {}
    broken: dict[Path, list[str]] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            specs[path] = ExportSpec.from_yaml(path)
        except ExportSpecError as error:
            broken[path] = error.problems
    owners: dict[str, list[Path]] = {}
    for path, spec in specs.items():
        owners.setdefault(spec.export_id, []).append(path)
    for export_id, paths in owners.items():
        if len(paths) > 1:
            names = ", ".join(path.name for path in paths)
            for path in paths:
                del specs[path]
                broken[path] = [
                    f"export_id {export_id!r} is used by {len(paths)} files ({names}); ids must be unique"
                ]
    for path, spec in list(specs.items()):
        problem = local_destination_problem(spec)
        if problem is not None:
            del specs[path]
            broken[path] = [problem]
    if broken and strict:
        problems = [f"{path.name}: {problem}" for path, found in sorted(broken.items()) for problem in found]
        raise ExportSpecError(problems, source=str(folder))
    dags: dict[str, DAG] = {}
    for path, problems in sorted(broken.items()):
        logger.error("invalid export definition %s:\n%s", path, "\n".join(f"  - {p}" for p in problems))
        placeholder = build_invalid_definition_dag(path, problems)
        dags[placeholder.dag_id] = namespace[placeholder.dag_id] = placeholder
    for spec in specs.values():
        dags[spec.dag_id] = namespace[spec.dag_id] = build_export_dag(spec)
        if spec.one_time.enabled:
            dags[spec.one_time_dag_id] = namespace[spec.one_time_dag_id] = build_one_time_dag(spec)
    return dags


INVALID_DAG_PREFIX = "export__invalid__"
SINGLE_MACHINE_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})


def local_destination_problem(spec: ExportSpec, executors: str | None = None) -> str | None:
    """Why a ``local`` destination cannot work on this deployment's executor, or ``None``.

    Under Celery, Kubernetes or Edge every task may run on another machine: each window's
    files would land on whichever worker ran it, and a re-run on another worker would not
    see the window it replaces. Refused unless ``destination.shared: true`` says the path
    is a mount every worker shares. ``executors`` is ``[core] executor`` (read when omitted).
    """
    destination = spec.destination
    if destination.type != "local" or destination.shared:
        return None
    if executors is None:
        from airflow.configuration import conf

        executors = conf.get("core", "executor", fallback="LocalExecutor")
    # Entries are class names, module paths or ``alias:path``; the class name decides.
    names = [entry.split(":")[-1].rsplit(".", 1)[-1].strip() for entry in executors.split(",")]
    distributed = [name for name in names if name and name not in SINGLE_MACHINE_EXECUTORS]
    if not distributed:
        return None
    return (
        f"destination.type 'local' writes to the disk of whichever worker runs a window, and this "
        f"Airflow runs tasks with {', '.join(distributed)} (workers on other machines): use an s3 "
        f"destination, or set destination.shared: true if {destination.path} is a folder every "
        "worker mounts"
    )


def build_invalid_definition_dag(path: Path, problems: list[str]) -> DAG:
    """A DAG that shows, in the UI's DAG list and docs, which definition file is broken and why."""
    listing = "\n".join(f"- {problem}" for problem in problems)
    with DAG(
        dag_id=INVALID_DAG_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)[:200],
        schedule=None,
        tags=["export", "invalid-definition"],
        description=f"INVALID export definition {path.name}: {problems[0]}"[:1000],
        doc_md=(
            f"### Invalid export definition `{path.name}`\n\n`{path}` does not validate, so its "
            f"export does not run:\n\n{listing}\n\nFix the file (`airflow-export validate "
            f"{path.name}` checks it); the export's own DAGs then replace this one. The other "
            "definitions of the folder are not affected."
        ),
    ) as dag:
        InvalidDefinitionOperator(
            task_id="report_invalid_definition", definition=str(path), problems=problems
        )
    return dag


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
        f"- schedule: {spec.schedule.description}; retries: {spec.schedule.retries}, "
        f"every {describe_duration(spec.schedule.retry_delay)}\n"
        f"- spec hash: `{spec.spec_hash}`\n" + facts_block(spec)
    )
