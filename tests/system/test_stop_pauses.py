"""Only a stop pauses an export, and the scheduler-side listener does it with no REST connection.

``dag.test()`` fails the run the way the scheduler does (``DagRun.update_state``), which
calls the provider's ``on_dag_run_failed`` listener in this process, on the test's
metadata database.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dag_folders import dag_of_definition

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]
WINDOW_END = dt.datetime(2025, 3, 2, tzinfo=dt.timezone.utc)


def export_dag(folder: Path, lake: Path, bucket: str, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Any:
    spec = {
        "export_id": folder.name, "account_id": "acme", "source": {"path": str(lake)},
        "destination": {"bucket": bucket, "prefix": "stop"},
        "schedule": {"every": "24h", "retries": 0}, "one_time": {"enabled": False},
        **extra,
    }  # fmt: skip
    return dag_of_definition(folder / "dags", spec, f"export__{folder.name}", monkeypatch)


@pytest.fixture(autouse=True)
def exports_start_active() -> Iterator[None]:
    """DAGs are created unpaused here, as after a user's unpause.

    ``[core] dags_are_paused_at_creation`` is read once, at import, and ``dag.test()``
    parses the DAG file again, so neither the setting nor a DAG attribute would hold.
    """
    from airflow.models.dag import DagModel
    from sqlalchemy import event

    def unpaused(mapper: Any, connection: Any, model: Any) -> None:
        model.is_paused = False

    event.listen(DagModel, "before_insert", unpaused)
    yield
    event.remove(DagModel, "before_insert", unpaused)


def is_paused(dag_id: str) -> bool:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        model = session.get(DagModel, dag_id)
        assert model is not None, f"{dag_id} is not in the metadata database"
        return bool(model.is_paused)


def audit_entries(dag_id: str) -> list[tuple[str | None, str | None]]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.dag_id == dag_id, Log.event == "paused")).all()
        return [(row.owner, row.extra) for row in rows]


def state(run: Any) -> str:
    return str(run.state).split(".")[-1].lower()


def test_a_stopped_export_is_paused_by_the_scheduler_listener_without_a_rest_connection(
    s3: Any, lake3: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    access = {"check_every": "1s", "alert_after": ["0s"], "grace": "2s",
              "deferrable": False, "airflow_api_conn_id": "no_rest_api"}  # fmt: skip
    dag = export_dag(tmp_path / "stopping", lake3, "no-such-bucket", monkeypatch, access=access)
    run = dag.test(logical_date=WINDOW_END)
    assert state(run) == "failed"
    assert is_paused(dag.dag_id) is True
    [(owner, extra)] = audit_entries(dag.dag_id)
    assert owner == "export-provider"
    assert extra is not None and extra.startswith("export stopped: bucket does not exist for ")


def test_a_window_that_fails_for_another_reason_leaves_the_export_running(
    s3: Any, lake3: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The access check passes and the export fails (every source file is damaged): no pause."""
    s3.create_bucket(Bucket="stop-exports")
    damaged = tmp_path / "damaged-lake"
    shutil.copytree(lake3, damaged)
    for path in damaged.rglob("*.parquet"):
        path.write_bytes(b"not parquet at all")
    dag = export_dag(tmp_path / "broken", damaged, "stop-exports", monkeypatch)
    run = dag.test(logical_date=WINDOW_END)
    assert state(run) == "failed"
    assert not is_paused(dag.dag_id)
    assert audit_entries(dag.dag_id) == []
