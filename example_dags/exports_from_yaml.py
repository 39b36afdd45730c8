"""Drop-in exports: every YAML file in ``exports/`` next to this file becomes a DAG ``export__<export_id>``.

Copy this file and the ``exports/`` folder into your DAGs folder; add or edit YAML files
there. An invalid definition shows up as an import error of this file naming the file and
the key (run ``airflow-export validate exports/*.yaml`` before deploying).
"""

from pathlib import Path

from airflow_export_provider.dag_factory import load_export_dags

load_export_dags(Path(__file__).parent / "exports", globals())
