"""Exports on a Celery cluster: Redis, two workers, and the live harness's scheduler, DAG
processor, triggerer and API server, all on loopback, stopped by PID.

Each worker runs one task at a time, under its own name (``w1``, ``w2``: the task
instances' hostname) and its own ``TMPDIR``, so a task that read a file another task left
on local disk would fail. The cluster runs a backfill of one export, a one-time range
whose day tasks run in parallel, and an access wait deferred to the triggerer; the
objects it delivers are then compared byte for byte with the same windows exported on
one machine (``airflow-export run``, the engine in one process): the same keys, records
and manifests.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_export_provider.testing.loopback_s3 import LoopbackS3
from tests.conftest import REPO, upload_lake
from tests.live_airflow import LiveAirflow, celery_env, live_airflow
from tests.postgres import Postgres
from tests.redis_server import redis_server

pytestmark = [pytest.mark.system, pytest.mark.live]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / ".test-artifacts"))
WORKERS = ("w1", "w2")
DAG_ID = "export__cluster_events"
ONE_TIME_ID = f"{DAG_ID}__one_time"
WAIT_ID = "export__cluster_wait"
BUCKET, PREFIX = "cluster-exports", "acme/cluster/"
EVENTS_SPEC = """\
export_id: cluster_events
account_id: acme
source: {type: lake, path: s3://demo-event-lake/events}
destination: {type: s3, bucket: cluster-exports, prefix: acme/cluster}
layout: {folders: [date, event_name]}
format: {type: jsonl, compression: gzip}
schedule: {every: 8h, timezone: UTC}
one_time: {max_days_back: 3650, concurrency: 3}
"""
WAIT_SPEC = """\
export_id: cluster_wait
account_id: acme
source: {type: lake, path: s3://demo-event-lake/events}
destination: {type: s3, bucket: cluster-later, prefix: acme/wait}
schedule: {every: 24h, timezone: UTC}
one_time: {enabled: false}
access: {check_every: 2s, alert_after: [0s], grace: 10m}
"""
LOCAL_SPEC = """\
export_id: cluster_local
account_id: acme
source: {type: lake, path: s3://demo-event-lake/events}
destination: {type: local, path: /tmp/cluster-local-exports}
schedule: {every: 24h, timezone: UTC}
"""


@pytest.fixture(scope="module")
def cluster(
    s3_server: LoopbackS3, lake3: Path, tmp_path_factory: pytest.TempPathFactory, postgres: Postgres
) -> Iterator[LiveAirflow]:
    urllib.request.urlopen(urllib.request.Request(f"{s3_server.endpoint_url}/moto-api/reset", method="POST"))
    s3: Any = s3_server.client()
    upload_lake(s3, lake3)
    s3.create_bucket(Bucket=BUCKET)
    root = tmp_path_factory.mktemp("cluster")
    dags = root / "dags"
    (dags / "exports").mkdir(parents=True)
    shutil.copy(REPO / "example_dags" / "exports_from_yaml.py", dags)
    definitions = {"cluster_events": EVENTS_SPEC, "cluster_wait": WAIT_SPEC, "cluster_local": LOCAL_SPEC}
    for name, text in definitions.items():
        (dags / "exports" / f"{name}.yaml").write_text(text)
    postgres.create_database("airflow_cluster")
    database_url = postgres.url("airflow_cluster")
    with redis_server(root / "redis") as broker:
        extra = {
            **celery_env(broker, database_url),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        }
        with live_airflow(root / "home", dags, extra, database_url, celery_workers=WORKERS) as live:
            live.wait_for_dag(DAG_ID)
            live.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
            yield live


def task_instances(live: LiveAirflow, dag_id: str, run_id: str = "~") -> list[dict[str, Any]]:
    reply = live.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=200")
    return list(reply["task_instances"])


def wait_for_run(live: LiveAirflow, dag_id: str, run_id: str, timeout: float = 420) -> dict[str, Any]:
    def finished() -> Any:
        run = live.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    run = dict(live.wait_for(f"run {run_id} of {dag_id}", finished, timeout=timeout))
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in
                                       task_instances(live, dag_id, run_id)]  # fmt: skip
    return run


def comparable(manifest: bytes) -> dict[str, Any]:
    """A manifest without what depends on the gzip stream's bytes (sizes, checksums)."""
    parsed: dict[str, Any] = json.loads(manifest)
    for entry in parsed["files"]:
        entry.pop("bytes", None)
        entry.pop("sha256", None)
    parsed.get("totals", {}).pop("bytes", None)
    return parsed


def objects(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def test_a_local_destination_is_refused_on_the_cluster_with_a_clear_message(cluster: LiveAirflow) -> None:
    dag = cluster.wait_for_dag("export__invalid__cluster_local")
    assert "destination.type 'local' writes to the disk of whichever worker" in dag["description"]
    assert "CeleryExecutor" in dag["description"]


def test_a_backfill_and_a_one_time_range_spread_over_both_workers(cluster: LiveAirflow) -> None:
    created = cluster.request("POST", "/api/v2/backfills", {
        "dag_id": DAG_ID, "from_date": "2025-03-01T08:00:00Z", "to_date": "2025-03-02T00:00:00Z",
        "reprocess_behavior": "completed", "max_active_runs": 1, "run_backwards": False})  # fmt: skip

    def backfilled() -> Any:
        state = cluster.request("GET", f"/api/v2/backfills/{created['id']}")
        return state if state.get("completed_at") else None

    cluster.wait_for("the backfill", backfilled, timeout=420)
    runs = [run for run in cluster.dag_runs(DAG_ID) if run["run_type"] == "backfill"]
    assert [run["state"] for run in runs] == ["success"] * 3, "three 8-hour windows of 1 March"

    one_time = cluster.request(
        "POST", f"/api/v2/dags/{ONE_TIME_ID}/dagRuns",
        {"logical_date": None, "conf": {"start": "2025-03-01", "end": "2025-03-03"}},
    )  # fmt: skip
    wait_for_run(cluster, ONE_TIME_ID, one_time["dag_run_id"])

    days = [t for t in task_instances(cluster, ONE_TIME_ID, one_time["dag_run_id"])
            if t["task_id"] == "export_windows"]  # fmt: skip
    assert len(days) == 3 and {t["state"] for t in days} == {"success"}
    assert {t["hostname"] for t in days} == set(WORKERS), "day tasks ready together ran on both workers"
    every = [t for run in runs for t in task_instances(cluster, DAG_ID, run["dag_run_id"])]
    every += task_instances(cluster, ONE_TIME_ID, one_time["dag_run_id"])
    split = Counter(t["hostname"] for t in every)
    assert set(split) == set(WORKERS), split
    print(f"\ntask instances per worker: {dict(sorted(split.items()))}")


def test_an_access_wait_is_deferred_to_the_triggerer_and_resumes_on_a_worker(
    cluster: LiveAirflow, s3_server: LoopbackS3
) -> None:
    cluster.request("PATCH", f"/api/v2/dags/{WAIT_ID}", {"is_paused": False})
    run = cluster.request("POST", f"/api/v2/dags/{WAIT_ID}/dagRuns", {"logical_date": "2025-03-02T00:00:00Z"})

    def deferred() -> bool:
        states = {t["task_id"]: t["state"] for t in task_instances(cluster, WAIT_ID, run["dag_run_id"])}
        return states.get("check_access") == "deferred"

    cluster.wait_for("the access check to defer", deferred, timeout=180)
    s3: Any = s3_server.client()
    s3.create_bucket(Bucket="cluster-later")
    wait_for_run(cluster, WAIT_ID, run["dag_run_id"], timeout=240)
    hosts = {t["task_id"]: t["hostname"] for t in task_instances(cluster, WAIT_ID, run["dag_run_id"])}
    assert set(hosts.values()) <= set(WORKERS), hosts
    assert len(objects(s3, "cluster-later", "acme/wait/_manifests/")) == 1


def test_the_cluster_delivers_what_one_machine_delivers(
    cluster: LiveAirflow, s3_server: LoopbackS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every object of the nine windows 1-3 March: the same keys, records and manifests.

    Compressed bytes are compared too, and reported. In one CI run of seven, four gzip
    files of the windows the cluster exported twice (backfill, then the one-time range)
    differed from the one-process export; whether their records did is what this test
    now tells (the pairs are kept in ``.test-artifacts/cluster-differing``). Records and
    manifests (but for each file's size and SHA-256) must match exactly.
    """
    s3: Any = s3_server.client()
    delivered = objects(s3, BUCKET, PREFIX)
    assert len([key for key in delivered if "/_manifests/" in key]) == 9
    assert not [key for key in delivered if "/_leases/" in key or "/_commits/" in key]
    for key in delivered:
        s3.delete_object(Bucket=BUCKET, Key=key)
    definition = tmp_path / "cluster_events.yaml"
    definition.write_text(EVENTS_SPEC)
    env = {**cluster.env, "AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
    cli = str(Path(sys.executable).with_name("airflow-export"))
    done = subprocess.run(
        [cli, "run", str(definition), "--start", "2025-03-01", "--end", "2025-03-04"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    alone = objects(s3, BUCKET, PREFIX)
    assert sorted(alone) == sorted(delivered)
    differing = [key for key in delivered if delivered[key] != alone[key]]
    if differing:
        dump = ARTIFACTS / "cluster-differing"
        dump.mkdir(parents=True, exist_ok=True)
        for index, key in enumerate(differing):
            (dump / f"{index}-cluster-{Path(key).name}").write_bytes(delivered[key])
            (dump / f"{index}-alone-{Path(key).name}").write_bytes(alone[key])
    print(f"\n{len(delivered) - len(differing)} of {len(delivered)} objects byte-identical")
    for key in delivered:
        if "/_manifests/" in key:
            assert comparable(delivered[key]) == comparable(alone[key]), key
        elif key.endswith(".gz"):
            assert gzip.decompress(delivered[key]) == gzip.decompress(alone[key]), f"records of {key} differ"
        else:  # the export's column decisions (``_schema/``)
            assert delivered[key] == alone[key], key
    totals = [json.loads(body)["totals"] for key, body in alone.items() if "/_manifests/" in key]
    records = sum(total["records"] for total in totals)
    assert records == 3 * 4_000, "the three days of the lake, each event once"
