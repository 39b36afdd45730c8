"""``airflow-export policy``: the IAM (and bucket) policy an export needs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "policy"
HELP = "print the IAM (and bucket) policy an export needs"
EXAMPLE = "airflow-export policy exports/daily.yaml --principal arn:aws:iam::123456789012:role/exporter"


def handle(args: argparse.Namespace) -> int:
    from airflow_export_provider.engine.policy import render
    from airflow_export_provider.spec import ExportSpec

    spec = ExportSpec.from_yaml(args.spec)
    if spec.destination.type != "s3":
        print(f"{args.spec}: destination is a local folder; no AWS policy applies", file=sys.stderr)
        return 2
    sys.stdout.write(render(spec.destination, spec.export_id, args.principal))
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the export definition (YAML)")
    parser.add_argument(
        "--principal", help="ARN of a role/user in another account: also print a bucket policy"
    )
