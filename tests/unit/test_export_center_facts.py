"""The Export center reads a definition's facts from its DAG doc, never by running DAG files."""

from __future__ import annotations

from airflow_export_provider.dags import build_export_dag, build_one_time_dag
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.ui.facts import read_facts

SPEC = ExportSpec.from_mapping(
    {
        "export_id": "daily", "account_id": "acme", "source": {"path": "/tmp/lake"},
        "destination": {"bucket": "exports", "prefix": "team/events"}, "format": {"type": "parquet"},
        "schedule": {"every": "4h", "timezone": "Europe/Berlin"},
    }
)  # fmt: skip


def test_the_export_dag_doc_carries_the_definitions_facts() -> None:
    facts = read_facts(build_export_dag(SPEC).doc_md)
    assert facts == {
        "export_id": "daily", "account_id": "acme", "destination": "s3://exports/team/events",
        "format": "parquet", "compression": "none", "schedule": SPEC.schedule.description,
        "one_time_dag_id": "export__daily__one_time",
        "destination_spec": SPEC.destination.model_dump(mode="json"),
    }  # fmt: skip
    assert facts["destination_spec"]["bucket"] == "exports" and "aws_conn_id" in facts["destination_spec"]
    assert "Europe/Berlin" in facts["schedule"]


def test_other_docs_have_no_facts() -> None:
    assert read_facts(None) is None and read_facts("### A DAG of someone else") is None
    assert read_facts(build_one_time_dag(SPEC).doc_md) is not None, "the overview skips it by its id"
