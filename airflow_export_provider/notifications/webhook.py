"""Signed webhooks: a JSON POST per run event, verifiable by the receiver.

The body is the payload of :func:`export_payload` (compact JSON, UTF-8). The header
``X-Export-Signature: sha256=<hex>`` is HMAC-SHA256 of the exact body bytes with the
secret kept in the Airflow connection's password, so the receiver can check that the
message comes from the export and was not changed; ``X-Export-Event`` is the status and
``X-Export-Delivery`` a unique id, the same on every retry of one delivery (for
de-duplication). Timeouts and 5xx/connection errors are retried with exponential
backoff; a 4xx is not retried (the receiver rejected it). A webhook that cannot be
delivered is logged and never fails the export run.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from airflow_export_provider.hooks.http_connection import redacted_url
from airflow_export_provider.notifications.payload import alert_payload
from airflow_export_provider.notifications.rules import EVERY_CALL, AlertRule
from airflow_export_provider.version_compat import BaseNotifier

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Export-Signature"


@contextlib.contextmanager
def _urllib3_quiet_about(url: str) -> Iterator[None]:
    """Drop urllib3's DEBUG lines that spell the URL's path (``"POST /services/T0KEN…"``)."""
    parts = urlsplit(url)
    hidden = parts.path + (f"?{parts.query}" if parts.query else "")
    if not hidden.strip("/"):
        yield
        return

    def keep(record: logging.LogRecord) -> bool:
        return hidden not in record.getMessage()

    pool_log = logging.getLogger("urllib3.connectionpool")
    pool_log.addFilter(keep)
    try:
        yield
    finally:
        pool_log.removeFilter(keep)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class ExportWebhookNotifier(BaseNotifier):
    """POSTs a signed JSON description of an export run event to an ``http`` connection's URL."""

    template_fields = ()

    def __init__(
        self,
        *,
        conn_id: str,
        status: str,
        export_id: str,
        timeout_seconds: float = 10.0,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        rule: AlertRule = EVERY_CALL,
    ) -> None:
        super().__init__()
        self.rule = rule
        self.conn_id = conn_id
        self.status = status
        self.export_id = export_id
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.backoff_seconds = backoff_seconds

    def notify(self, context: Any) -> None:
        payload = alert_payload(context, self.status, self.export_id, self.rule)
        if payload is not None:
            self.send(payload)

    def send(self, payload: dict[str, Any]) -> bool:
        """Deliver one payload; True when the receiver accepted it (2xx)."""
        url, secret = self._endpoint()
        shown = redacted_url(url)  # the path of a webhook URL is often its secret
        with _urllib3_quiet_about(url):
            return self._post(url, shown, secret, payload)

    def _post(self, url: str, shown: str, secret: str, payload: dict[str, Any]) -> bool:
        import requests  # when an alert is sent, not when a DAG processor builds the notifier

        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(secret, body),
            "X-Export-Event": str(payload.get("status")),
            "X-Export-Delivery": str(uuid.uuid4()),
        }
        for attempt in range(self.retries + 1):
            try:
                response = requests.post(url, data=body, headers=headers, timeout=self.timeout_seconds)
            except requests.RequestException as error:
                outcome = type(error).__name__
            else:
                if response.status_code < 300:
                    logger.info(
                        "webhook %s delivered to %s (HTTP %d)",
                        payload.get("status"),
                        shown,
                        response.status_code,
                    )
                    return True
                outcome = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    logger.warning(
                        "webhook %s rejected by %s: %s; not retried", payload.get("status"), shown, outcome
                    )
                    return False
            if attempt < self.retries:
                delay = self.backoff_seconds * 2**attempt
                logger.warning(
                    "webhook %s to %s failed (%s); retry in %.0f s",
                    payload.get("status"),
                    shown,
                    outcome,
                    delay,
                )
                time.sleep(delay)
        logger.error(
            "webhook %s to %s not delivered after %d attempts", payload.get("status"), shown, self.retries + 1
        )
        return False

    def _endpoint(self) -> tuple[str, str]:
        from airflow_export_provider.hooks.http_connection import url_of
        from airflow_export_provider.version_compat import BaseHook

        connection = BaseHook.get_connection(self.conn_id)
        return url_of(connection, default_scheme="https"), connection.password or ""
