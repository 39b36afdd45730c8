"""An export leaves no reference cycle that holds Arrow data.

Python frees an object in a reference cycle only when its cycle collector runs, and a
worker that has imported Airflow holds so many long-lived objects that full collections
are rare. A cycle that holds a batch's cells therefore keeps them resident for seconds:
a recursive closure in the CSV preparation did, and at 10M events to S3 Arrow's live
memory grew from ~95 to ~140 MB between collections (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pyarrow as pa
import pytest

from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from tests.sql_events import COLUMNS

WINDOW = Window(pendulum.datetime(2025, 3, 1, 0), pendulum.datetime(2025, 3, 1, 12))
SQL_WINDOW = Window(pendulum.datetime(2025, 3, 2, 8), pendulum.datetime(2025, 3, 2, 16))


@contextlib.contextmanager
def arrow_in_cycles() -> Iterator[Counter[str]]:
    """Counts, on exit, the Arrow objects that only the cycle collector would have freed."""
    gc.collect()
    gc.disable()  # nothing is collected inside: every cycle made there is found on exit
    found: Counter[str] = Counter()
    try:
        yield found
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found.update(type(o).__name__ for o in gc.garbage if type(o).__module__.startswith("pyarrow"))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        gc.collect()  # what DEBUG_SAVEALL kept is unreachable again


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xml", "parquet"])
@pytest.mark.parametrize("folders", [["data_type", "event_name", "date"], ["data_type", "date"]])
def test_an_export_leaves_no_cycle_that_holds_arrow_data(
    lake: Path, tmp_path: Path, fmt: str, folders: list[str]
) -> None:
    spec = ExportSpec.from_mapping(
        {
            "export_id": "cycles",
            "account_id": "acme",
            "source": {"path": str(lake), "batch_size": 3_000},
            "destination": {"type": "local", "path": str(tmp_path)},
            "format": {"type": fmt},
            "layout": {"folders": folders},
            "schedule": {"every": "12h"},
        }
    )
    with arrow_in_cycles() as arrow:
        result = export_window(
            spec, WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination)
        )
        assert result.records > 5_000
    assert arrow == Counter()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_from_postgres_leaves_no_cycle_that_holds_arrow_data(
    events_db_conn_id: str, tmp_path: Path, fmt: str
) -> None:
    spec = ExportSpec.from_mapping({
        "export_id": "cycles", "account_id": "acme",
        "source": {"type": "sql", "conn_id": events_db_conn_id, "table": "app.events", "columns": COLUMNS},
        "destination": {"type": "local", "path": str(tmp_path)}, "format": {"type": fmt},
        "schedule": {"every": "12h"}})  # fmt: skip
    with arrow_in_cycles() as arrow:
        result = export_window(
            spec, SQL_WINDOW, source=source_for(spec.source), destination=destination_for(spec.destination)
        )
        assert result.records > 1_000
    assert arrow == Counter()


def test_a_cycle_that_holds_arrow_data_is_found() -> None:
    """The check above can fail: a closure that calls itself and holds an array is counted."""

    def make_cycle() -> None:
        held = [pa.array(["cell"] * 10)]

        def visit(depth: int) -> int:
            return len(held) + (visit(depth - 1) if depth else 0)

        visit(1)

    with arrow_in_cycles() as arrow:
        make_cycle()
    assert arrow["StringArray"] == 1
