"""Ours: the export operator (the code path of a DAG run) for one window, in its own process.

    python bench/ours.py SPEC_JSON WINDOW_START WINDOW_END [--profile OUT.txt]

``AIRFLOW_CONN_AWS_DEFAULT`` points the aws connection at the loopback S3. Prints one
JSON line: records, bytes, files, seconds, CPU seconds (all threads) and peak RSS. With
``--profile`` the run is sampled by pyinstrument and its text report written to OUT.txt.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from peak import peak_rss_mb


def import_before_the_clock() -> None:
    """Both children start the clock with their libraries imported (the ceiling imports boto3).

    The export imports the amazon provider's S3 hook when it first writes (0.4 s), and
    pyarrow imports pandas on its first conversion of a Python value (1 s), in any
    process: one-time costs of a worker process, not of the export's throughput.
    """
    import contextlib

    import airflow.providers.amazon.aws.hooks.s3  # noqa: F401

    with contextlib.suppress(ImportError):
        import pandas  # noqa: F401


def main() -> None:
    spec, start, end = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    profile_to = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--profile" else None

    from airflow_export_provider.operators.export import EventExportOperator

    import_before_the_clock()

    operator = EventExportOperator(task_id="bench", spec=spec, window_start=start, window_end=end)
    profiler = None
    if profile_to:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = operator.execute(context={})  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        profiler.stop()
        Path(profile_to).write_text(profiler.output_text(unicode=True, show_all=False, timeline=False))
    peak = peak_rss_mb()
    print(json.dumps({"records": result["records"], "bytes": result["bytes"], "files": result["files"],
                      "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": peak}))  # fmt: skip


if __name__ == "__main__":
    main()
