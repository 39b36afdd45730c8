"""What an alert says about a run, the same for webhooks and e-mails.

Built from the Airflow context a callback receives: the run's window (its data
interval), the export task's result (its XCom: files, records, bytes), how long the run
has taken, and the error when there is one. A
:class:`~airflow_export_provider.engine.access_errors.BucketAccessError`
contributes its class and title; other errors their type and first line. The message
never contains credentials: access errors mask key ids, and other messages are cut.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_export_provider.notifications.rules import AlertRule, alert_step, dedupe_key

MAX_MESSAGE = 2_000


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else None


def export_payload(
    context: Any, status: str, export_id: str, error: BaseException | None = None
) -> dict[str, Any]:
    """The JSON body of a webhook and the facts of an e-mail."""
    dag_run = context.get("dag_run")
    ti = context.get("ti") or context.get("task_instance")
    error = error if error is not None else context.get("exception")
    result: dict[str, Any] = {}
    if status == "completed" and ti is not None:  # the result of the task that completed
        pulled = ti.xcom_pull(task_ids=ti.task_id, key="return_value", map_indexes=_map_index(ti))
        result = pulled if isinstance(pulled, dict) else {}
    started = getattr(dag_run, "start_date", None) or getattr(ti, "start_date", None)
    now = dt.datetime.now(dt.timezone.utc)
    payload: dict[str, Any] = {
        "export_id": export_id,
        "dag_id": getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None),
        "status": status,
        "window": {
            "start": _iso(context.get("data_interval_start")),
            "end": _iso(context.get("data_interval_end")),
        },
        "files": result.get("files"),
        "records": result.get("records"),
        "bytes": result.get("bytes"),
        "windows": result.get("windows"),
        "duration_seconds": round((now - started).total_seconds(), 3)
        if isinstance(started, dt.datetime)
        else None,
        "attempt": getattr(ti, "try_number", None),
        "error": _error(error),
        "sent_at": now.isoformat(),
    }
    return payload


def alert_payload(context: Any, status: str, export_id: str, rule: AlertRule) -> dict[str, Any] | None:
    """The payload of an alert this call should send under ``rule``, or ``None`` to stay silent."""
    now = dt.datetime.now(dt.timezone.utc)
    step = alert_step(rule, context, now)
    if step is None:
        return None
    payload = export_payload(context, status, export_id)
    payload["dedupe_key"] = dedupe_key(context, status, step)
    return payload


def _map_index(ti: Any) -> int | None:
    map_index = getattr(ti, "map_index", -1)
    return map_index if isinstance(map_index, int) and map_index >= 0 else None


def _error(error: BaseException | None) -> dict[str, str] | None:
    if error is None:
        return None
    as_dict = getattr(error, "as_dict", None)
    if callable(as_dict):
        described: dict[str, str] = as_dict()
        return described
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return {"class": type(error).__name__, "title": type(error).__name__, "message": message[:MAX_MESSAGE]}
