"""The peer: the amazon provider's ``SqlToS3Operator`` exporting the same window from PostgreSQL.

    python bench/peer.py FORMAT BUCKET KEY WINDOW_START WINDOW_END

``AIRFLOW_CONN_BENCH_DB`` (postgres) and ``AIRFLOW_CONN_AWS_DEFAULT`` (loopback S3) are
set by ``bench/run.py``. The operator reads the whole result into a pandas DataFrame,
writes it into an in-memory buffer and uploads it: CSV gzip-compressed (``df_kwargs``),
JSON as records, Parquet with pandas' default. Prints one JSON line like the others.
"""

from __future__ import annotations

import json
import sys
import time

from peak import peak_rss_mb


def main() -> None:
    fmt, bucket, key, start, end = sys.argv[1:6]
    from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator

    df_kwargs = {"csv": {"compression": "gzip", "index": False}, "json": {"orient": "records", "lines": True},
                 "parquet": {}}[fmt]  # fmt: skip
    operator = SqlToS3Operator(
        task_id="peer",
        query="SELECT * FROM app.events WHERE occurred_at >= %(start)s AND occurred_at < %(end)s "
        "ORDER BY occurred_at",
        parameters={"start": start, "end": end},
        s3_bucket=bucket,
        s3_key=key,
        sql_conn_id="bench_db",
        file_format=fmt,
        df_kwargs=df_kwargs,
        replace=True,
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    operator.execute(context={})  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    client = S3Hook(aws_conn_id="aws_default").get_conn()
    listed = client.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    peak = peak_rss_mb()
    print(json.dumps({"records": None, "bytes": sum(o["Size"] for o in listed), "files": len(listed),
                      "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": peak}))  # fmt: skip


if __name__ == "__main__":
    main()
