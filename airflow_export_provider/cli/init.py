"""``airflow-export init``: the drop-in loader and a template definition in a DAGs folder."""

from __future__ import annotations

import argparse
from importlib.resources import files
from pathlib import Path

NAME = "init"
HELP = "write the YAML loader and a template export definition into a DAGs folder"
EXAMPLE = "airflow-export init ~/airflow/dags"
# What init writes, from the package's examples, relative to the DAGs folder.
FILES = ("exports_from_yaml.py", "exports/my_first_export.yaml.example")


def handle(args: argparse.Namespace) -> int:
    dags: Path = args.dags_folder.expanduser()
    examples = files("airflow_export_provider").joinpath("examples")
    targets = [dags / name for name in FILES]
    existing = [str(target) for target in targets if target.exists()]
    if existing and not args.force:
        print(f"airflow-export init: {', '.join(existing)} already exist(s); --force replaces them")
        return 2
    for name, target in zip(FILES, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(examples.joinpath(name).read_bytes())
        print(f"wrote {target}")
    template = targets[1]
    print(
        f"next: edit {template} (the values marked EDIT), rename it to {template.with_suffix('')}, "
        f"then: airflow-export validate {template.with_suffix('')}"
    )
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dags_folder", type=Path, help="the Airflow DAGs folder ([core] dags_folder)")
    parser.add_argument("--force", action="store_true", help="replace files that already exist")
