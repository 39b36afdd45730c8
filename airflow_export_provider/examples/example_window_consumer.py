"""Downstream of every export: a DAG that runs once per delivered window and loads it into DuckDB.

Copy this file next to ``exports_from_yaml.py``. For each definition in ``exports/`` it
builds ``export__<export_id>__consumer``, scheduled on the export's asset (its manifest
folder, see ``airflow_export_provider.assets``). Each delivered window is one asset
event whose ``extra`` names the window, its manifest and its numbers. On Airflow 3.2+ the
event's partition key is the window, and the consumer uses ``PartitionedAssetTimetable``
so it runs exactly once per window, even when a backfill delivers several at once
(a plain ``schedule=[asset]`` consumer is not triggered by partitioned events). Before
3.2 it is a plain asset schedule: one run may then see several windows, and it loads
each of them.

The task reads the window's manifest, loads every file it lists into DuckDB and checks
the loaded count against the manifest's totals. Replace the DuckDB part with your
warehouse's loader (``COPY INTO``, ``INSERT ... SELECT``); keep reading the file list
from the manifest, never from a bucket listing.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
from airflow.sdk import task

from airflow_export_provider.assets import export_asset
from airflow_export_provider.exceptions import ExportSpecError
from airflow_export_provider.hooks.connections import destination_for
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import DAG

try:  # Airflow 3.2+: one run per window (the event's partition key)
    from airflow.sdk import PartitionedAssetTimetable as _Partitioned

    partitioned: Any = _Partitioned
except ImportError:  # older Airflow: a plain asset schedule
    partitioned = None


def read_table(data: bytes, file_format: str) -> pa.Table:
    """One exported file as an Arrow table (XML has no Arrow reader: count its events)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if file_format == "parquet":
        return pq.read_table(io.BytesIO(data))
    if file_format == "csv":
        return pacsv.read_csv(io.BytesIO(data))
    if file_format == "jsonl":
        return pajson.read_json(io.BytesIO(data))
    import xml.etree.ElementTree as ET

    names = [event.findtext("eventName") for event in ET.fromstring(data).findall("Event")]
    return pa.table({"eventName": pa.array(names, pa.string())})


def load_window(spec: ExportSpec, delivered: dict[str, Any]) -> dict[str, Any]:
    """Load one delivered window into DuckDB; the manifest says which files and how many records."""
    import duckdb

    destination = destination_for(spec.destination)
    raw = destination.get_bytes(delivered["manifest_key"])
    if raw is None:
        raise FileNotFoundError(f"the manifest {delivered['manifest']} is gone; was the window re-exported?")
    manifest = json.loads(raw)
    connection = duckdb.connect()
    loaded = 0
    for entry in manifest["files"]:
        data = destination.get_bytes(entry["key"])
        if data is None:
            raise FileNotFoundError(f"{entry['key']} is listed in {delivered['manifest']} but missing")
        table = read_table(data, manifest["format"]["type"])
        connection.register("window_file", table)
        [(count,)] = connection.execute("SELECT count(*) FROM window_file").fetchall()
        loaded += count
        connection.unregister("window_file")
    if loaded != manifest["totals"]["records"]:
        raise ValueError(f"loaded {loaded:,} records, the manifest says {manifest['totals']['records']:,}")
    return {
        "window_start": delivered["window_start"],
        "window_end": delivered["window_end"],
        "records": loaded,
        "files": len(manifest["files"]),
    }


def windows_of(event: Any) -> list[dict[str, Any]]:
    """The windows an asset event delivered: its ``extra``, or (a one-time task's event) the
    entry of ``extra["windows"]`` its partition key names, or all of them before Airflow 3.2."""
    listed: list[dict[str, Any]] = event.extra.get("windows", [event.extra])
    key = getattr(event, "partition_key", None)
    if key is None or "windows" not in event.extra:
        return listed
    return [window for window in listed if f"{window['window_start']}/{window['window_end']}" == key]


def consumer_dag(spec: ExportSpec) -> DAG:
    asset = export_asset(spec)
    schedule: Any = partitioned(assets=asset) if partitioned is not None else [asset]
    with DAG(
        dag_id=f"{spec.dag_id}__consumer",
        schedule=schedule,
        start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
        catchup=False,
        tags=["export", "consumer", f"account:{spec.account_id}"],
        description=f"Loads each window {spec.export_id} delivers into DuckDB",
    ) as dag:

        @task
        def load_delivered_windows(*, triggering_asset_events: Any = None) -> list[dict[str, Any]]:
            events = triggering_asset_events[asset] if triggering_asset_events else []
            return [load_window(spec, window) for event in events for window in windows_of(event)]

        load_delivered_windows()
    return dag


for _definition in sorted((Path(__file__).parent / "exports").glob("*.y*ml")):
    try:
        _spec = ExportSpec.from_yaml(_definition)
    except ExportSpecError:
        continue  # the loader shows it as export__invalid__<file>
    globals()[f"{_spec.dag_id}__consumer"] = consumer_dag(_spec)
