"""When an alert goes out: once per window and kind, never once per try.

Airflow calls a task's callbacks on every try, and an export retries a broken window
every few minutes (without end, by default). These rules turn that into the alerts a
person wants (docs/access-and-alerts.md has the table):

* ``started``: the first try of the window's task only.
* ``failed`` while retries go on: once the window has failed ``alerts.failed_after``
  tries, or has been failing that long, then at most once a day. When Airflow gives up
  (retries exhausted) before that first ``failed``, it is sent then, with the same key.
* everything else: each time its callback fires (a success happens once per run).

Every alert carries a ``dedupe_key`` that is the same for the same window, kind and
step wherever and however often it is computed, so a receiver can drop repeats (e.g. a
callback run again after a scheduler restart).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class AlertRule:
    """Which calls of a callback send an alert; see the module's docstring."""

    when: Literal["first_try", "every_call", "while_failing", "final_failure"] = "every_call"
    after_tries: int | None = None
    after: dt.timedelta | None = None


def alert_step(rule: AlertRule, context: Any, now: dt.datetime) -> str | None:
    """The step this call alerts for (part of the dedupe key), or ``None`` to stay silent."""
    ti = context.get("ti") or context.get("task_instance")
    try_number = int(getattr(ti, "try_number", 1) or 1)
    if rule.when == "first_try":
        return "" if try_number <= 1 else None
    if rule.when == "every_call":
        sequence = context.get("alert_sequence")
        return "" if sequence is None else str(sequence)
    failing, previous = _failing_for(context, now)
    threshold = rule.after or dt.timedelta(0)
    if rule.when == "final_failure":
        # Retries are exhausted: alert unless a retry already sent this window's first ``failed``.
        if rule.after_tries is not None:
            return None if try_number - 1 >= rule.after_tries else "0"
        return None if previous is not None and previous >= threshold else "0"
    if rule.after_tries is not None:
        if try_number < rule.after_tries:
            return None
        if try_number == rule.after_tries:
            return "0"
    elif failing is None or failing < threshold:
        return None
    elif previous is None or previous < threshold:
        return "0"
    if failing is None or previous is None:
        return None
    step = _day_step(failing, threshold)
    return str(step) if step > 0 and step != _day_step(previous, threshold) else None


def _failing_for(context: Any, now: dt.datetime) -> tuple[dt.timedelta | None, dt.timedelta | None]:
    """How long the window's run has been going now, and at the previous try (one retry delay ago)."""
    ti = context.get("ti") or context.get("task_instance")
    started = getattr(context.get("dag_run"), "start_date", None) or getattr(ti, "start_date", None)
    if not isinstance(started, dt.datetime):
        return None, None
    failing = now - started
    retry_delay = getattr(getattr(ti, "task", None), "retry_delay", None)
    delay = retry_delay if isinstance(retry_delay, dt.timedelta) else dt.timedelta(minutes=5)
    return failing, failing - delay


def _day_step(failing: dt.timedelta, threshold: dt.timedelta) -> int:
    """0 on the day the threshold is crossed, then 1, 2, … for each further day of failing."""
    return -1 if failing < threshold else int((failing - threshold) / DAY)


def dedupe_key(context: Any, status: str, step: str) -> str:
    """``<dag>/<run>/<task>[<map index>]/<status>[/<step>]``: one alert, however often computed."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", "?")
    run_id = getattr(dag_run, "run_id", None) or getattr(ti, "run_id", "?")
    task = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    if isinstance(map_index, int) and map_index >= 0:
        task = f"{task}[{map_index}]"
    return "/".join(str(part) for part in (dag_id, run_id, task, status, step) if part)


EVERY_CALL = AlertRule()
"""The default rule: every callback call sends (completed, stopped, the final failed)."""
