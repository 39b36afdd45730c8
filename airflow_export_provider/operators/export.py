"""The export operator: writes the events of its run's data interval to the destination."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_export_provider.exceptions import WindowError
from airflow_export_provider.operators.run_context import (
    allowed_fewer_by_run,
    export_summary,
    record_committed_windows,
    run_label,
    windows_of_run,
)
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.version_compat import BaseOperator, Context


class EventExportOperator(BaseOperator):
    """Export the events of one window (or several consecutive grid windows) to S3.

    The window is the DAG run's data interval unless ``window_start``/``window_end`` are
    given. It must lie on the export's grid; a wider interval is cut into grid windows,
    each exported and published (manifest last) on its own, so every way of running an
    export produces the same objects for the same window.

    :param spec: the export definition, an :class:`ExportSpec` or a mapping validated into one
        (invalid specs fail when the DAG file is parsed).
    :param window_start: start of the interval to export, ISO 8601. (templated)
    :param window_end: end of the interval to export, ISO 8601. (templated)
    :param instance_id: shard number written into keys and the manifest name; defaults to the
        task's map index when mapped, else 0.
    :param allow_fewer_records: publish a window even if it then holds fewer records than its
        published version. Also read from the run's conf (``{"allow_fewer_records": true}``),
        so one run can be allowed from the Trigger form without changing the DAG.

    Give it ``outlets=[export_asset(spec)]`` and every
    committed window becomes an asset event for downstream DAGs (see ``assets.py``); the
    DAGs built from definitions do so.

    .. seealso:: ``docs/operators.md``
    """

    template_fields: Sequence[str] = ("window_start", "window_end")
    ui_color = "#d9f0e3"

    def __init__(
        self,
        *,
        spec: ExportSpec | Mapping[str, Any],
        window_start: str | None = None,
        window_end: str | None = None,
        instance_id: int | None = None,
        allow_fewer_records: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = (
            spec if isinstance(spec, ExportSpec) else ExportSpec.from_mapping(spec, source=self.task_id)
        )
        if (window_start is None) != (window_end is None):
            raise WindowError("give both window_start and window_end, or neither to use the data interval")
        self.window_start = window_start
        self.window_end = window_end
        self.instance_id = instance_id
        self.allow_fewer_records = allow_fewer_records

    def execute(self, context: Context) -> dict[str, Any]:
        # The engine (pyarrow) and the connections (the amazon provider) are imported by the
        # task that runs, never when a DAG processor parses a thousand export DAGs.
        from airflow_export_provider.engine.run import export_window
        from airflow_export_provider.hooks.connections import destination_for, source_for

        windows = windows_of_run(self.spec, context, self.window_start, self.window_end)
        instance_id = self.instance_id
        if instance_id is None:
            map_index = getattr(context.get("ti"), "map_index", -1)
            instance_id = map_index if isinstance(map_index, int) and map_index >= 0 else 0
        source = source_for(self.spec.source, self.spec.schedule.grid)
        destination = destination_for(self.spec.destination)
        allow_fewer = self.allow_fewer_records or allowed_fewer_by_run(context)
        results = [
            export_window(
                self.spec,
                window,
                source=source,
                destination=destination,
                instance_id=instance_id,
                log=self.log,
                allow_fewer_records=allow_fewer,
                run_label=run_label(context),
            )
            for window in windows
        ]
        record_committed_windows(self.spec, self.outlets, context, results, instance_id)
        return export_summary(self.spec, results)
