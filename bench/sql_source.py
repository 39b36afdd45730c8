"""Benchmark: export one day of events from PostgreSQL, beside a COPY-only pipeline, in one run.

    .venv/bin/python bench/sql_source.py --rows 1000000 5000000 --formats csv parquet

For each size: seeded sample events go into a throwaway PostgreSQL (the test suite's
``tests/postgres.py``: Debian binaries, a cluster in a temp dir on 127.0.0.1), streamed
into ``COPY`` batch by batch. Then, each in a fresh Python process, to a local folder:

- **copy-only**: ``COPY (SELECT * FROM app.events WHERE <the day>) TO STDOUT (FORMAT
  csv)`` through psycopg 3, gzip'd by ISA-L on its own thread into one file: what a
  database can hand over at best, with no typing, ordering, JSON or per-event files;
- **ours**: the export of the day through the same code path as a DAG run
  (``export_window``), for each driver path asked for (``adbc``: the default where the
  driver is installed; ``psycopg``: COPY CSV; ``psycopg2``: a named cursor).

Each child times its own work after its imports and the connection lookup ("inside"),
and reports its peak RSS; the parent times the whole process. The ratio is ours' rows/s
over copy-only's, inside. Memory should be flat across sizes: the source is read in
bounded batches and spooled to disk, and the writer is bounded by the batch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyarrow.parquet as pq  # noqa: E402

from airflow_export_provider.testing.sample_events import write_lake  # noqa: E402
from tests.postgres import Postgres, throwaway_postgres  # noqa: E402
from tests.sql_events import COLUMNS, TABLE  # noqa: E402

DAY = dt.date(2025, 3, 1)
GROUPS = ("custom_identities", "profile", "device", "comm_prefs", "properties")

CHILD = """
import json, sys, tempfile, time
from peak import peak_rss_mb
import pendulum
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.sources.sql import SqlSource
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for, sql_connection
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import BaseHook
from tests.postgres import Postgres
spec = ExportSpec.from_mapping(json.loads(sys.argv[1]))
driver, server = sys.argv[2], Postgres(**json.loads(sys.argv[3]))
window = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
BaseHook.get_connection("bench_db")  # Airflow's configuration, loaded before the clock
started = time.perf_counter()
if driver == "airflow":
    source = source_for(spec.source)
else:
    from tests.sql_events import connect
    source = SqlSource(spec.source, connect=lambda: connect(driver, server, sys.argv[4]))
result = export_window(spec, window, source=source, destination=destination_for(spec.destination))
seconds = time.perf_counter() - started
print(json.dumps({"records": result.records, "bytes": result.bytes, "seconds": seconds,
                  "peak_rss_mb": peak_rss_mb()}))
"""

COPY_ONLY = """
import json, sys, time
from peak import peak_rss_mb
import psycopg
from isal import igzip_threaded
server, out = json.loads(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
rows = 0
sink = igzip_threaded.open(out, "wb", threads=1)
with psycopg.connect(**server) as db, db.cursor() as cursor, sink:
    day = "occurred_at >= '2025-03-01T00:00:00Z' AND occurred_at < '2025-03-02T00:00:00Z'"
    with cursor.copy(f"COPY (SELECT * FROM app.events WHERE {day}) TO STDOUT (FORMAT csv)") as copy:
        for block in copy:
            sink.write(block)
    rows = cursor.rowcount
seconds = time.perf_counter() - started
print(json.dumps({"records": rows, "seconds": seconds,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def load(postgres: Postgres, rows: int, database: str) -> float:
    """Generate ``rows`` events for one day and COPY them in, a Parquet batch at a time.

    The JSONB columns' text is spelled by the exporter's own JSON kernels and the rows
    written by pyarrow's CSV writer (nulls unquoted-empty, as PostgreSQL's CSV reads them),
    so loading 5M rows takes about a minute instead of seven with Python's csv module.
    """
    import psycopg2
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from airflow_export_provider.engine.formats.json_kernels import json_values

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as lake:
        [path] = write_lake(lake, DAY, 1, rows)
        postgres.create_database(database)
        db = psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname=database)
        with db, db.cursor() as cursor:
            cursor.execute("CREATE SCHEMA app")
            cursor.execute(TABLE)
            for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
                columns = [json_values(batch.column(name)) if name in GROUPS else batch.column(name)
                           for name in COLUMNS]  # fmt: skip
                table = pa.table(columns, names=list(COLUMNS.values()))
                buffer = io.BytesIO()
                pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
                buffer.seek(0)
                cursor.copy_expert("COPY app.events FROM STDIN WITH (FORMAT csv)", buffer)
            cursor.execute("CREATE INDEX ON app.events (occurred_at)")
            cursor.execute("ANALYZE app.events")
        db.close()
    return time.perf_counter() - started


def export(
    postgres: Postgres,
    database: str,
    out: Path,
    batch_size: int,
    fmt: str = "csv",
    driver: str = "airflow",
    code: Path = REPO,
) -> dict[str, float]:
    """One export of the day in a fresh process; ``driver`` "airflow" goes through the connection.

    ``code``: the checkout whose export runs (a worktree of an earlier commit, for before/after).
    """
    spec = {
        "export_id": "bench", "account_id": "bench",
        "source": {"type": "sql", "conn_id": "bench_db", "table": "app.events", "columns": COLUMNS,
                   "batch_size": batch_size},
        "destination": {"type": "local", "path": str(out)}, "format": {"type": fmt},
        "schedule": {"every": "24h"},
    }  # fmt: skip
    connection = {"conn_type": "postgres", "host": postgres.host, "port": postgres.port,
                  "login": postgres.user, "schema": database}  # fmt: skip
    env = {
        **os.environ,
        "AIRFLOW_CONN_BENCH_DB": json.dumps(connection),
        "PYTHONPATH": f"{code}:{REPO}:{REPO / 'bench'}",
    }
    server = json.dumps(
        {"host": postgres.host, "port": postgres.port, "user": postgres.user, "pid": postgres.pid}
    )
    return _child([sys.executable, "-c", CHILD, json.dumps(spec), driver, server, database], env, cwd=code)


def copy_only(postgres: Postgres, database: str, out: Path) -> dict[str, float]:
    """The day through ``COPY … TO STDOUT`` and gzip into one file, in a fresh process."""
    server = {"host": postgres.host, "port": postgres.port, "user": postgres.user, "dbname": database}
    env = {**os.environ, "PYTHONPATH": str(REPO / "bench")}
    return _child([sys.executable, "-c", COPY_ONLY, json.dumps(server), str(out / "events.csv.gz")], env)


def _child(command: list[str], env: dict[str, str], cwd: Path = REPO) -> dict[str, float]:
    """Run a child (``python -c``: its working directory comes first on ``sys.path``)."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv"], choices=["csv", "jsonl", "parquet", "xml"])
    parser.add_argument(
        "--drivers", nargs="+", default=["airflow"], choices=["airflow", "adbc", "psycopg", "psycopg2"],
        help="airflow: through the Airflow connection (ADBC where installed); others: that driver",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=50_000, help="source.batch_size")
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    parser.add_argument(
        "--before", type=Path, help="a checkout of an earlier commit: its export runs too, as 'before'"
    )
    args = parser.parse_args()
    header = ("| rows | pipeline | format | inside | rows/s | vs copy-only | whole process | peak RSS |\n"
              "|---:|---|---|---:|---:|---:|---:|---:|")  # fmt: skip
    lines = [header]
    print(header, flush=True)
    with throwaway_postgres() as postgres:
        for rows in args.rows:
            database = f"bench_{rows}"
            loaded = load(postgres, rows, database)
            print(f"loaded {rows:,} rows in {loaded:.1f} s", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as out:
                peer = copy_only(postgres, database, Path(out))
            assert peer["records"] == rows, peer
            lines.append(_line(rows, "copy-only (COPY csv → gzip)", "csv", peer, peer))
            print(lines[-1], flush=True)
            for fmt in args.formats:
                runs = [(f"ours ({driver})", driver, REPO) for driver in args.drivers]
                if args.before:
                    runs.insert(0, ("before (this bench's base commit)", "airflow", args.before))
                for name, driver, code in runs:
                    with tempfile.TemporaryDirectory() as out:
                        result = export(postgres, database, Path(out), args.batch_size, fmt, driver, code)
                    assert result["records"] == rows, result
                    lines.append(_line(rows, name, fmt, result, peer))
                    print(lines[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


def _line(rows: int, pipeline: str, fmt: str, result: dict[str, float], peer: dict[str, float]) -> str:
    rate, ratio = rows / result["seconds"], peer["seconds"] / result["seconds"]
    return (f"| {rows:,} | {pipeline} | {fmt} | {result['seconds']:.1f} s | {rate:,.0f} | **{ratio:.2f}** "
            f"| {result['wall']:.1f} s | {result['peak_rss_mb']:,.0f} MB |")  # fmt: skip


if __name__ == "__main__":
    main()
