"""``airflow-export``: demo, generate-events, validate, preview, check, policy, status, run.

One module per verb, each with its ``NAME``, ``HELP``, ``configure(parser)`` and
``handle(args)``; this module assembles them. ``run`` exports windows without a scheduler
through the same code path as the operator.
"""

from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType

from airflow_export_provider.cli import check, demo, generate_events, policy, preview, run, status, validate
from airflow_export_provider.exceptions import ExportError
from airflow_export_provider.hooks.airflow_api import AirflowApiError

VERBS: tuple[ModuleType, ...] = (demo, generate_events, validate, preview, check, policy, status, run)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="airflow-export", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    for verb in VERBS:
        verb_parser = commands.add_parser(verb.NAME, help=verb.HELP)
        verb.configure(verb_parser)
        verb_parser.set_defaults(handler=verb.handle)
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
