"""Drop-in exports: every YAML file in ``exports/`` next to this file becomes a DAG ``export__<export_id>``.

Copy this file and the ``exports/`` folder into your DAGs folder; add or edit YAML files
there. An invalid definition becomes a DAG ``export__invalid__<file name>`` whose description
and doc name the key and what is wrong; the other exports keep running (run
``airflow-export validate exports/*.yaml`` before deploying).
"""

from pathlib import Path

from airflow_export_provider.dags import load_export_dags

load_export_dags(Path(__file__).parent / "exports", globals())
