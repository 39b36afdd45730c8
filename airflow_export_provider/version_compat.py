"""The one place that knows where Airflow keeps things (Airflow 3 moved them to ``airflow.sdk``)."""

from __future__ import annotations

from airflow.sdk import (
    DAG,
    Asset,
    AssetAlias,
    BaseHook,
    BaseNotifier,
    BaseOperator,
    BaseSensorOperator,
    Param,
    timezone,
)
from airflow.sdk.definitions.context import Context
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

__all__ = [
    "DAG",
    "AirflowFailException",
    "AirflowSkipException",
    "Asset",
    "AssetAlias",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseSensorOperator",
    "Context",
    "Param",
    "ParamsDict",
    "timezone",
]
