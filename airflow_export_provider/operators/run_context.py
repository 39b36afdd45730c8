"""What a window task reads from its Airflow run: its windows, the run's permission to shrink a
window, and how to name the task to another run that waits for the window.

Shared by the one-task export (``operators/export.py``) and the sharded one
(``operators/shards.py``), so both cut a run into the same grid windows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_export_provider.engine.windows import Window, parse_moment
from airflow_export_provider.exceptions import WindowError
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import Context

if TYPE_CHECKING:
    from airflow_export_provider.engine.run import WindowResult


def windows_of_run(
    spec: ExportSpec, context: Context, window_start: str | None = None, window_end: str | None = None
) -> list[Window]:
    """The grid windows of the run's data interval (or of ``window_start``/``window_end``)."""
    timezone = spec.schedule.timezone
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if window_start is not None and window_end is not None:
        start, end = parse_moment(window_start, timezone), parse_moment(window_end, timezone)
    if start is None or end is None or start == end:
        raise WindowError(
            "this run has no data interval to export (a zero-width cron interval or an "
            "asset-triggered run); schedule the DAG with the export's timetable or pass "
            "window_start and window_end"
        )
    return spec.schedule.grid.windows(start, end)


def allowed_fewer_by_run(context: Context) -> bool:
    """``allow_fewer_records`` from the run's conf or the Trigger form's params (a bool or its text)."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    params = context.get("params") or {}
    value = conf.get("allow_fewer_records", params.get("allow_fewer_records", False))
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def run_label(context: Context) -> str:
    """The task instance in Airflow's words, shown to another run that waits for this window."""
    ti = context.get("ti")
    run_id = getattr(context.get("dag_run"), "run_id", "?")
    label = f"task {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} of run {run_id}"
    map_index = getattr(ti, "map_index", -1)
    return label + (f"[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else "")


def record_committed_windows(
    spec: ExportSpec, outlets: Any, context: Context, results: list[WindowResult], instance_id: int
) -> None:
    """The committed windows as the event of the export's asset, if the task declares it (``assets.py``)."""
    from airflow_export_provider.assets import export_asset, record_asset_events

    asset = export_asset(spec)
    if any(getattr(outlet, "name", None) == asset.name for outlet in outlets or ()):
        record_asset_events(spec, results, context["outlet_events"], instance_id)


def export_summary(spec: ExportSpec, results: list[WindowResult]) -> dict[str, Any]:
    """A window task's XCom: what the Export center, ``airflow-export status`` and the report read."""
    return {
        "export_id": spec.export_id,
        "windows": [result.summary() for result in results],
        "files": sum(len(result.files) for result in results),
        "records": sum(result.records for result in results),
        "bytes": sum(result.bytes for result in results),
    }
