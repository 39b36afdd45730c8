"""``airflow-export preview``: the keys and first records a spec writes for one window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "preview"
HELP = "show the object keys and first records a spec writes for one window (writes nothing)"
EXAMPLE = "airflow-export preview exports/daily.yaml --window 2025-03-01 --event Purchase"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.cli.connections import load_spec_with_connections
    from airflow_export_provider.engine.preview import preview, render, sample_window
    from airflow_export_provider.engine.windows import Window, parse_moment
    from airflow_export_provider.hooks.connections import destination_for, source_for

    spec = load_spec_with_connections(args.spec)
    if args.source_path is not None:
        if spec.source.type != "lake":
            print("airflow-export: --source-path only applies to lake sources", file=sys.stderr)
            return 2
        spec = spec.model_copy(update={"source": spec.source.model_copy(update={"path": args.source_path})})
    grid = spec.schedule.grid
    if args.window is None:
        window = sample_window(spec)
    else:
        start = grid.require_point(parse_moment(args.window, spec.schedule.timezone), "--window")
        window = Window(start, grid.next_after(start))
    try:
        destination = destination_for(spec.destination)
    except Exception as error:
        print(f"airflow-export: destination not reachable ({type(error).__name__}); keys are still shown")
        destination = None
    result = preview(
        spec,
        window,
        source=source_for(spec.source, spec.schedule.grid),
        real_destination=destination,
        records=args.records,
        event=args.event,
        max_rows=args.max_rows,
    )
    sys.stdout.write(render(spec, result))
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the export definition (YAML)")
    parser.add_argument("--window", help="window start (grid point); default: first window of start_date")
    parser.add_argument("--records", type=int, default=5, help="records to show (default 5)")
    parser.add_argument("--event", help="show this event's records (default: the event with most records)")
    parser.add_argument(
        "--max-rows", type=int, default=100_000, help="stop reading the source after this many rows"
    )
    parser.add_argument("--source-path", help="read events from this lake path instead of the spec's")
