"""``airflow-export run``: export grid windows without a scheduler, as the operator does.

Credentials come from Airflow connections as in a task (``AIRFLOW_CONN_<ID>``
environment variables or the metadata database)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

NAME = "run"
HELP = "export the grid windows in [start, end) without a scheduler"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.cli.connections import load_spec_with_connections
    from airflow_export_provider.engine.run import export_window
    from airflow_export_provider.engine.windows import parse_moment
    from airflow_export_provider.hooks.connections import destination_for, source_for

    spec = load_spec_with_connections(args.spec)
    zone = spec.schedule.timezone
    windows = spec.schedule.grid.windows(parse_moment(args.start, zone), parse_moment(args.end, zone))
    source, destination = source_for(spec.source, spec.schedule.grid), destination_for(spec.destination)
    log = logging.getLogger("airflow_export_provider.cli")
    for window in windows:
        result = export_window(
            spec, window, source=source, destination=destination, instance_id=args.instance_id, log=log,
            allow_fewer_records=args.allow_fewer_records, run_label="`airflow-export run`",
        )  # fmt: skip
        print(f"{window.label}: {result.records:,} records, {len(result.files)} files, {result.bytes:,} B, "
              f"manifest {result.manifest_url}")  # fmt: skip
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--start", required=True, help="grid point, e.g. 2025-03-01 or 2025-03-01T04:00")
    parser.add_argument("--end", required=True)
    parser.add_argument("--instance-id", type=int, default=0)
    parser.add_argument(
        "--allow-fewer-records",
        action="store_true",
        help="publish a window even if it then holds fewer records than its published version "
        "(e.g. after users' events were deleted at the source); refused otherwise",
    )
