"""The URL of an ``http`` connection, as the webhook and the Airflow REST API client build it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_export_provider.hooks.http_connection import url_of


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("hooks.example.com/services/T0/B0", None, None, "https://hooks.example.com/services/T0/B0"),
        ("127.0.0.1", "http", 8080, "http://127.0.0.1:8080"),
        ("127.0.0.1/hook", "http", 8080, "http://127.0.0.1:8080/hook"),
        ("https://h.example.com:8443/a?b=1", None, 9000, "https://h.example.com:8443/a?b=1"),
        ("http://api:8080", None, None, "http://api:8080"),
        ("api/path", None, 443, "https://api:443/path"),
    ],
)
def test_host_schema_and_port_make_one_url(
    host: str, schema: str | None, port: int | None, expected: str
) -> None:
    assert url_of(SimpleNamespace(host=host, schema=schema, port=port), default_scheme="https") == expected
