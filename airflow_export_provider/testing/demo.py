"""``airflow-export demo``: a real export, end to end, on one machine with no AWS account.

Sample events go into an event lake kept in a loopback S3 API (moto); the example export
DAG (``example_dags/exports/demo_events.yaml``, embedded here as ``DEMO_SPEC_YAML``) runs
through Airflow for one day; then the objects written and the window's manifest are
printed and the record count is reconciled with the lake.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEMO_DAY = dt.date(2025, 3, 1)
DEMO_SPEC_YAML = """\
# The demo export: one day of sample events from an S3 event lake to an S3 bucket.
export_id: demo_events
account_id: acme
description: Sample product events, delivered daily as gzipped JSON Lines.
source:
  type: lake
  path: s3://demo-event-lake/events
  file_format: parquet
  aws_conn_id: aws_default
destination:
  type: s3
  aws_conn_id: aws_default
  bucket: demo-exports
  prefix: acme/product-events
  encryption:
    type: AES256
layout:
  folders: [data_type, date]
format:
  type: jsonl
  compression: gzip
schedule:
  every: 24h
  timezone: UTC
  start_date: 2025-03-01
"""
LOADER_DAG = """\
from pathlib import Path

from airflow_export_provider.dags import load_export_dags

load_export_dags(Path(__file__).parent / "exports", globals())
"""


def airflow_env(home: Path, dags_folder: Path, extra: dict[str, str]) -> dict[str, str]:
    """Environment for an isolated Airflow: own home, own SQLite DB, no example DAGs."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **extra,
        }
    )
    return env


def _airflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(airflow), *args], env=env, capture_output=True, text=True, check=False)


def run_demo(events_per_day: int = 200_000, keep: Path | None = None) -> int:
    from airflow_export_provider.testing.loopback_s3 import loopback_s3
    from airflow_export_provider.testing.sample_events import write_lake

    workdir = keep or Path(tempfile.mkdtemp(prefix="airflow-export-demo-"))
    dags = workdir / "dags"
    (dags / "exports").mkdir(parents=True, exist_ok=True)
    (dags / "exports" / "demo_events.yaml").write_text(DEMO_SPEC_YAML)
    (dags / "exports_from_yaml.py").write_text(LOADER_DAG)
    print(f"demo: working in {workdir}")

    with loopback_s3() as s3:
        print(f"demo: loopback S3 API at {s3.endpoint_url} (pid {s3.pid})")
        client: Any = s3.client()
        client.create_bucket(Bucket="demo-event-lake")
        client.create_bucket(Bucket="demo-exports")
        started = time.monotonic()
        lake_files = write_lake(workdir / "lake", DEMO_DAY, 1, events_per_day, hostile_names=False)
        for path in lake_files:
            key = "events/" + path.relative_to(workdir / "lake").as_posix()
            client.upload_file(str(path), "demo-event-lake", key)
        print(f"demo: wrote {events_per_day:,} sample events for {DEMO_DAY} to s3://demo-event-lake/events "
              f"in {time.monotonic() - started:.1f} s")  # fmt: skip

        env = airflow_env(workdir / "airflow", dags, {"AIRFLOW_CONN_AWS_DEFAULT": s3.connection_uri()})
        migrated = _airflow(["db", "migrate"], env)
        if migrated.returncode:
            print(migrated.stdout[-3000:], migrated.stderr[-3000:], sep="\n")
            return 1
        # A manual run with a logical date exports the grid window containing that date,
        # here the whole of DEMO_DAY (see docs/schedules.md).
        logical_date = DEMO_DAY.isoformat()
        print(f"demo: running DAG export__demo_events through Airflow (airflow dags test {logical_date}) ...")
        started = time.monotonic()
        ran = _airflow(["dags", "test", "export__demo_events", logical_date], env)
        seconds = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        output = ran.stdout + ran.stderr
        for line in output.splitlines():
            if "window [" in line:
                message = "window [" + line.split("window [", 1)[1].split(" [airflow.task", 1)[0]
                print(f"  task log: {message}")
        if ran.returncode:
            print(output[-6000:])
            print(f"demo: the DAG run failed (exit {ran.returncode}); full output above")
            return 1
        return _report(client, events_per_day, seconds, peak_mb)


def _report(client: Any, events: int, seconds: float, peak_mb: float) -> int:
    listed = client.list_objects_v2(Bucket="demo-exports", Prefix="acme/product-events/")
    objects = sorted(listed.get("Contents", []), key=lambda item: item["Key"])
    manifests = [item["Key"] for item in objects if "/_manifests/" in item["Key"]]
    if len(manifests) != 1:
        print(f"demo: expected one manifest, found {manifests}")
        return 1
    manifest = json.loads(client.get_object(Bucket="demo-exports", Key=manifests[0])["Body"].read())
    records = {entry["key"]: entry["records"] for entry in manifest["files"]}
    print(f"\ndemo: objects in s3://demo-exports ({len(objects)}):")
    print(f"  {'bytes':>10}  {'records':>8}  key")
    for item in objects:
        count = records.get(item["Key"])
        print(f"  {item['Size']:>10,}  {count if count is not None else '-':>8}  {item['Key']}")
    summary = {key: value for key, value in manifest.items() if key not in ("files", "columns")}
    summary["columns"] = (
        f"{len(manifest['columns']['event_properties'])} events, each with its own property columns"
    )
    print(f"\ndemo: manifest s3://demo-exports/{manifests[0]} (file list shown above):")
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    total = manifest["totals"]["records"]
    print(
        f"\ndemo: {total:,} of {events:,} events exported into {manifest['totals']['files']} files "
        f"({manifest['totals']['bytes'] / 1e6:.1f} MB); `airflow dags test` took {seconds:.1f} s including "
        f"Airflow start-up; peak RSS of the Airflow process {peak_mb:,.0f} MB"
    )
    if total != events:
        print("demo: record counts do not reconcile with the lake")
        return 1
    return 0
