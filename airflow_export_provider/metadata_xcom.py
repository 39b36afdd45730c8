"""Reading one task's XCom straight from Airflow's metadata database.

Only for code that runs where Airflow keeps its database session: the scheduler's
listeners and the API server's Export center. Tasks read XComs through the Task SDK.
"""

from __future__ import annotations

from typing import Any


def stored_xcom(session: Any, *, dag_id: str, run_id: str, task_id: str, key: str) -> Any | None:
    """The value a task pushed under ``key`` in that run (the first map index), or ``None``."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    stored = session.scalars(
        select(XComModel).where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.key == key,
        )
    ).first()
    return None if stored is None else XComModel.deserialize_value(stored)
