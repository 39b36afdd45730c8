"""``airflow-export run``: export grid windows without a scheduler, as the operator does.

Credentials come from Airflow connections as in a task (``AIRFLOW_CONN_<ID>``
environment variables or the metadata database)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

NAME = "run"
HELP = "export the grid windows in [start, end) without a scheduler"
EXAMPLE = "airflow-export run exports/daily.yaml --start 2025-03-01 --end 2025-03-03"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.cli.connections import load_spec_with_connections
    from airflow_export_provider.engine.run import export_window
    from airflow_export_provider.engine.windows import parse_moment
    from airflow_export_provider.hooks.connections import destination_for, source_for

    spec = load_spec_with_connections(_spec_path(args))
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
    parser.add_argument("spec", type=Path, nargs="?", help="the export definition (YAML)")
    parser.add_argument("--spec", dest="spec_option", type=Path, help=argparse.SUPPRESS)  # before 0.2
    parser.add_argument(
        "--start", required=True, help="first window's start, a grid point: 2025-03-01 or 2025-03-01T04:00"
    )
    parser.add_argument("--end", required=True, help="end of the last window (exclusive), a grid point")
    parser.add_argument("--instance-id", type=int, default=0, help="the file names' instance id (default 0)")
    parser.add_argument(
        "--allow-fewer-records",
        action="store_true",
        help="publish a window even if it then holds fewer records than its published version "
        "(e.g. after users' events were deleted at the source); refused otherwise",
    )


def _spec_path(args: argparse.Namespace) -> Path:
    """The positional definition, or the old ``--spec`` option (with a note to switch)."""
    if args.spec is not None and args.spec_option is not None:
        raise SystemExit("airflow-export run: give the definition once (positional), not also --spec")
    if args.spec_option is not None:
        print("airflow-export: 'run --spec FILE' is deprecated; write 'run FILE'", file=sys.stderr)
        return Path(args.spec_option)
    if args.spec is None:
        raise SystemExit(
            "airflow-export run: the export definition (YAML) is missing: run FILE --start ... --end ..."
        )
    return Path(args.spec)
