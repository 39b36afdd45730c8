"""``airflow-export``: demo, generate-events, validate, preview, check, policy, status, run.

``run`` exports windows without a scheduler through the same code path as the operator;
credentials come from Airflow connections as in a task (``AIRFLOW_CONN_<ID>`` environment
variables or the metadata database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from airflow_export_provider.exceptions import ExportError, ExportSpecError
from airflow_export_provider.hooks.airflow_api import AirflowApiError


def _validate(args: argparse.Namespace) -> int:
    from airflow_export_provider.spec import ExportSpec

    failed = 0
    for path in args.specs:
        try:
            spec = ExportSpec.from_yaml(path)
        except ExportSpecError as error:
            failed += 1
            print(error, file=sys.stderr)
            continue
        print(f"{path}: ok — DAG {spec.dag_id}, {spec.schedule.description}, "
              f"{spec.format.type}.{spec.format.outer_compression}, spec hash {spec.spec_hash}")  # fmt: skip
    return 1 if failed else 0


def _generate(args: argparse.Namespace) -> int:
    from airflow_export_provider.testing.sample_events import write_lake

    files = write_lake(
        args.out, args.start, args.days, args.events_per_day, file_format=args.format, seed=args.seed
    )
    print(f"wrote {args.days * args.events_per_day:,} events in {len(files)} files under {args.out}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from airflow_export_provider.engine.run import export_window
    from airflow_export_provider.engine.windows import parse_moment
    from airflow_export_provider.hooks.connections import destination_for, source_for
    from airflow_export_provider.spec import ExportSpec

    spec = ExportSpec.from_yaml(args.spec)
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


def _preview(args: argparse.Namespace) -> int:
    from airflow_export_provider.engine.preview import preview, render, sample_window
    from airflow_export_provider.engine.windows import Window, parse_moment
    from airflow_export_provider.hooks.connections import destination_for, source_for
    from airflow_export_provider.spec import ExportSpec

    spec = ExportSpec.from_yaml(args.spec)
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


def _check(args: argparse.Namespace) -> int:
    from airflow_export_provider.engine.bucket_access import BucketAccessError
    from airflow_export_provider.hooks.connections import access_checker_for
    from airflow_export_provider.spec import ExportSpec

    spec = ExportSpec.from_yaml(args.spec)
    if spec.destination.type != "s3":
        print(f"{args.spec}: destination is a local folder; nothing to check")
        return 0
    checker = access_checker_for(spec.destination, spec.export_id)
    try:
        report = checker.check()
    except BucketAccessError as error:
        print(f"{args.spec}: {error}", file=sys.stderr)
        return 3
    print(f"{args.spec}: {report.summary()}")
    return 0


def _policy(args: argparse.Namespace) -> int:
    from airflow_export_provider.engine.policy import render
    from airflow_export_provider.spec import ExportSpec

    spec = ExportSpec.from_yaml(args.spec)
    if spec.destination.type != "s3":
        print(f"{args.spec}: destination is a local folder; no AWS policy applies", file=sys.stderr)
        return 2
    sys.stdout.write(render(spec.destination, spec.export_id, args.principal))
    return 0


def _status(args: argparse.Namespace) -> int:
    from airflow_export_provider.hooks.airflow_api import AirflowApi
    from airflow_export_provider.spec import ExportSpec
    from airflow_export_provider.status import recent_runs, render

    spec = ExportSpec.from_yaml(args.spec)
    api = AirflowApi.from_connection(args.api_conn_id or spec.access.airflow_api_conn_id)
    for dag_id in (spec.dag_id, spec.one_time_dag_id) if spec.one_time.enabled else (spec.dag_id,):
        paused, rows = recent_runs(api, dag_id, args.limit)
        sys.stdout.write(render(dag_id, paused, rows))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from airflow_export_provider.testing.demo import run_demo

    return run_demo(events_per_day=args.events_per_day, keep=args.keep)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="airflow-export", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the demo export end to end on a loopback S3 API")
    demo.add_argument("--events-per-day", type=int, default=200_000)
    demo.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    demo.set_defaults(handler=_demo)

    generate = commands.add_parser("generate-events", help="write seeded sample events into a lake folder")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2025, 3, 1))
    generate.add_argument("--days", type=int, default=1)
    generate.add_argument("--events-per-day", type=int, default=100_000)
    generate.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    generate.add_argument("--seed", type=int, default=7)
    generate.set_defaults(handler=_generate)

    validate = commands.add_parser("validate", help="check export definitions (YAML) and explain any error")
    validate.add_argument("specs", nargs="+", type=Path)
    validate.set_defaults(handler=_validate)

    show = commands.add_parser(
        "preview", help="show the object keys and first records a spec writes for one window (writes nothing)"
    )
    show.add_argument("spec", type=Path)
    show.add_argument("--window", help="window start (grid point); default: first window of start_date")
    show.add_argument("--records", type=int, default=5, help="records to show (default 5)")
    show.add_argument("--event", help="show this event's records (default: the event with most records)")
    show.add_argument(
        "--max-rows", type=int, default=100_000, help="stop reading the source after this many rows"
    )
    show.add_argument("--source-path", help="read events from this lake path instead of the spec's")
    show.set_defaults(handler=_preview)

    check = commands.add_parser(
        "check", help="verify the destination with the export's credentials; name what is wrong and the fix"
    )
    check.add_argument("spec", type=Path)
    check.set_defaults(handler=_check)

    policy = commands.add_parser("policy", help="print the IAM (and bucket) policy an export needs")
    policy.add_argument("spec", type=Path)
    policy.add_argument(
        "--principal", help="ARN of a role/user in another account: also print a bucket policy"
    )
    policy.set_defaults(handler=_policy)

    status = commands.add_parser(
        "status", help="the export's latest runs and their status, from the Airflow API"
    )
    status.add_argument("spec", type=Path)
    status.add_argument("--limit", type=int, default=10)
    status.add_argument(
        "--api-conn-id", help="http connection to the API server (default: access.airflow_api_conn_id)"
    )
    status.set_defaults(handler=_status)

    run = commands.add_parser("run", help="export the grid windows in [start, end) without a scheduler")
    run.add_argument("--spec", type=Path, required=True)
    run.add_argument("--start", required=True, help="grid point, e.g. 2025-03-01 or 2025-03-01T04:00")
    run.add_argument("--end", required=True)
    run.add_argument("--instance-id", type=int, default=0)
    run.add_argument(
        "--allow-fewer-records",
        action="store_true",
        help="publish a window even if it then holds fewer records than its published version "
        "(e.g. after users' events were deleted at the source); refused otherwise",
    )
    run.set_defaults(handler=_run)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        code: int = args.handler(args)
    except (ExportError, AirflowApiError) as error:
        print(f"airflow-export: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
