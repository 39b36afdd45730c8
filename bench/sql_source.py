"""Benchmark: export one day of events from PostgreSQL; rows/s and peak RSS at several sizes.

    .venv/bin/python bench/sql_source.py --rows 1000000 5000000

For each size: seeded sample events go into a throwaway PostgreSQL (the test suite's
``tests/postgres.py``: Debian binaries, a cluster in a temp dir on 127.0.0.1), streamed
into ``COPY`` batch by batch. Then a fresh Python process exports the day through the
same code path as a DAG run (``export_window``), CSV.gz to a local folder, and reports
rows/s, MB/s written and its own peak RSS. Memory should be flat across sizes: the
source streams a server-side cursor and the writer is bounded by the batch.
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
import json, resource, sys, tempfile, time
import pendulum
from airflow_export_provider.hooks.connections import destination_for
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.hooks.connections import source_for
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.engine.windows import Window
spec = ExportSpec.from_mapping(json.loads(sys.argv[1]))
window = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
started = time.perf_counter()
source, destination = source_for(spec.source), destination_for(spec.destination)
result = export_window(spec, window, source=source, destination=destination)
seconds = time.perf_counter() - started
print(json.dumps({"records": result.records, "bytes": result.bytes, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
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


def export(postgres: Postgres, database: str, out: Path, batch_size: int) -> dict[str, float]:
    spec = {
        "export_id": "bench", "account_id": "bench",
        "source": {"type": "sql", "conn_id": "bench_db", "table": "app.events", "columns": COLUMNS,
                   "batch_size": batch_size},
        "destination": {"type": "local", "path": str(out)}, "format": {"type": "csv"},
        "schedule": {"every": "24h"},
    }  # fmt: skip
    connection = {"conn_type": "postgres", "host": postgres.host, "port": postgres.port,
                  "login": postgres.user, "schema": database}  # fmt: skip
    env = {**os.environ, "AIRFLOW_CONN_BENCH_DB": json.dumps(connection), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", CHILD, json.dumps(spec)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--batch-size", type=int, nargs="+", default=[50_000], help="source.batch_size values"
    )
    args = parser.parse_args()
    columns = ("rows", "batch", "load s", "export s", "rows/s", "MB/s", "peak RSS MB")
    widths = (10, 6, 7, 8, 9, 6, 11)
    print("  ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    with throwaway_postgres() as postgres:
        for rows in args.rows:
            database = f"bench_{rows}"
            loaded = load(postgres, rows, database)
            for batch_size in args.batch_size:
                with tempfile.TemporaryDirectory() as out:
                    result = export(postgres, database, Path(out), batch_size)
                assert result["records"] == rows, result
                seconds = result["seconds"]
                rate, megabytes = rows / seconds, result["bytes"] / 1e6 / seconds
                line = f"{rows:>10,}  {batch_size:>6,}  {loaded:>7.1f}  {seconds:>8.1f}  {rate:>9,.0f}"
                line += f"  {megabytes:>6.1f}"
                print(f"{line}  {result['peak_rss_mb']:>11,.0f}", flush=True)


if __name__ == "__main__":
    main()
