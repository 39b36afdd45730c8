"""Ours against DuckDB 2, side by side in one run: same lake, same machine, fresh process each.

    .venv/bin/python bench/versus_duckdb.py                                  # 1M, both shapes
    .venv/bin/python bench/versus_duckdb.py --rows 1000000 10000000 --out bench/results/duckdb.md

For each data shape (``standard``: the benchmark's events, 23 properties; ``wide``: 32
properties of which each event has 5-12, longer strings in many scripts, see
``testing/sample_events.py``) and size, one day is written as a Parquet lake. Then, per
format (CSV.gz, JSON Lines.gz, Parquet zstd):

- **duckdb**: ``bench/duckdb_copy.py``, DuckDB's ``COPY … PARTITION_BY (event_name)``
  (one folder per event, as ours writes one series per event) to a local folder;
- **ours**: ``airflow-export run`` of a definition with a local folder destination: the
  whole command a user runs, start-up included. By default the export's first window
  (its columns decided by a property scan); with ``--decided`` the next window of a
  running export (columns decided before: no scan, ``engine.run.write_with_known_columns``).

Both are timed from outside (the whole process, wall clock) and inside (DuckDB's COPY;
the export's own "exported in" line), with the process's own peak RSS (``wait4``, in a
small wrapper: ``PEAK_WRAPPER``). A small window (20k events, a 4-hour window of a small
account) adds whole-process time against a bare ``python -c "import pyarrow"``. No
number is asserted anywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from airflow_export_provider.testing.sample_events import SHAPES, write_lake  # noqa: E402

DAY = dt.date(2025, 3, 1)
FORMATS = ("csv", "jsonl", "parquet")
PYTHON = Path(sys.executable)


@dataclass
class Run:
    tool: str
    shape: str
    rows: int
    fmt: str
    wall: float
    inside: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.wall


# Runs the command as its own child and prints that child's peak RSS last. A child of this
# benchmark would report the benchmark's own peak (wait4 and getrusage keep the maximum
# of the memory a process had before exec, here the parent's after writing a lake); a
# grandchild forked from this small wrapper reports only its own.
PEAK_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(f"peak_rss_kb={usage.ru_maxrss}", flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of exactly this command, and its output."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        wrapped = [str(PYTHON), "-c", PEAK_WRAPPER, *command]
        done = subprocess.run(wrapped, env=env, stdout=output, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({done.returncode}):\n{text[-3000:]}")
    peak_kb = float(re.findall(r"peak_rss_kb=([0-9]+)", text)[-1])
    return wall, peak_kb / 1024, text


def duckdb_run(lake_file: Path, out: Path, fmt: str, shape: str, rows: int) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    wall, rss, text = timed(
        [str(PYTHON), str(REPO / "bench" / "duckdb_copy.py"), str(lake_file), str(out), fmt], dict(os.environ)
    )
    inside = float(re.findall(r'"seconds": ([0-9.]+)', text)[-1])
    shutil.rmtree(out, ignore_errors=True)
    return Run("duckdb", shape, rows, fmt, wall, inside, rss)


def ours_run(
    lake: Path,
    out: Path,
    fmt: str,
    shape: str,
    rows: int,
    work: Path,
    code: Path | None = None,
    decided: bool = False,
) -> Run:
    """``airflow-export run`` of the day; ``code``: a checkout whose package runs instead ("before").

    ``decided``: the window of a running export, whose columns an earlier window decided: a
    first, unmeasured run leaves its ``_schema`` and nothing else for the measured one.
    """
    shutil.rmtree(out, ignore_errors=True)
    definition = work / f"versus-{fmt}.yaml"
    definition.write_text(
        f"export_id: versus_{fmt}\naccount_id: bench\nsource: {{type: lake, path: {lake}}}\n"
        f"destination: {{type: local, path: {out}}}\nformat: {{type: {fmt}}}\n"
        "layout: {folders: [event_name, date]}\nschedule: {every: 24h}\n"
    )
    command = [
        str(PYTHON.with_name("airflow-export")),
        "run",
        str(definition),
        "--start",
        DAY.isoformat(),
        "--end",
        (DAY + dt.timedelta(days=1)).isoformat(),
    ]
    env = dict(os.environ, PYTHONPATH=str(code)) if code is not None else dict(os.environ)
    if decided:
        timed(command, env)
        for child in out.iterdir():
            if child.name != "_schema":
                shutil.rmtree(child)
    wall, rss, text = timed(command, env)
    found = re.search(r"exported in ([^\n]+)", text)
    if found is None or f"{rows:,} records" not in text:
        raise RuntimeError(f"ours did not report {rows:,} records:\n{text[-2000:]}")
    inside = seconds_of(found.group(1))
    shutil.rmtree(out, ignore_errors=True)
    return Run("ours" if code is None else "before", shape, rows, fmt, wall, inside, rss)


def seconds_of(duration: str) -> float:
    """Seconds of the export's human duration (``12.3 s``, ``4 min 05 s``, ``2 h 03 min``)."""
    units = {"h": 3600.0, "min": 60.0, "s": 1.0}
    return sum(float(value) * units[unit] for value, unit in re.findall(r"([0-9.]+) (h|min|s)\b", duration))


def table(runs: list[Run]) -> str:
    peers = {(r.shape, r.rows, r.fmt): r for r in runs if r.tool == "duckdb"}
    lines = [
        "| shape | rows | format | ours wall | DuckDB wall | ours rows/s | DuckDB rows/s | ours/DuckDB speed "
        "| ours inside | DuckDB COPY | ours peak RSS | DuckDB peak RSS | RSS ours/DuckDB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ours in (r for r in runs if r.tool == "ours"):
        peer = peers[(ours.shape, ours.rows, ours.fmt)]
        lines.append(
            f"| {ours.shape} | {ours.rows:,} | {ours.fmt} | {ours.wall:.1f} s | {peer.wall:.1f} s "
            f"| {ours.rate:,.0f} | {peer.rate:,.0f} | **{peer.wall / ours.wall:.2f}** "
            f"| {ours.inside:.1f} s | {peer.inside:.1f} s | {ours.peak_rss_mb:,.0f} MB "
            f"| {peer.peak_rss_mb:,.0f} MB | {ours.peak_rss_mb / peer.peak_rss_mb:.2f} |"
        )
    return "\n".join(lines)


def before_table(runs: list[Run]) -> str:
    """Before and after against the same DuckDB runs (``--before``)."""
    by = {(r.tool, r.shape, r.rows, r.fmt): r for r in runs}
    lines = [
        "| shape | rows | format | before wall | ours wall | DuckDB wall | before/DuckDB speed "
        "| ours/DuckDB speed | before peak RSS | ours peak RSS |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for before in (r for r in runs if r.tool == "before"):
        key = (before.shape, before.rows, before.fmt)
        ours, peer = by[("ours", *key)], by[("duckdb", *key)]
        lines.append(
            f"| {before.shape} | {before.rows:,} | {before.fmt} | {before.wall:.1f} s | {ours.wall:.1f} s "
            f"| {peer.wall:.1f} s | {peer.wall / before.wall:.2f} | **{peer.wall / ours.wall:.2f}** "
            f"| {before.peak_rss_mb:,.0f} MB | {ours.peak_rss_mb:,.0f} MB |"
        )
    return "\n".join(lines)


def small_window(work: Path) -> str:
    """20k events: whole process against a bare ``import pyarrow``, three runs each, best kept."""
    lake = work / "lake-small"
    write_lake(lake, DAY, 1, 20_000)
    bare = min(timed([str(PYTHON), "-c", "import pyarrow"], dict(os.environ))[0] for _ in range(3))
    lines = [
        "Small window, 20k events (standard shape), best of 3; "
        f'bare `python -c "import pyarrow"`: {bare:.2f} s.',
        "",
        "| format | ours whole process | ours export | start-up (whole - export) | start-up / bare import "
        "| DuckDB whole process |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for fmt in FORMATS:
        ours = min(
            (ours_run(lake, work / "out-small", fmt, "standard", 20_000, work) for _ in range(3)),
            key=lambda r: r.wall,
        )
        [lake_file] = lake.rglob("*.parquet")
        peer = min(
            (duckdb_run(lake_file, work / "out-small-duckdb", fmt, "standard", 20_000) for _ in range(3)),
            key=lambda r: r.wall,
        )
        startup = ours.wall - ours.inside
        lines.append(
            f"| {fmt} | {ours.wall:.2f} s | {ours.inside:.2f} s | {startup:.2f} s "
            f"| {startup / bare:.1f} | {peer.wall:.2f} s |"
        )
    return "\n".join(lines)


def machine() -> str:
    """The benchmark's machine line (``bench/run.py``) and DuckDB's version."""
    import duckdb
    from run import machine as described

    return f"{described()}, DuckDB {duckdb.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--no-small", action="store_true", help="skip the 20k-event window")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "versus-duckdb-latest.md")
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit, run too as 'before'")
    parser.add_argument(
        "--decided", action="store_true", help="ours as the next window of a running export (columns decided)"
    )
    args = parser.parse_args()
    print(machine(), flush=True)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="versus-duckdb-") as temp:
        work = Path(temp)
        for shape in args.shapes:
            for rows in args.rows:
                lake = work / f"lake-{shape}-{rows}"
                [lake_file] = write_lake(lake, DAY, 1, rows, shape=shape)
                print(f"{shape} {rows:,}: lake {lake_file.stat().st_size / 1e6:.0f} MB", flush=True)
                for fmt in args.formats:
                    for run in (
                        duckdb_run(lake_file, work / "out-duckdb", fmt, shape, rows),
                        ours_run(lake, work / "out-ours", fmt, shape, rows, work, decided=args.decided),
                        *(
                            [
                                ours_run(
                                    lake, work / "out-ours", fmt, shape, rows, work, args.before, args.decided
                                )
                            ]
                            if args.before
                            else []
                        ),
                    ):
                        runs.append(run)
                        print(
                            f"  {run.tool:<7} {fmt:<8} {run.wall:6.1f} s wall, {run.inside:6.1f} s inside, "
                            f"{run.peak_rss_mb:6,.0f} MB",
                            flush=True,
                        )
                shutil.rmtree(lake)
        small = "" if args.no_small else small_window(work)
    from run import write_report

    report = f"{table(runs)}\n\n"
    if args.before:
        report += f"Before ({args.before}) and after, same run:\n\n{before_table(runs)}\n\n"
    write_report(args.out, machine(), report + small)


if __name__ == "__main__":
    main()
