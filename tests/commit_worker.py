"""One export run of one window in a process of its own, optionally SIGKILLed at a chosen step.

The commit-protocol tests start it as a real separate process against the loopback S3
server (connection from ``AIRFLOW_CONN_AWS_DEFAULT``). ``--die-at STEP`` kills the process
with SIGKILL just before the named call of the export's own destination code (boto3 is
never touched), so a test can stop a run at every step of ``commit.py``. The process writes
a JSON report: the run's summary, when it held the window's lease, and every key it deleted.

    python -m tests.commit_worker SPEC_JSON START END REPORT [--die-at STEP] [--start-at EPOCH]

``--shard PLAN_ID:K`` runs shard K of a sharded window's plan instead (``engine/shards.py``):
the shard tests run shards as processes of their own, side by side.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_export_provider.engine.destinations.s3 import S3Destination, S3Upload
from airflow_export_provider.engine.lease import WindowLease
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.shards import export_shard
from airflow_export_provider.engine.windows import Window, parse_moment
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec


def _keys(arguments: tuple[Any, ...]) -> list[str]:
    first = arguments[0] if arguments else None
    if isinstance(first, str):
        return [first]
    if hasattr(first, "key"):
        return [first.key]
    return list(first or [])


# step → (class, method, which matching call dies, which calls match)
STEPS: dict[str, tuple[type, str, int, Callable[[list[str]], bool]]] = {
    "uploading": (S3Upload, "finish", 3, lambda keys: True),
    "journal-written": (S3Destination, "complete_upload", 1, lambda keys: True),
    "half-completed": (S3Destination, "complete_upload", 6, lambda keys: True),
    "before-manifest": (S3Destination, "put_if", 1, lambda keys: "/_manifests/" in keys[0]),
    "stale-deletes": (S3Destination, "delete", 1, lambda keys: bool(keys) and ".commit" not in keys[0]),
    "journal-delete": (S3Destination, "delete", 1, lambda keys: bool(keys) and keys[0].endswith(".commit")),
    "lease-release": (S3Destination, "delete_if", 1, lambda keys: keys[0].endswith(".lease")),
}


def die_at(step: str) -> None:
    owner, method, nth, matches = STEPS[step]
    original = getattr(owner, method)
    calls = 0

    def dying(self: Any, *arguments: Any, **options: Any) -> Any:
        nonlocal calls
        if matches(_keys(arguments)):
            calls += 1
            if calls == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *arguments, **options)

    setattr(owner, method, dying)


def record(report: dict[str, Any]) -> None:
    """Note when this process holds the lease and what it deletes, for the tests to compare."""
    acquire, release, delete = WindowLease.acquire, WindowLease.release, S3Destination.delete

    def acquiring(self: WindowLease) -> None:
        acquire(self)
        report["held_from"] = time.time()

    def releasing(self: WindowLease) -> None:
        report["held_until"] = time.time()
        release(self)

    def deleting(self: S3Destination, keys: Any) -> None:
        keys = list(keys)
        report["deleted"].extend(keys)
        delete(self, keys)

    WindowLease.acquire, WindowLease.release = acquiring, releasing  # type: ignore[method-assign]
    S3Destination.delete = deleting  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("report")
    parser.add_argument("--die-at", choices=sorted(STEPS))
    parser.add_argument("--lease-wait", type=float, default=120.0)
    parser.add_argument("--allow-fewer-records", action="store_true")
    parser.add_argument("--start-at", type=float, help="wall-clock time to begin at, so two workers collide")
    parser.add_argument("--shard", help="PLAN_ID:K: export shard K of that plan, commit nothing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    spec = ExportSpec.from_mapping(json.loads(args.spec))
    window = Window(parse_moment(args.start), parse_moment(args.end))
    report: dict[str, Any] = {"deleted": [], "pid": os.getpid()}
    record(report)
    if args.die_at:
        die_at(args.die_at)
    if args.start_at:
        time.sleep(max(0.0, args.start_at - time.time()))
    if args.shard:
        plan_id, shard = args.shard.split(":")
        parts = export_shard(spec, window, plan_id, int(shard), source=source_for(spec.source),
                             destination=destination_for(spec.destination))  # fmt: skip
        report["files"] = [f.key for f in parts.files]
        Path(args.report).write_text(json.dumps(report))
        return
    result = export_window(
        spec, window, source=source_for(spec.source), destination=destination_for(spec.destination),
        run_label=f"worker {os.getpid()}", lease_wait_seconds=args.lease_wait,
        allow_fewer_records=args.allow_fewer_records,
    )  # fmt: skip
    report["result"] = result.summary()
    Path(args.report).write_text(json.dumps(report))


if __name__ == "__main__":
    main()
