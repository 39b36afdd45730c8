"""``airflow-export check``: the destination checked with the export's own credentials."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "check"
HELP = "verify the destination with the export's credentials; name what is wrong and the fix"
EXAMPLE = "airflow-export check exports/daily.yaml"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.cli.connections import load_spec_with_connections
    from airflow_export_provider.engine.access_errors import BucketAccessError
    from airflow_export_provider.hooks.connections import access_checker_for

    spec = load_spec_with_connections(args.spec)
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


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the export definition (YAML)")
