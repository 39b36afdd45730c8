"""A DAGs folder of 200 definitions: the DAG processor's way of processing it shows every DAG.

The file is processed in a fresh interpreter as Airflow's DAG processor does (a
``DagBag`` of the loader, then every DAG serialised), so what parsing imports is what
that process imports. The engine's heavy dependencies stay out: pyarrow, boto3 and
requests are for the task that runs. (Airflow's own asset-URI discovery, which any
``s3://`` asset starts, imports the amazon provider's S3 hook; the test lets it happen
first, so only this provider's imports count.) Timings are measured by
``bench/parse_dags.py``, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_export_provider.testing.many_definitions import write_dags_folder

pytestmark = pytest.mark.system
COUNT = 200

PROCESS = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset
from airflow.serialization.serialized_objects import DagSerialization
Asset(name="warm-up", uri="s3://bucket/key")  # Airflow's asset-URI discovery: its imports, not ours
before = set(sys.modules)
bag = DagBag(dag_folder=sys.argv[1], load_op_links=False)
serialised = {dag_id: DagSerialization.to_dict(dag) for dag_id, dag in bag.dags.items()}
new = set(sys.modules) - before
print(json.dumps({
    "dag_ids": sorted(serialised),
    "errors": {str(k): v for k, v in bag.import_errors.items()},
    "imported": sorted(m for m in ("pyarrow", "boto3", "requests", "pandas") if m in new),
    "params": {d: s["dag"].get("params") for d, s in serialised.items() if d.endswith("__one_time")},
    "task_params": sorted({t["__var"].get("task_id") for d, s in serialised.items()
                           for t in s["dag"]["tasks"] if t["__var"].get("params")}),
}))
"""


def test_every_dag_of_200_definitions_appears_and_parsing_imports_no_engine(tmp_path: Path) -> None:
    loader = write_dags_folder(tmp_path / "dags", COUNT)
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(loader.parent)}
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, str(loader)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    export_ids = sorted(path.stem for path in (loader.parent / "exports").glob("*.yaml"))
    assert len(export_ids) == COUNT
    expected = sorted([f"export__{i}" for i in export_ids] + [f"export__{i}__one_time" for i in export_ids])
    assert result["dag_ids"] == expected
    assert result["imported"] == [], "parsing imported what only a running task needs"
    # The Trigger form's fields are the DAG's; tasks get them from the DAG at run time.
    for params in result["params"].values():
        assert [name for name, _ in params] == ["start", "end", "allow_fewer_records"]
    assert result["task_params"] == []
