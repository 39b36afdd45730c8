"""Re-checks bucket access in the triggerer while a run waits for a fix.

It fires when access works again, when the next alert is due, or when the grace period
ends, whichever comes first; the sensor then resumes on a worker, alerts, and waits
again or stops. The check itself is the blocking :class:`BucketAccessChecker`, run in a
thread so the triggerer's event loop never blocks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_export_provider.engine.access_errors import BucketAccessError
from airflow_export_provider.hooks.connections import access_checker_for
from airflow_export_provider.spec import S3DestinationSpec
from airflow_export_provider.version_compat import timezone


class BucketAccessTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        destination: dict[str, Any],
        export_id: str,
        check_every_seconds: float,
        wake_at: str,
        wake_reason: str,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.destination = destination
        self.export_id = export_id
        self.check_every_seconds = check_every_seconds
        self.wake_at = wake_at
        self.wake_reason = wake_reason

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "destination": self.destination,
                "export_id": self.export_id,
                "check_every_seconds": self.check_every_seconds,
                "wake_at": self.wake_at,
                "wake_reason": self.wake_reason,
            },
        )

    def _check(self) -> str | None:
        spec = S3DestinationSpec.model_validate(self.destination)
        try:
            access_checker_for(spec, self.export_id).check()
        except BucketAccessError as error:
            return error.title
        return None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        wake_at = dt.datetime.fromisoformat(self.wake_at)
        while True:
            problem = await asyncio.to_thread(self._check)
            if problem is None:
                yield TriggerEvent({"status": "ok"})  # type: ignore[no-untyped-call]
                return
            now = timezone.utcnow()
            if now >= wake_at:
                yield TriggerEvent({"status": self.wake_reason, "problem": problem})  # type: ignore[no-untyped-call]
                return
            self.log.info(
                "bucket access still broken (%s); next check in %.0f s", problem, self.check_every_seconds
            )
            await asyncio.sleep(min(self.check_every_seconds, max((wake_at - now).total_seconds(), 0.1)))
