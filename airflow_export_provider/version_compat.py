"""The one place that knows where Airflow keeps things (Airflow 3 moved them to ``airflow.sdk``)."""

from __future__ import annotations

from airflow.sdk import DAG, BaseOperator
from airflow.sdk.definitions.context import Context

__all__ = ["DAG", "BaseOperator", "Context"]
