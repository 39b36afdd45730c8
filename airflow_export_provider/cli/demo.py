"""``airflow-export demo``: the demo export end to end on a loopback S3 API."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "run the demo export end to end on a loopback S3 API"
EXAMPLE = "airflow-export demo --events-per-day 50000 --keep /tmp/export-demo"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.testing.demo import run_demo

    return run_demo(events_per_day=args.events_per_day, keep=args.keep)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events-per-day", type=int, default=200_000, help="sample events per day (default 200,000)"
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
