"""The peer no one here wrote: DuckDB's partitioned COPY of one day of the lake, in its own process.

    python bench/duckdb_copy.py LAKE_FILE OUT_DIR FORMAT

``COPY (SELECT … FROM read_parquet(lake)) TO OUT_DIR (FORMAT …, COMPRESSION …,
PARTITION_BY (event_name))``: one folder per event name, as the export writes one series
of files per event. CSV flattens the structs (``profile.*``, ``device.*``,
``properties.*``) the way the export's CSV does, JSON and Parquet keep them nested;
gzip for the text formats and zstd for Parquet, as the export's defaults. Prints one
JSON line: the COPY's own seconds, CPU seconds, peak RSS and bytes written.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from peak import peak_rss_mb

OPTIONS = {
    "csv": "FORMAT csv, COMPRESSION gzip, HEADER true",
    "jsonl": "FORMAT json, COMPRESSION gzip",
    "parquet": "FORMAT parquet, COMPRESSION zstd",
}
NESTED = ("custom_identities", "profile", "device", "comm_prefs", "properties")


def select_list(fmt: str) -> str:
    if fmt != "csv":
        return "*"
    flat = [f"{name}.*" for name in NESTED]
    return "event_name, event_time, user_id, identity, email, phone, event_name AS event, " + ", ".join(flat)


def main() -> None:
    lake, out, fmt = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    import duckdb

    connection = duckdb.connect()
    started, cpu_started = time.perf_counter(), time.process_time()
    # ``event`` keeps the name in the files: PARTITION_BY moves the column into the folder name.
    select = select_list(fmt) if fmt == "csv" else "*, event_name AS event"
    connection.execute(
        f"COPY (SELECT {select} FROM read_parquet('{lake}')) TO '{out}' "
        f"({OPTIONS[fmt]}, PARTITION_BY (event_name), OVERWRITE_OR_IGNORE true)"
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    files = [path for path in out.rglob("*") if path.is_file()]
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "files": len(files),
                      "bytes": sum(path.stat().st_size for path in files),
                      "peak_rss_mb": peak_rss_mb()}))  # fmt: skip


if __name__ == "__main__":
    main()
