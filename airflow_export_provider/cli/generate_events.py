"""``airflow-export generate-events``: seeded sample events in a lake folder."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

NAME = "generate-events"
HELP = "write seeded sample events into a lake folder"
EXAMPLE = "airflow-export generate-events --out /tmp/lake --days 2"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.testing.sample_events import write_lake

    files = write_lake(
        args.out,
        args.start,
        args.days,
        args.events_per_day,
        file_format=args.format,
        seed=args.seed,
        hostile_names=args.hostile_names,
    )
    print(f"wrote {args.days * args.events_per_day:,} events in {len(files)} files under {args.out}")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="the lake folder to write (date=YYYY-MM-DD/...)"
    )
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=dt.date(2025, 3, 1),
        help="first day (default 2025-03-01)",
    )
    parser.add_argument("--days", type=int, default=1, help="how many days (default 1)")
    parser.add_argument(
        "--events-per-day", type=int, default=100_000, help="events per day (default 100,000)"
    )
    parser.add_argument(
        "--format", choices=["parquet", "jsonl"], default="parquet", help="file format (default parquet)"
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="the same seed writes the same events (default 7)"
    )
    parser.add_argument(
        "--hostile-names",
        action="store_true",
        help="add event names chosen to hurt keys and readers ('../etc/passwd', '100%% done', …)",
    )
