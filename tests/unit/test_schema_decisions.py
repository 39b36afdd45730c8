"""Column decisions persisted at commit: what a window exported beside another may keep."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_export_provider.engine.columns import ColumnsChanged, DecidedSchema, Evolution, SchemaStore
from airflow_export_provider.engine.destinations.memory import MemoryDestination


def columns(*names: str) -> DecidedSchema:
    return DecidedSchema(events={"E": pa.schema([(name, pa.string()) for name in names])})


def store(destination: MemoryDestination, evolution: Evolution) -> SchemaStore:
    return SchemaStore(destination, "_schema/x.json", "x", evolution)


@pytest.mark.parametrize("evolution", ["append", "lock"])
def test_a_failed_window_decides_nothing(evolution: Evolution) -> None:
    destination = MemoryDestination(str)
    store(destination, evolution).decide(columns("a", "b"))
    assert destination.objects == {}


def test_append_a_window_decided_before_another_one_appended_keeps_its_columns() -> None:
    """Window A (columns a) and window B (a, b) run side by side; B commits first."""
    destination = MemoryDestination(str)
    store(destination, "append").persist(store(destination, "append").decide(columns("a")))
    window_a = store(destination, "append").decide(columns("a"))
    window_b = store(destination, "append").decide(columns("a", "b"))
    store(destination, "append").persist(window_b)
    store(destination, "append").persist(window_a)  # A's files (a) are what A-then-B would give
    final = store(destination, "append").read()
    assert final is not None and final.events["E"].names == ["a", "b"]


def test_append_a_window_whose_columns_another_window_reordered_is_exported_again() -> None:
    destination = MemoryDestination(str)
    window_a = store(destination, "append").decide(columns("a", "c"))
    window_b = store(destination, "append").decide(columns("a", "b"))
    store(destination, "append").persist(window_b)
    with pytest.raises(ColumnsChanged):  # the export's columns are now a, b, c: A's file (a, c) does not fit
        store(destination, "append").persist(window_a)


def test_lock_a_window_must_follow_the_columns_locked_first() -> None:
    destination = MemoryDestination(str)
    window_a = store(destination, "lock").decide(columns("a"))
    window_b = store(destination, "lock").decide(columns("a", "b"))
    store(destination, "lock").persist(window_b)
    with pytest.raises(ColumnsChanged):
        store(destination, "lock").persist(window_a)
    again = store(destination, "lock").decide(columns("a"))
    assert again.columns.events["E"].names == ["a", "b"], "exported again, it follows the lock"
    store(destination, "lock").persist(again)
