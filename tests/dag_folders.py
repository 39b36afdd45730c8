"""A DAGs folder of one drop-in definition, parsed the way Airflow parses it (for dag.test())."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO


def dag_of_definition(
    folder: Path, definition: dict[str, Any], dag_id: str, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Write ``definition`` as ``exports/<export_id>.yaml`` next to the example loader and return ``dag_id``.

    ``dag.test()`` finds DAGs by parsing the DAGs folder, so the folder becomes Airflow's.
    """
    import airflow.settings
    from airflow.dag_processing.dagbag import DagBag

    (folder / "exports").mkdir(parents=True)
    (folder / "exports" / f"{definition['export_id']}.yaml").write_text(yaml.safe_dump(definition))
    (folder / "exports_from_yaml.py").write_text((REPO / "example_dags" / "exports_from_yaml.py").read_text())
    monkeypatch.setattr(airflow.settings, "DAGS_FOLDER", str(folder))
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)
