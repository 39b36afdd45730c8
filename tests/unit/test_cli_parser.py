"""The CLI explains itself: help for every argument, an example per verb, --version."""

from __future__ import annotations

import argparse
import os
import re

import pytest

from airflow_export_provider.cli import VERBS, main, parser
from airflow_export_provider.version import __version__


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("verb", [verb.NAME for verb in VERBS])
def test_every_argument_of_every_verb_says_what_it_is(verb: str) -> None:
    verb_parser = subparsers()[verb]
    for action in verb_parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{verb}: {action.dest} has no help"
    example = next(v.EXAMPLE for v in VERBS if verb == v.NAME)
    assert example.startswith(f"airflow-export {verb}") and example in verb_parser.format_help()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"airflow-export {__version__}"


def test_the_top_level_help_is_plain_text_with_examples() -> None:
    text = parser().format_help()
    assert "``" not in text and "Examples:" in text
    assert len(re.findall(r"^  airflow-export \S+", text, re.M)) == len(VERBS)


def test_run_takes_the_definition_as_its_first_argument_and_still_accepts_spec() -> None:
    args = parser().parse_args(["run", "daily.yaml", "--start", "2025-03-01", "--end", "2025-03-02"])
    assert str(args.spec) == "daily.yaml" and args.spec_option is None
    old = parser().parse_args(["run", "--spec", "daily.yaml", "--start", "2025-03-01", "--end", "2025-03-02"])
    assert old.spec is None and str(old.spec_option) == "daily.yaml"


def test_running_a_verb_in_process_leaves_the_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quiet Airflow logging of a CLI call must not leak into processes the caller starts later."""
    from pathlib import Path

    monkeypatch.delenv("AIRFLOW__LOGGING__LOGGING_LEVEL", raising=False)
    demo = Path(__file__).parents[2] / "example_dags" / "exports" / "demo_events.yaml"
    assert main(["validate", str(demo)]) == 0
    assert "AIRFLOW__LOGGING__LOGGING_LEVEL" not in os.environ
