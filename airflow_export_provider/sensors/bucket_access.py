"""Hold an export run until its bucket is usable; alert while waiting; stop after the grace period.

Every run starts with the access check. When it fails for an access reason (see
``access.py``), the run does not burn retries: it waits, re-checking every
``access.check_every``.

- Deferrable (default): the wait happens in Airflow's triggerer
  (:class:`~airflow_export_provider.triggers.bucket_access.BucketAccessTrigger`), which
  wakes the sensor when access works, when an alert is due, or when the grace ends.
- Without a triggerer (``access.deferrable: false``): reschedule mode; each poke is one
  check, and the waiting time is measured from the first poke (Airflow's first
  reschedule date), so alerts go out on the first poke at or after each ``alert_after``.

Alerts use the export's notifiers (status ``waiting_for_access``). When the grace
period ends, a ``stopped`` alert goes out and the run fails with the classified error,
without retries; when the scheduler marks the run failed, the provider's listener
(:mod:`~airflow_export_provider.listeners.stopped_exports`) pauses the DAG, with no
connection needed (the REST API is a fallback, :class:`PauseStoppedExport`). Pausing first would
leave the run "running" for good: Airflow's scheduler does not examine runs of paused
DAGs, so it would never mark the stopped run failed. Nothing is lost: windows are kept
by Airflow; unpausing runs the missed windows in order, and clearing the stopped run
exports its window.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from airflow_export_provider.engine.access_errors import BucketAccessError
from airflow_export_provider.listeners.stopped_exports import STOP_XCOM_KEY
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.spec.durations import describe_duration
from airflow_export_provider.version_compat import AirflowFailException, BaseSensorOperator, Context, timezone

logger = logging.getLogger(__name__)
Notify = Callable[[str, Context, BaseException | None, int | None], None]


class BucketAccessSensor(BaseSensorOperator):
    """Succeeds once the export's destination passes the access check."""

    ui_color = "#e8f4fd"

    def __init__(self, *, spec: ExportSpec, notify: Notify | None = None, **kwargs: Any) -> None:
        access = spec.access
        kwargs.setdefault("poke_interval", access.check_every.total_seconds())
        kwargs.setdefault("mode", "reschedule")
        # The grace period ends the wait, not the sensor timeout: leave Airflow's far beyond it.
        kwargs.setdefault("timeout", (access.grace + access.check_every * 3).total_seconds())
        super().__init__(**kwargs)
        self.spec_json = spec.model_dump(mode="json")
        self.use_trigger = access.deferrable
        self._notify = notify

    @property
    def spec(self) -> ExportSpec:
        return ExportSpec.model_validate(self.spec_json)

    def _failure(self) -> BucketAccessError | None:
        spec = self.spec
        if spec.destination.type != "s3":
            return None
        from airflow_export_provider.hooks.connections import access_checker_for  # at run time only

        try:
            report = access_checker_for(spec.destination, spec.export_id).check()
        except BucketAccessError as error:
            if not error.waits_for_fix:
                raise  # a network problem: an ordinary failure, retried by Airflow
            return error
        self.log.info("%s", report.summary())
        return None

    def execute(self, context: Context) -> None:
        if not self.use_trigger:
            super().execute(context)
            return
        error = self._failure()
        if error is None:
            return
        self.log.warning("waiting for access to the bucket: %s", error)
        self._wait(context, error, waiting_since=timezone.utcnow(), next_alert=0)

    def _wait(
        self, context: Context, error: BucketAccessError, waiting_since: dt.datetime, next_alert: int
    ) -> None:
        access = self.spec.access
        elapsed = timezone.utcnow() - waiting_since
        while next_alert < len(access.alert_after) and access.alert_after[next_alert] <= elapsed:
            self._alert("waiting_for_access", context, error, sequence=next_alert)
            next_alert += 1
        deadline = waiting_since + access.grace
        if timezone.utcnow() >= deadline:
            self._stop(context, error, waiting_since)
        if next_alert < len(access.alert_after):
            wake_at, reason = waiting_since + access.alert_after[next_alert], "alert"
        else:
            wake_at, reason = deadline, "deadline"
        from airflow_export_provider.triggers.bucket_access import BucketAccessTrigger

        self.defer(
            trigger=BucketAccessTrigger(
                destination=self.spec.destination.model_dump(mode="json"),
                export_id=self.spec.export_id,
                check_every_seconds=access.check_every.total_seconds(),
                wake_at=wake_at.isoformat(),
                wake_reason=reason,
            ),
            method_name="resume",
            kwargs={"waiting_since": waiting_since.isoformat(), "next_alert": next_alert},
        )

    def resume(self, context: Context, event: dict[str, Any], waiting_since: str, next_alert: int) -> None:
        error = self._failure()  # a fresh check: the classified error of now, or success
        if error is None:
            self.log.info("access to the bucket works again; the export continues")
            return
        self._wait(context, error, dt.datetime.fromisoformat(waiting_since), next_alert)

    def poke(self, context: Context) -> bool:
        error = self._failure()
        if error is None:
            return True
        ti: Any = context["ti"]
        waiting_since = ti.get_first_reschedule_date(context) or timezone.utcnow()
        access = self.spec.access
        elapsed = timezone.utcnow() - waiting_since
        if elapsed >= access.grace:
            self._stop(context, error, waiting_since)
        for sequence, after in enumerate(access.alert_after):
            if after <= elapsed < after + access.check_every:
                self._alert("waiting_for_access", context, error, sequence=sequence)
        self.log.warning("waiting for access to the bucket (%s so far): %s", elapsed, error)
        return False

    def _alert(
        self, status: str, context: Context, error: BaseException | None, sequence: int | None = None
    ) -> None:
        """Send ``status``; ``sequence`` numbers the alerts of one wait (part of their dedupe key)."""
        self.log.warning("alert %s: %s", status, error)
        if self._notify is not None:
            self._notify(status, context, error, sequence)

    def _stop(self, context: Context, error: BucketAccessError, waiting_since: dt.datetime) -> None:
        spec = self.spec
        waited = timezone.utcnow() - waiting_since
        self._alert("stopped", context, error)
        reason = f"{error.title} for {describe_duration(waited)}"
        # The scheduler's listener pauses the DAG when it marks this run failed (see
        # listeners/stopped_exports.py); this mark tells it the run was stopped, not broken.
        context["ti"].xcom_push(key=STOP_XCOM_KEY, value=reason)
        raise AirflowFailException(
            f"export stopped after waiting {describe_duration(waited)} for access "
            f"(grace {describe_duration(spec.access.grace)}); the DAG is paused as soon as this "
            f"run has failed. {error}"
        )


class PauseStoppedExport:
    """DAG failure callback: the REST fallback that pauses an export its access check stopped.

    The scheduler's listener (:mod:`~airflow_export_provider.listeners.stopped_exports`)
    pauses the DAG without any connection; this callback only adds the REST pause where an
    ``airflow_api`` connection is configured (e.g. a scheduler that does not load this
    provider's plugin). Airflow passes the failed task instance that ended the run as
    ``ti``; only a failed ``check_access`` can mean a stop.
    """

    def __init__(self, dag_id: str, airflow_api_conn_id: str, access_task_id: str = "check_access") -> None:
        self.dag_id = dag_id
        self.airflow_api_conn_id = airflow_api_conn_id
        self.access_task_id = access_task_id

    def __call__(self, context: Context) -> None:
        if getattr(context.get("ti"), "task_id", None) != self.access_task_id:
            return
        from airflow_export_provider.hooks.airflow_api import AirflowApi  # requests: at call time only

        log = logging.getLogger(__name__)
        try:
            api = AirflowApi.from_connection(self.airflow_api_conn_id)
        except Exception as problem:
            log.info("export %s: no REST pause (%s); the scheduler pauses the DAG", self.dag_id, problem)
            return
        try:
            api.pause(self.dag_id)
        except Exception as problem:
            log.warning(
                "export %s: the REST pause failed (%s); the scheduler pauses the DAG", self.dag_id, problem
            )


def notifier_hub(spec: ExportSpec, statuses: Sequence[str] | None = None) -> Notify:
    """Sends one export event through every notifier the spec configures for it."""
    from airflow_export_provider.notifications.alerts import notifiers_for

    def notify(status: str, context: Context, error: BaseException | None, sequence: int | None) -> None:
        for notifier in notifiers_for(spec, status):
            merged: Any = dict(context)
            merged["exception"] = error
            merged["alert_sequence"] = sequence
            try:
                notifier(merged)
            except Exception as problem:
                import logging

                logging.getLogger(__name__).error("could not send %s alert: %s", status, problem)

    return notify
