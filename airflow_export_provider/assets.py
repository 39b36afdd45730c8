"""The Airflow asset of an export: one asset event per committed window, for downstream DAGs.

The asset is the export's manifest folder, ``s3://<bucket>/<prefix>/_manifests/<export_id>``
(the amazon provider's ``s3`` scheme): unlike the data prefix, which several exports may
share, it belongs to one export, and what a consumer needs first is the window's manifest.
Its name is the export's DAG id. Each event's ``extra`` names the window, its manifest and
its numbers; on Airflow 3.2+ the window (``<start>/<end>``, ISO 8601) is also the event's
partition key, so partition-aware consumers run once per window.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import Asset

if TYPE_CHECKING:  # the engine (pyarrow) is for the task that commits, not for parsing DAGs
    from airflow_export_provider.engine.run import WindowResult


def export_asset(spec: ExportSpec) -> Asset:
    """The asset a consumer DAG schedules on: ``schedule=[export_asset(spec)]``."""
    destination = spec.destination
    folder = "/".join(part for part in (destination.prefix, "_manifests", spec.export_id) if part)
    if destination.type == "s3":
        uri = f"s3://{destination.bucket}/{folder}"
    else:
        uri = (Path(destination.path).resolve() / folder).as_uri()
    return Asset(name=spec.dag_id, uri=uri, group="export")


def window_partition_key(result: WindowResult) -> str:
    """``2026-12-01T00:00:00+00:00/2026-12-02T00:00:00+00:00``: the window as an ISO 8601 interval."""
    return f"{result.window.start.isoformat()}/{result.window.end.isoformat()}"


def delivered_window(spec: ExportSpec, result: WindowResult, instance_id: int) -> dict[str, Any]:
    """The event's ``extra``: which window, where its manifest is, how much it holds."""
    from airflow_export_provider.engine.run import layout_for

    return {
        "export_id": spec.export_id,
        "window_start": result.window.start.isoformat(),
        "window_end": result.window.end.isoformat(),
        "manifest": result.manifest_url,
        "manifest_key": layout_for(spec, result.window, instance_id).manifest_key(),
        "records": result.records,
        "files": len(result.files),
        "bytes": result.bytes,
    }


def record_asset_events(
    spec: ExportSpec, results: Iterable[WindowResult], outlet_events: Any, instance_id: int
) -> None:
    """Attach the committed windows to the running task's event on the export's asset.

    A task of the recurring export commits one window: the event's ``extra`` is that
    window's facts. A one-time task commits several (a local day of windows): ``extra``
    lists them under ``windows``. On Airflow 3.2+ every window is also a partition key,
    and Airflow emits one event per key, so each window is an event of its own there.
    """
    accessor = outlet_events[export_asset(spec)]
    results = list(results)
    facts = [delivered_window(spec, result, instance_id) for result in results]
    accessor.extra = facts[0] if len(facts) == 1 else {"export_id": spec.export_id, "windows": facts}
    add_partitions = getattr(accessor, "add_partitions", None)  # Airflow 3.2+
    if add_partitions is not None:
        add_partitions([window_partition_key(result) for result in results])
