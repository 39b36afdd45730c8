"""Re-checks a window's completeness in the triggerer (a blocking check, run in a thread)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pendulum
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import window_verdict
from airflow_export_provider.spec import ExportSpec


class WindowCompleteTrigger(BaseTrigger):
    def __init__(self, *, spec: dict[str, Any], window_start: str, window_end: str, deadline: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.spec = spec
        self.window_start = window_start
        self.window_end = window_end
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"spec": self.spec, "window_start": self.window_start, "window_end": self.window_end,
             "deadline": self.deadline},
        )  # fmt: skip

    async def run(self) -> AsyncIterator[TriggerEvent]:
        spec = ExportSpec.model_validate(self.spec)
        window = Window(pendulum.parse(self.window_start), pendulum.parse(self.window_end))  # type: ignore[arg-type]
        deadline = dt.datetime.fromisoformat(self.deadline)
        while True:
            verdict = await asyncio.to_thread(window_verdict, spec, window)
            if verdict.complete:
                yield TriggerEvent({"status": "complete", "reason": verdict.reason})  # type: ignore[no-untyped-call]
                return
            if dt.datetime.now(dt.timezone.utc) >= deadline:
                yield TriggerEvent({"status": "timeout", "reason": verdict.reason})  # type: ignore[no-untyped-call]
                return
            self.log.info("window %s not complete: %s", window.label, verdict.reason)
            await asyncio.sleep(spec.completeness.check_every.total_seconds())
