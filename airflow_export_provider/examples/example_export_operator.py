"""The export operator used directly in a hand-written DAG.

A daily export at midnight Europe/Berlin of Parquet files, folders split by event name,
custom file names. The same spec could live in YAML; here it is a dict, validated when
this file is parsed.
"""

import pendulum
from airflow.sdk import DAG

from airflow_export_provider.dags import export_timetable
from airflow_export_provider.operators.export import EventExportOperator
from airflow_export_provider.spec import ExportSpec

spec = ExportSpec.from_mapping(
    {
        "export_id": "parquet_by_event",
        "account_id": "acme",
        "source": {"path": "s3://demo-event-lake/events"},
        "destination": {"bucket": "demo-exports", "prefix": "acme/parquet"},
        "layout": {
            "folder_template": "{export_id}/{event_name}/{date}",
            "file_template": "{{AccountID}}_part",
        },
        "format": {"type": "parquet", "parquet_compression": "zstd"},
        "schedule": {"every": "24h", "timezone": "Europe/Berlin", "start_date": "2025-03-01"},
    }
)

with DAG(
    dag_id="example_export_operator",
    schedule=export_timetable(spec),
    start_date=pendulum.datetime(2025, 3, 1, tz="Europe/Berlin"),
    catchup=False,
    max_active_runs=1,
    tags=["export", "example"],
):
    EventExportOperator(task_id="export_window", spec=spec)
