"""Start an export's history once: the one-time DAG over ``start_date`` up to the first window.

A module of its own: ``TriggerDagRunOperator`` imports Airflow's DAG-run machinery (about
0.4 s), which only exports with ``schedule.include_history`` need.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

from airflow_export_provider.exceptions import WindowError
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import AirflowSkipException, Context

HISTORY_RUN_ID = "history"
"""Run id of the history run in the one-time DAG; Airflow's run-id uniqueness makes it happen once."""


class StartHistoryOperator(TriggerDagRunOperator):
    """Start the export's history once: the one-time DAG over ``start_date`` up to the first window.

    Runs in every run of the recurring DAG, next to (not before) the export, so history
    never holds recurring windows back. Only a scheduled run starts it, with its window
    start as the end of history; the fixed run id ``history`` makes every later attempt a
    skip, so the history is exported exactly once and meets the recurring windows without
    a gap or an overlap.
    """

    def __init__(self, *, spec: ExportSpec, **kwargs: Any) -> None:
        if spec.schedule.start_date is None:
            raise WindowError("history needs schedule.start_date")
        super().__init__(
            trigger_dag_id=spec.one_time_dag_id,
            trigger_run_id=HISTORY_RUN_ID,
            logical_date=None,
            skip_when_already_exists=True,
            openlineage_inject_parent_info=False,
            **kwargs,
        )
        self.history_start = spec.schedule.start_date.isoformat()

    def execute(self, context: Context) -> None:
        dag_run = context["dag_run"]
        if dag_run.run_type != "scheduled":  # DagRunType is a str enum
            raise AirflowSkipException(
                "history starts with the first scheduled run, not a manual or backfill run"
            )
        first_window_start = context["data_interval_start"]
        if first_window_start is None:
            raise WindowError("a scheduled export run must have a data interval")
        self.conf = {
            "start": self.history_start,
            "end": pendulum.instance(first_window_start).in_timezone("UTC").isoformat(),
        }
        self.log.info("starting the history export of [%s, %s) once", self.conf["start"], self.conf["end"])
        super().execute(context)
