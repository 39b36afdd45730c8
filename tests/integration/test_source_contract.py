"""The contract every event source fulfils, checked on the lake and on PostgreSQL with the same events.

See ``airflow_export_provider/engine/sources/base.py``: one schema per window that every batch
has; only the window's events; bounded batches; the same batches on every read;
``columns`` narrows what is read; statistics count what was yielded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pytest

from airflow_export_provider.engine.events import CANONICAL_SCHEMA, OPEN_STRUCTS
from airflow_export_provider.engine.sources.base import EventSource
from airflow_export_provider.engine.sources.sql import SqlSource
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import source_for
from airflow_export_provider.spec import ExportSpec, SqlSourceSpec
from tests.reference import lake_rows
from tests.sql_events import COLUMNS, DRIVERS, connect

pytestmark = pytest.mark.integration
BATCH = 1_000
WINDOW = Window(pendulum.datetime(2025, 3, 1, 20), pendulum.datetime(2025, 3, 2, 4))  # across UTC midnight
EMPTY = Window(pendulum.datetime(2024, 1, 1), pendulum.datetime(2024, 1, 2))


@pytest.fixture(params=["lake", *(f"sql-{driver}" for driver in DRIVERS)])
def source(request: pytest.FixtureRequest, lake3: Path) -> EventSource:
    """The lake, and the SQL source through each of its driver paths (ADBC, COPY, named cursor)."""
    if request.param == "lake":
        config: dict[str, Any] = {"type": "lake", "path": str(lake3), "batch_size": BATCH}
    else:
        config = {
            "type": "sql",
            "conn_id": "events_db",
            "table": "app.events",
            "columns": COLUMNS,
            "batch_size": BATCH,
        }
    spec = ExportSpec.from_mapping({"export_id": "c", "account_id": "a", "source": config,
                                    "destination": {"bucket": "unused"}, "schedule": "every 4h"})  # fmt: skip
    if request.param == "lake":
        return source_for(spec.source)
    assert isinstance(spec.source, SqlSourceSpec)
    events_db, driver = request.getfixturevalue("events_db"), request.param.removeprefix("sql-")
    return SqlSource(spec.source, connect=lambda: connect(driver, events_db))


def test_every_batch_has_the_window_schema_with_canonical_types(source: EventSource) -> None:
    schema = source.schema(WINDOW)
    assert schema.names == CANONICAL_SCHEMA.names
    for field in CANONICAL_SCHEMA:
        if field.name not in OPEN_STRUCTS:
            assert schema.field(field.name).type == field.type, field.name
        else:
            assert pa.types.is_struct(schema.field(field.name).type)
    assert all(batch.schema == schema for batch in source.read(WINDOW))


def test_exactly_the_window_s_events_in_bounded_batches(source: EventSource, lake3: Path) -> None:
    batches = list(source.read(WINDOW))
    times = [t for batch in batches for t in batch.column("event_time").to_pylist()]
    assert len(times) == len(lake_rows(lake3, WINDOW.start, WINDOW.end)) > 1_000
    assert all(WINDOW.start <= t < WINDOW.end for t in times)
    assert max(batch.num_rows for batch in batches) <= BATCH
    assert source.stats.rows_in_window == len(times)


def test_reads_are_deterministic(source: EventSource) -> None:
    first = [batch.to_pylist() for batch in source.read(WINDOW)]
    assert [batch.to_pylist() for batch in source.read(WINDOW)] == first


def test_columns_narrow_the_read_and_keep_types(source: EventSource) -> None:
    schema = source.schema(WINDOW)
    for batch in source.read(WINDOW, columns=["event_name", "properties"]):
        assert batch.schema.names == ["event_name", "event_time", "properties"]
        assert batch.schema.field("properties").type == schema.field("properties").type


def test_an_empty_window_has_a_schema_and_no_batches(source: EventSource) -> None:
    assert source.schema(EMPTY).names == CANONICAL_SCHEMA.names
    assert list(source.read(EMPTY)) == []
    assert source.stats.rows_in_window == 0
