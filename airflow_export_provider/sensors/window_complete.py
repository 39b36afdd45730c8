"""Wait until a window's data is complete before exporting it (``wait_for_data`` task).

Deferrable by default: the triggerer re-checks every ``completeness.check_every``; with
``completeness.deferrable: false`` the sensor reschedules itself instead. After
``completeness.timeout`` the try fails with :class:`WindowIncomplete`, an ordinary
failure: Airflow retries it on the export's retry policy and the ``failed`` alerts apply
(Airflow's own sensor timeout would fail the task for good, without retries or alerts,
and the next window would run past the gap).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_export_provider.engine.windows import Window
from airflow_export_provider.exceptions import ExportError
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.spec.durations import describe_duration
from airflow_export_provider.version_compat import BaseSensorOperator, Context


class WindowIncomplete(ExportError):
    """The window's data was not complete within ``completeness.timeout``; the try fails and is retried."""


class WindowCompleteSensor(BaseSensorOperator):
    ui_color = "#fdf3e8"

    def __init__(self, *, spec: ExportSpec, **kwargs: Any) -> None:
        settings = spec.completeness
        kwargs.setdefault("poke_interval", settings.check_every.total_seconds())
        # A backstop only: the sensor fails a try itself at completeness.timeout (see the module).
        kwargs.setdefault("timeout", (2 * settings.timeout + dt.timedelta(days=1)).total_seconds())
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
        from airflow_export_provider.hooks.connections import window_verdict  # at run time only

        verdict = window_verdict(self.spec, self._window(context))
        self.log.info("window %s: %s", self._window(context).label, verdict.reason)
        if verdict.complete:
            return True
        ti: Any = context.get("ti")
        first = ti.get_first_reschedule_date(context) if ti is not None and not self.use_trigger else None
        if first is not None and dt.datetime.now(dt.timezone.utc) - first >= self.spec.completeness.timeout:
            raise self._incomplete(context, verdict.reason)
        return False

    def _incomplete(self, context: Context, reason: object) -> WindowIncomplete:
        return WindowIncomplete(
            f"window {self._window(context).label} was not complete within "
            f"{describe_duration(self.spec.completeness.timeout)}: {reason}; the try fails and is retried"
        )

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
        raise self._incomplete(context, event.get("reason"))
