"""Wait until a window's data is complete before exporting it (``wait_for_data`` task).

Deferrable by default: the triggerer re-checks every ``completeness.check_every``; with
``completeness.deferrable: false`` the sensor reschedules itself instead. After
``completeness.timeout`` the task fails like any failure and Airflow retries it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import window_verdict
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.spec.durations import describe_duration
from airflow_export_provider.version_compat import AirflowFailException, BaseSensorOperator, Context


class WindowCompleteSensor(BaseSensorOperator):
    ui_color = "#fdf3e8"

    def __init__(self, *, spec: ExportSpec, **kwargs: Any) -> None:
        settings = spec.completeness
        kwargs.setdefault("poke_interval", settings.check_every.total_seconds())
        kwargs.setdefault("timeout", settings.timeout.total_seconds())
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.spec_json = spec.model_dump(mode="json")
        self.use_trigger = settings.deferrable

    @property
    def spec(self) -> ExportSpec:
        return ExportSpec.model_validate(self.spec_json)

    @staticmethod
    def _window(context: Context) -> Window:
        return Window(context["data_interval_start"], context["data_interval_end"])  # type: ignore[arg-type]

    def poke(self, context: Context) -> bool:
        verdict = window_verdict(self.spec, self._window(context))
        self.log.info("window %s: %s", self._window(context).label, verdict.reason)
        return verdict.complete

    def execute(self, context: Context) -> None:
        if not self.use_trigger:
            super().execute(context)
            return
        if self.poke(context):
            return
        self._defer(context, deadline=dt.datetime.now(dt.timezone.utc) + self.spec.completeness.timeout)

    def _defer(self, context: Context, deadline: dt.datetime) -> None:
        from airflow_export_provider.triggers.window_complete import WindowCompleteTrigger

        window = self._window(context)
        self.defer(
            trigger=WindowCompleteTrigger(spec=self.spec_json, window_start=window.start.isoformat(),
                                          window_end=window.end.isoformat(), deadline=deadline.isoformat()),
            method_name="resume",
        )  # fmt: skip

    def resume(self, context: Context, event: dict[str, Any]) -> None:
        if event.get("status") == "complete":
            self.log.info("window %s: %s", self._window(context).label, event.get("reason"))
            return
        raise AirflowFailException(
            f"window {self._window(context).label} was not complete within "
            f"{describe_duration(self.spec.completeness.timeout)}: "
            f"{event.get('reason')}"
        )
