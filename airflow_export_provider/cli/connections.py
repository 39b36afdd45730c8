"""Connections for the CLI, found where Airflow's own CLI finds them.

Outside a task, the Task SDK's ``BaseHook.get_connection`` reads only environment
variables and secrets backends, not the metadata database, so a connection created with
``airflow connections add`` was invisible to ``airflow-export``. Here each connection a
spec uses is looked up with ``airflow.models.Connection.get_connection_from_secrets``
(environment, secrets backends, then the metadata DB where one is configured) and handed
to this process's hooks as an ``AIRFLOW_CONN_<ID>`` variable. Nothing is printed or
logged of it; the variable lives only in this process.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from airflow_export_provider.cli.logs import log_to_stderr
from airflow_export_provider.spec import ExportSpec

logger = logging.getLogger(__name__)


def env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def expose_connections(conn_ids: Iterable[str]) -> list[str]:
    """Make each connection visible to hooks in this process; returns the ids found nowhere."""
    from airflow.models import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    log_to_stderr()

    missing = []
    for conn_id in conn_ids:
        if env_name(conn_id) in os.environ:
            continue
        try:
            connection = Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            missing.append(conn_id)
            continue
        except Exception as error:  # no metadata DB where this runs: environment and backends only
            logger.debug("looking up connection %r failed: %s", conn_id, error)
            missing.append(conn_id)
            continue
        os.environ[env_name(conn_id)] = connection.as_json()
    return missing


def where_connections_come_from() -> str:
    """For messages: where a connection was looked for."""
    from airflow.configuration import conf

    database = conf.get("database", "sql_alchemy_conn", fallback="(none)")
    scheme = database.split("://", 1)[0] if "://" in database else database
    return f"AIRFLOW_CONN_* variables, the secrets backends and the metadata DB ({scheme})"


def load_spec_with_connections(path: Path, *, for_api: bool = False) -> ExportSpec:
    """The definition at ``path``, with the connections the verb uses visible to this process's hooks.

    A window needs its source's and destination's connections (``for_api``: only the
    ``airflow_api`` one). Looking one up imports Airflow's models (about 2 s), so an
    export of local files, or one whose connections are all ``AIRFLOW_CONN_*`` variables
    already, does not pay for it. A connection found nowhere is said once on stderr; the
    hook then decides (an ``aws`` connection falls back to AWS's default credential chain,
    others fail with their id).
    """
    spec = ExportSpec.from_yaml(path)
    log_to_stderr()
    wanted = [spec.access.airflow_api_conn_id] if for_api else spec.data_connection_ids
    unset = [conn_id for conn_id in wanted if env_name(conn_id) not in os.environ]
    missing = expose_connections(unset) if unset else []
    needed = [conn_id for conn_id in missing if conn_id != spec.access.airflow_api_conn_id]
    if needed:
        print(
            f"airflow-export: connection(s) {', '.join(map(repr, needed))} not found in "
            f"{where_connections_come_from()}",
            file=sys.stderr,
        )
    return spec
