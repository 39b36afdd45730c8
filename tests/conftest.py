"""Test session set-up: an isolated Airflow home, a loopback S3 API, sample lakes.

Airflow reads its configuration when first imported, so the environment is set here,
at import of the conftest, before any test module imports airflow.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="airflow-export-tests-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
    }
)

from airflow_export_provider.testing.loopback_s3 import LoopbackS3, loopback_s3  # noqa: E402
from airflow_export_provider.testing.sample_events import write_lake  # noqa: E402
from tests.postgres import Postgres, throwaway_postgres  # noqa: E402

LAKE_DAY = dt.date(2025, 3, 1)
LAKE_EVENTS_PER_DAY = 20_000


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LoopbackS3]:
    with loopback_s3(lifetime_seconds=3600) as server:
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = server.connection_uri()
        yield server
        os.environ.pop("AIRFLOW_CONN_AWS_DEFAULT", None)


@pytest.fixture()
def s3(s3_server: LoopbackS3) -> Any:
    """A boto3 client; every test starts from an empty S3 (moto's reset)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{s3_server.endpoint_url}/moto-api/reset", method="POST"))
    return s3_server.client()


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of sample events as a Parquet lake (read-only for tests)."""
    root = tmp_path_factory.mktemp("lake")
    write_lake(root, LAKE_DAY, 2, LAKE_EVENTS_PER_DAY)
    return root


@pytest.fixture(scope="session")
def jsonl_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jsonl_lake")
    write_lake(root, LAKE_DAY, 1, 3_000, file_format="jsonl")
    return root


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database for tests that run DAGs."""
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return _HOME


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole session (see tests/postgres.py)."""
    with throwaway_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def events_db(postgres: Postgres, lake3: Path) -> Postgres:
    """lake3's events in table ``app.events`` of database ``events`` (see tests/sql_events.py)."""
    from tests.sql_events import load_events

    return load_events(postgres, lake3)


@pytest.fixture()
def events_db_conn_id(events_db: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow connection (from the environment) to ``events_db``; its id."""
    monkeypatch.setenv("AIRFLOW_CONN_EVENTS_DB", json.dumps({
        "conn_type": "postgres", "host": events_db.host, "port": events_db.port, "login": events_db.user,
        "schema": "events"}))  # fmt: skip
    return "events_db"


@pytest.fixture(scope="session")
def lake3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of sample events, for one-time exports and backfills over several windows."""
    root = tmp_path_factory.mktemp("lake3")
    write_lake(root, LAKE_DAY, 3, 4_000, seed=3)
    return root


def upload_lake(s3: Any, lake: Path, bucket: str = "demo-event-lake", prefix: str = "events/") -> None:
    """Put a lake where the example exports read it (``s3://demo-event-lake/events``)."""
    s3.create_bucket(Bucket=bucket)
    for path in sorted(lake.rglob("*.parquet")):
        s3.upload_file(str(path), bucket, prefix + path.relative_to(lake).as_posix())
