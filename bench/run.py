"""The benchmark: ours vs the pure-pyarrow ceiling vs SqlToS3Operator, same data, same loopback S3.

    bash bench/run.sh                       # 1M events, every format, the peer included
    bash bench/run.sh --rows 1000000 10000000 --no-peer --formats csv parquet

For each size, seeded sample events for one day (the generator of the demo and tests:
identities, 5 profile properties, device attributes, preference flags, 5-12 properties
per event, 40+ event names) are written as a Parquet lake, and a moto S3 server is
started on 127.0.0.1. Every measured run is a fresh Python process, so peak RSS is its
own:

- **ceiling** (``bench/ceiling.py``): minimal pure-pyarrow pipeline, one file per format;
- **ours** (``bench/ours.py``): the export operator for the day, in every format, with
  the default folders and with folders split by event name;
- **peer** (``bench/peer.py``): ``SqlToS3Operator`` from the same events in a throwaway
  PostgreSQL, in each format it supports; and ours from the same table, CSV.gz.

rows/s, MB/s (bytes written), peak RSS, CPU utilisation (CPU seconds of all threads per
wall second; 2.0 = both cores) and the ratios are printed and written as a Markdown table
(``--out``, default ``bench/results/latest.md``). No number here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyarrow as pa  # noqa: E402

from airflow_export_provider.engine.runtime.compression import compressor_name  # noqa: E402
from airflow_export_provider.testing.loopback_s3 import LoopbackS3, loopback_s3  # noqa: E402
from airflow_export_provider.testing.sample_events import write_lake  # noqa: E402

DAY = dt.date(2025, 3, 1)
START, END = "2025-03-01T00:00:00+00:00", "2025-03-02T00:00:00+00:00"
BUCKET = "bench"
FORMATS = ("csv", "jsonl", "xml", "parquet")
PEER_FORMATS = {"csv": "csv", "jsonl": "json", "parquet": "parquet"}
PEER_MAX_ROWS = 3_000_000  # the peer holds the window in pandas: ~3.8 GB at 1M, ~11 GB at 3M


@dataclass
class Result:
    path: str
    fmt: str
    layout: str
    rows: int
    seconds: float
    cpu_seconds: float
    bytes: int
    files: int
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes / 1e6 / self.seconds

    @property
    def cpu(self) -> float:
        return self.cpu_seconds / self.seconds


def child(script: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, str(REPO / "bench" / script), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{script} {' '.join(args[:1])} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def empty_bucket(s3: LoopbackS3) -> None:
    """Keep moto's memory small between runs."""
    client: Any = s3.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def ours_spec(source: dict[str, Any], fmt: str, split: bool) -> dict[str, Any]:
    folders = ["data_type", "event_name", "date"] if split else ["data_type", "date"]
    return {
        "export_id": "bench", "account_id": "bench", "source": source,
        "destination": {"bucket": BUCKET, "prefix": f"ours/{fmt}"},
        "format": {"type": fmt}, "layout": {"folders": folders}, "schedule": {"every": "24h"},
    }  # fmt: skip


def attempt(script: str, *args: str, env: dict[str, str]) -> dict[str, Any] | None:
    """One measured child; a failure is printed and the benchmark goes on with the others."""
    try:
        return child(script, *args, env=env)
    except RuntimeError as error:
        print(f"  FAILED: {str(error)[-2000:]}", flush=True)
        return None


def measure(path: str, fmt: str, layout: str, rows: int, raw: dict[str, Any] | None) -> list[Result]:
    if raw is None:
        return []
    return [_measured(path, fmt, layout, rows, raw)]


def _measured(path: str, fmt: str, layout: str, rows: int, raw: dict[str, Any]) -> Result:
    if raw.get("records") is not None and raw["records"] != rows:
        raise RuntimeError(f"{path} {fmt} wrote {raw['records']} records, expected {rows}")
    result = Result(path, fmt, layout, rows, raw["seconds"], raw["cpu_seconds"], raw["bytes"], raw["files"],
                    raw["peak_rss_mb"])  # fmt: skip
    print(
        f"  {path:<8} {fmt:<8} {layout:<10} {result.seconds:7.1f} s {result.rate:>10,.0f} rows/s "
        f"{result.megabytes_per_second:6.1f} MB/s {result.peak_rss_mb:6,.0f} MB RSS cpu {result.cpu:4.2f}",
        flush=True,
    )
    return result


def run_size(rows: int, formats: list[str], peer: bool, profile: list[str], work: Path) -> list[Result]:
    lake = work / f"lake-{rows}"
    started = time.perf_counter()
    [lake_file] = write_lake(lake, DAY, 1, rows)
    size = lake_file.stat().st_size / 1e6
    print(
        f"{rows:,} events generated in {time.perf_counter() - started:.0f} s ({size:.0f} MB Parquet)",
        flush=True,
    )
    results: list[Result] = []
    with loopback_s3(lifetime_seconds=4 * 3600) as s3:
        s3.client().create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        env = {**os.environ, "AIRFLOW_CONN_AWS_DEFAULT": s3.connection_uri(), "PYTHONPATH": str(REPO)}
        for fmt in formats:
            raw = attempt(
                "ceiling.py", fmt, str(lake_file), s3.endpoint_url, BUCKET, f"ceiling/{fmt}", env=env
            )
            results += measure("ceiling", fmt, "one file", rows, raw)
            empty_bucket(s3)
            for split in (False, True):
                args = [json.dumps(ours_spec({"path": str(lake)}, fmt, split)), START, END]
                raw = attempt("ours.py", *args, env=env)
                results += measure("ours", fmt, "by event" if split else "by date", rows, raw)
                empty_bucket(s3)
            if fmt in profile:  # an extra run: sampling slows it down, so it is not a measurement
                args = [json.dumps(ours_spec({"path": str(lake)}, fmt, False)), START, END]
                attempt("ours.py", *args, "--profile", str(work / f"profile-{fmt}-{rows}.txt"), env=env)
                empty_bucket(s3)
        if peer and rows <= PEER_MAX_ROWS:
            results += run_peer(rows, formats, s3, env)
    return results


def run_peer(rows: int, formats: list[str], s3: LoopbackS3, env: dict[str, str]) -> list[Result]:
    sys.path.insert(0, str(REPO / "bench"))
    from sql_source import load  # the same events, COPY'd into PostgreSQL

    from tests.postgres import throwaway_postgres
    from tests.sql_events import COLUMNS

    results = []
    with throwaway_postgres() as postgres:
        loaded = load(postgres, rows, "bench")
        print(f"{rows:,} events loaded into PostgreSQL in {loaded:.0f} s", flush=True)
        connection = {"conn_type": "postgres", "host": postgres.host, "port": postgres.port,
                      "login": postgres.user, "schema": "bench"}  # fmt: skip
        env = {**env, "AIRFLOW_CONN_BENCH_DB": json.dumps(connection)}
        for fmt in formats:
            if fmt not in PEER_FORMATS:
                continue
            raw = attempt("peer.py", PEER_FORMATS[fmt], BUCKET, f"peer/{fmt}/day", START, END, env=env)
            results += measure("peer", fmt, "one file", rows, raw)
            empty_bucket(s3)
        source = {"type": "sql", "conn_id": "bench_db", "table": "app.events", "columns": COLUMNS}
        raw = attempt("ours.py", json.dumps(ours_spec(source, "csv", False)), START, END, env=env)
        results += measure("ours-sql", "csv", "by date", rows, raw)
        empty_bucket(s3)
    return results


def table(results: list[Result]) -> str:
    ceiling = {(r.rows, r.fmt): r for r in results if r.path == "ceiling"}
    peers = {(r.rows, r.fmt): r for r in results if r.path == "peer"}
    lines = [
        "| rows | path | format | folders | s | rows/s | MB/s | peak RSS MB | CPU "
        "| ours/ceiling | ours/peer |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        versus_ceiling = versus_peer = ""
        if r.path.startswith("ours"):
            if (r.rows, r.fmt) in ceiling and r.path == "ours":
                versus_ceiling = f"{r.rate / ceiling[r.rows, r.fmt].rate:.2f}"
            if (r.rows, r.fmt) in peers:
                versus_peer = f"{r.rate / peers[r.rows, r.fmt].rate:.1f}"
        lines.append(
            f"| {r.rows:,} | {r.path} | {r.fmt} | {r.layout} | {r.seconds:.1f} | {r.rate:,.0f} "
            f"| {r.megabytes_per_second:.1f} | {r.peak_rss_mb:,.0f} | {r.cpu:.2f} "
            f"| {versus_ceiling} | {versus_peer} |"
        )
    return "\n".join(lines)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, pyarrow {pa.__version__}, "
        f"text compression: {compressor_name(1)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--no-peer", action="store_true", help="skip PostgreSQL and SqlToS3Operator")
    parser.add_argument(
        "--profile",
        nargs="*",
        choices=FORMATS,
        default=[],
        help="profile ours (pyinstrument) in these formats",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.md")
    args = parser.parse_args()
    print(machine(), flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="export-bench-") as work:
        for rows in args.rows:
            results += run_size(rows, args.formats, not args.no_peer, args.profile, Path(work))
            for profile in Path(work).glob("profile-*.txt"):
                (args.out.parent / profile.name).parent.mkdir(parents=True, exist_ok=True)
                (args.out.parent / profile.name).write_text(profile.read_text())
    write_report(args.out, machine(), table(results))


def write_report(out: Path, machine_line: str, body: str) -> None:
    """The results file of a benchmark run: when, on what, and its tables; printed too."""
    report = f"Measured {dt.date.today()} on {machine_line}.\n\n{body}\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print("\n" + report + f"\nwritten to {out}")


if __name__ == "__main__":
    main()
