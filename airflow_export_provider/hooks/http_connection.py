"""The URL an Airflow ``http`` connection names, for the webhook and the Airflow REST API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def url_of(connection: Any, default_scheme: str) -> str:
    """``host`` as given (with or without scheme and path), ``schema`` as the scheme, ``port`` added.

    A host that already names a scheme or a port keeps them.
    """
    host = (connection.host or "").strip()
    if "://" not in host:
        host = f"{connection.schema or default_scheme}://{host}"
    parts = urlsplit(host)
    netloc = parts.netloc
    if connection.port and parts.port is None:
        netloc = f"{netloc}:{connection.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redacted_url(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme and host only, for logs and errors.

    Webhook URLs often carry their secret in the path or query (Slack, Teams), and a
    user name or password may sit in the netloc; none of it is shown.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    hidden = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{port}{hidden}"
