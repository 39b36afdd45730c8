"""A small client of Airflow's REST API, for what a task cannot do through the Task SDK.

Pausing a DAG (when an export stops after its grace period) and reading run states
(``airflow-export status``) go through the public API server, authenticated with a user
of the auth manager. Credentials live in an Airflow ``http`` connection (default id
``airflow_api``): host = the API server's base URL (``http://airflow-api:8080``), login
and password = a user allowed to edit DAGs. The token is never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)


class AirflowApiError(RuntimeError):
    """The API server refused or could not be reached; the message says which and why."""


@dataclass
class AirflowApi:
    """The Airflow REST API as one user; the password never appears in its repr."""

    base_url: str
    username: str
    password: str = field(repr=False)
    timeout: float = 30.0

    @classmethod
    def from_connection(cls, conn_id: str) -> AirflowApi:
        from airflow_export_provider.hooks.http_connection import url_of
        from airflow_export_provider.version_compat import BaseHook

        connection = BaseHook.get_connection(conn_id)
        base_url = url_of(connection, default_scheme="http").rstrip("/")
        return cls(base_url, connection.login or "", connection.password or "")

    def _token(self) -> str:
        import requests  # 0.13 s: paid by the commands that talk to the API, not by every CLI verb

        try:
            response = requests.post(
                f"{self.base_url}/auth/token",
                json={"username": self.username, "password": self.password},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise AirflowApiError(
                f"Airflow API at {self.base_url} not reachable: {type(error).__name__}"
            ) from None
        if response.status_code >= 300:
            raise AirflowApiError(
                f"Airflow API at {self.base_url} refused user {self.username!r} (HTTP {response.status_code})"
            )
        token: str = response.json()["access_token"]
        return token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        import requests

        headers = {"Authorization": f"Bearer {self._token()}"}
        try:
            response = requests.request(
                method, self.base_url + path, json=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise AirflowApiError(f"{method} {path} failed: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise AirflowApiError(f"{method} {path} -> HTTP {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def pause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{quote(dag_id)}", {"is_paused": True})
        logger.warning("paused DAG %s through the Airflow API at %s", dag_id, self.base_url)
