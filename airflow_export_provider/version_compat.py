"""The one place that knows where Airflow keeps things (Airflow 3 moved them to ``airflow.sdk``)."""

from __future__ import annotations

from airflow.sdk import DAG, BaseOperator, Param
from airflow.sdk.definitions.context import Context
from airflow.sdk.exceptions import AirflowSkipException

__all__ = ["DAG", "AirflowSkipException", "BaseOperator", "Context", "Param"]
