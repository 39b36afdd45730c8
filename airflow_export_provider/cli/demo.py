"""``airflow-export demo``: the demo export end to end on a loopback S3 API."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "run the demo export end to end on a loopback S3 API"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.testing.demo import run_demo

    return run_demo(events_per_day=args.events_per_day, keep=args.keep)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events-per-day", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
