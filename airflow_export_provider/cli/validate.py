"""``airflow-export validate``: check export definitions and explain every error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from airflow_export_provider.exceptions import ExportSpecError

NAME = "validate"
HELP = "check export definitions (YAML) and explain any error"
EXAMPLE = "airflow-export validate dags/exports/*.yaml"


def handle(args: argparse.Namespace) -> int:
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


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", type=Path, help="export definitions (YAML)")
