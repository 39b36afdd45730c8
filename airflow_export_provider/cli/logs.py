"""The CLI's log lines go to stderr, so stdout carries only each verb's result."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(message)s"


def log_to_stderr() -> None:
    """Log to stderr; called again once Airflow's settings are loaded, which log to stdout.

    Only handlers writing to stdout are replaced: others (a caller's own) stay.
    """
    logging.getLogger("airflow_export_provider").setLevel(logging.INFO)  # ours, whatever Airflow's level
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=FORMAT, stream=sys.stderr)
        return
    to_stdout = [
        handler
        for handler in root.handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__)
    ]
    for handler in to_stdout:
        root.removeHandler(handler)
    if to_stdout:
        replacement = logging.StreamHandler(sys.stderr)
        replacement.setFormatter(to_stdout[0].formatter or logging.Formatter(FORMAT))
        root.addHandler(replacement)
