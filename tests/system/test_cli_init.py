"""`airflow-export init` gives a DAGs folder the loader and a template that becomes a DAG once edited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


def airflow_export(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("airflow-export")), *args]
    return subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)


def test_init_then_edit_the_template_and_the_dag_appears(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dags = tmp_path / "dags"
    done = airflow_export("init", str(dags))
    assert done.returncode == 0, done.stderr[-2000:]
    template = dags / "exports" / "my_first_export.yaml.example"
    assert (dags / "exports_from_yaml.py").is_file() and template.is_file()

    refused = airflow_export("validate", str(template))
    assert refused.returncode == 1 and "EDIT-your-export-bucket" in refused.stderr  # unusable until edited

    edited = template.read_text().replace("EDIT-your-event-lake", "my-event-lake")
    edited = edited.replace("EDIT-your-export-bucket", "my-export-bucket")
    definition = template.with_suffix("")
    definition.write_text(edited)
    template.unlink()
    assert airflow_export("validate", str(definition)).returncode == 0

    bag = DagBag(dag_folder=str(dags))
    assert not bag.import_errors, bag.import_errors
    assert {"export__my_first_export", "export__my_first_export__one_time"} <= set(bag.dag_ids)

    again = airflow_export("init", str(dags))
    assert again.returncode == 2 and "--force" in again.stdout
    assert (dags / "exports_from_yaml.py").read_text() == (Path(__file__).parents[2] / "example_dags" /
                                                          "exports_from_yaml.py").read_text()  # fmt: skip
