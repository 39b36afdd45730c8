"""A window on one task against the same window in shards on two workers, side by side.

    .venv/bin/python bench/shards.py                       # 5M events, JSON Lines, CSV, Parquet
    .venv/bin/python bench/shards.py --rows 1000000 --formats jsonl

One day of events (``sample_events``, standard shape) as a Parquet lake; a local folder
destination. Per format:

- **one task**: ``export_window`` in a fresh process;
- **shards**: ``plan_shards``, then the shards (``--shards``, default 4) as fresh
  processes, at most ``--workers`` (default 2) at once, the way two Celery workers with one
  slot each would run them, then ``commit_shards``.

Reported: whole wall time of each, rows/s, each step's process time (start-up included,
as each is a task of its own), and the *critical path* plan + slowest shard + commit: the
wall time if every shard had a machine of its own.
Every shard reads the whole window from the source (``engine/shards.py``), so shards
trade reading for parallel routing and encoding: on the two cores of this machine, where
one task already keeps both busy, they cannot win; on separate machines they do. No
number is asserted anywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from airflow_export_provider.testing.sample_events import write_lake  # noqa: E402

DAY = dt.date(2025, 3, 1)
START, END = "2025-03-01T00:00:00+00:00", "2025-03-02T00:00:00+00:00"
STEP = [sys.executable, str(REPO / "bench" / "shard_step.py")]


def step(name: str, spec: dict[str, Any], *extra: str) -> dict[str, Any]:
    """Run one step in a fresh process: its report, plus ``wall``, start-up included (as a task's)."""
    started = time.perf_counter()
    done = subprocess.run([*STEP, name, json.dumps(spec), START, END, *extra], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall"] = time.perf_counter() - started
    return report


def definition(lake: Path, out: Path, fmt: str, shards: int) -> dict[str, Any]:
    return {
        "export_id": "bench_shards", "account_id": "bench",
        "source": {"type": "lake", "path": str(lake)},
        "destination": {"type": "local", "path": str(out)},
        "format": {"type": fmt}, "layout": {"folders": ["event_name", "date"]},
        "schedule": {"every": "24h"}, "shards": shards,
    }  # fmt: skip


def one_task(lake: Path, out: Path, fmt: str, shards: int) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = step("one", definition(lake, out, fmt, shards))
    return {"wall": time.perf_counter() - started, "records": report["records"]}


def sharded(lake: Path, out: Path, fmt: str, shards: int, workers: int) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    spec = definition(lake, out, fmt, shards)
    started = time.perf_counter()
    plan = step("plan", spec)
    with ThreadPoolExecutor(workers) as pool:
        shard_reports = list(pool.map(lambda k: step("shard", spec, plan["plan_id"], str(k)), range(shards)))
    commit = step("commit", spec, plan["plan_id"])
    wall = time.perf_counter() - started
    shard_walls = [r["wall"] for r in shard_reports]
    return {
        "wall": wall, "records": commit["records"], "plan": plan["wall"], "shards": shard_walls,
        "commit": commit["wall"], "critical": plan["wall"] + max(shard_walls) + commit["wall"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--formats", nargs="+", default=["jsonl", "csv", "parquet"])
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "shards-latest.md")
    args = parser.parse_args()
    from run import machine, write_report

    print(machine(), flush=True)
    lines = [
        f"One day, {args.rows:,} events (standard shape), local folder destination; "
        f"{args.shards} shards on {args.workers} worker slots vs one task.",
        "",
        "| format | one task | rows/s | shards, wall | rows/s | ratio | plan | shards (each) | commit "
        "| critical path | rows/s on own machines |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as temp:
        work = Path(temp)
        write_lake(work / "lake", DAY, 1, args.rows)
        for fmt in args.formats:
            one = one_task(work / "lake", work / "one", fmt, args.shards)
            many = sharded(work / "lake", work / "many", fmt, args.shards, args.workers)
            assert one["records"] == many["records"] == args.rows, (one, many)
            each = ", ".join(f"{s:.1f}" for s in many["shards"])
            line = (
                f"| {fmt} | {one['wall']:.1f} s | {args.rows / one['wall']:,.0f} | {many['wall']:.1f} s "
                f"| {args.rows / many['wall']:,.0f} | {one['wall'] / many['wall']:.2f} "
                f"| {many['plan']:.1f} s "
                f"| {each} s | {many['commit']:.1f} s | {many['critical']:.1f} s "
                f"| {args.rows / many['critical']:,.0f} |"
            )
            print(line, flush=True)
            lines.append(line)
    write_report(args.out, machine(), "\n".join(lines))


if __name__ == "__main__":
    main()
