"""The tasks of a sharded window (``shards: N``): plan it, export each shard, commit it.

``plan_window`` → ``export_shard`` (mapped, one task instance per shard, retried alone)
→ ``commit_window``. The protocol and its guarantees are in ``engine/shards.py``; these
operators only bind it to the run's windows and pass plan ids between the tasks (a few
bytes of XCom: every shard's file list travels through the bucket, not the metadata DB).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_export_provider.engine.windows import Window, parse_moment
from airflow_export_provider.operators.run_context import (
    allowed_fewer_by_run,
    export_summary,
    record_committed_windows,
    run_label,
    windows_of_run,
)
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import BaseOperator, Context

PlannedWindows = list[dict[str, str]]
"""``[{"window_start", "window_end", "plan_id"}]``: what ``plan_window`` returns."""


def _planned(spec: ExportSpec, plans: Any) -> list[tuple[Window, str]]:
    zone = spec.schedule.timezone
    return [
        (
            Window(parse_moment(p["window_start"], zone), parse_moment(p["window_end"], zone)),
            str(p["plan_id"]),
        )
        for p in plans
    ]


class PlanShardsOperator(BaseOperator):
    """Decide each window's columns once for its shards and store the plan in the bucket.

    :return: the planned windows with their plan ids, for ``export_shard`` and ``commit_window``.
    """

    ui_color = "#e3eaf5"

    def __init__(self, *, spec: ExportSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def execute(self, context: Context) -> PlannedWindows:
        from airflow_export_provider.engine.shards import plan_shards
        from airflow_export_provider.hooks.connections import destination_for, source_for

        source = source_for(self.spec.source, self.spec.schedule.grid)
        destination = destination_for(self.spec.destination)
        planned = []
        for window in windows_of_run(self.spec, context):
            plan = plan_shards(self.spec, window, source=source, destination=destination, log=self.log)
            planned.append(
                {
                    "window_start": window.start.isoformat(),
                    "window_end": window.end.isoformat(),
                    "plan_id": plan.plan_id,
                }
            )
        return planned


class ExportShardOperator(BaseOperator):
    """Upload one shard's files of each planned window, without making any visible.

    :param plans: ``plan_window``'s result. (templated)
    :param shard: which shard, 0-based; the DAG maps this task over every shard.
    """

    template_fields: Sequence[str] = ("plans",)
    ui_color = "#d9e6f0"

    def __init__(self, *, spec: ExportSpec, plans: Any, shard: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.plans = plans
        self.shard = shard

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_export_provider.engine.shards import export_shard
        from airflow_export_provider.hooks.connections import destination_for, source_for

        source = source_for(self.spec.source, self.spec.schedule.grid)
        destination = destination_for(self.spec.destination)
        records = files = 0
        for window, plan_id in _planned(self.spec, self.plans):
            parts = export_shard(self.spec, window, plan_id, self.shard, source=source,
                                 destination=destination, log=self.log)  # fmt: skip
            records += sum(f.records for f in parts.files)
            files += len(parts.files)
        return {"shard": self.shard, "records": records, "files": files}


class CommitShardsOperator(BaseOperator):
    """Publish every shard's files of each planned window: one manifest per window.

    Its result is the one a one-task ``export_window`` returns, and its asset event too.

    :param plans: ``plan_window``'s result. (templated)
    """

    template_fields: Sequence[str] = ("plans",)
    ui_color = "#d9f0e3"

    def __init__(self, *, spec: ExportSpec, plans: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.plans = plans

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_export_provider.engine.shards import commit_shards
        from airflow_export_provider.hooks.connections import destination_for

        destination = destination_for(self.spec.destination)
        allow_fewer = allowed_fewer_by_run(context)
        results = [
            commit_shards(
                self.spec,
                window,
                plan_id,
                destination=destination,
                log=self.log,
                allow_fewer_records=allow_fewer,
                run_label=run_label(context),
            )
            for window, plan_id in _planned(self.spec, self.plans)
        ]
        record_committed_windows(self.spec, self.outlets, context, results, 0)
        return export_summary(self.spec, results)
