"""``airflow-export``: init, demo, generate-events, validate, preview, check, policy, status, run.

One module per verb, each with its ``NAME``, ``HELP``, ``configure(parser)`` and
``handle(args)``; this module assembles them. ``run`` exports windows without a scheduler
through the same code path as the operator.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from types import ModuleType

from airflow_export_provider.cli import (
    check,
    demo,
    generate_events,
    init,
    policy,
    preview,
    run,
    status,
    validate,
)
from airflow_export_provider.cli.logs import log_to_stderr
from airflow_export_provider.exceptions import ExportError, first_line
from airflow_export_provider.hooks.airflow_api import AirflowApiError
from airflow_export_provider.version import __version__

VERBS: tuple[ModuleType, ...] = (init, demo, generate_events, validate, preview, check, policy, status, run)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="airflow-export",
        description="Export event data to S3 as Airflow does, from the command line: check a definition, "
        "preview its files, check the bucket's access, export windows, see the runs.",
        epilog="Examples:\n" + "\n".join(f"  {verb.EXAMPLE}" for verb in VERBS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    root.add_argument("--debug", action="store_true", help="show the full traceback of a failure")
    commands = root.add_subparsers(dest="command", required=True)
    for verb in VERBS:
        verb_parser = commands.add_parser(
            verb.NAME,
            help=verb.HELP,
            description=verb.HELP,
            epilog=f"Example:\n  {verb.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        verb.configure(verb_parser)
        verb_parser.set_defaults(handler=verb.handle)
    return root


def main(argv: list[str] | None = None) -> int:
    """Runs one verb; a failure is one line on stderr and a non-zero exit (``--debug``: the traceback)."""
    args = parser().parse_args(argv)
    log_to_stderr()
    with _quiet_airflow(enabled=not args.debug):
        try:
            code: int = args.handler(args)
        except (ExportError, AirflowApiError) as error:
            if args.debug:
                raise
            print(f"airflow-export: {error}", file=sys.stderr)
            return 2
        except Exception as error:
            if args.debug:
                raise
            print(f"airflow-export: {_one_line(error)}", file=sys.stderr)
            return 1
    return code


@contextlib.contextmanager
def _quiet_airflow(*, enabled: bool) -> Iterator[None]:
    """Airflow's own INFO lines (configuration, hooks) are noise in a CLI's output.

    Only for the verb's run: a caller that runs ``main`` in its own process (tests, a DAG
    calling the CLI) gets its environment and logger levels back.
    """
    if not enabled or "AIRFLOW__LOGGING__LOGGING_LEVEL" in os.environ:
        yield
        return
    airflow_logger = logging.getLogger("airflow")
    level = airflow_logger.level
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    airflow_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        os.environ.pop("AIRFLOW__LOGGING__LOGGING_LEVEL", None)
        airflow_logger.setLevel(level)


def _one_line(error: Exception) -> str:
    """An unexpected error as one line a person can act on; ``--debug`` shows where it came from."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from airflow_export_provider.cli.connections import where_connections_come_from

    if isinstance(error, AirflowNotFoundException):
        return f"{first_line(error)}: looked in {where_connections_come_from()}"
    return f"{type(error).__name__}: {first_line(error)} (--debug shows the traceback)"
