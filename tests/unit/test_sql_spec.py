"""Parse-time checks of SQL sources: one of table/query, window parameters, safe identifiers."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_export_provider.spec import ExportSpec, SqlSourceSpec
from tests.unit.test_spec import problems, valid


def sql(**source: Any) -> dict[str, Any]:
    return valid(source={"type": "sql", "conn_id": "events_db", **source})


def test_a_table_source_maps_columns_and_builds_one_ordered_window_query() -> None:
    spec = ExportSpec.from_mapping(
        sql(table="app.events", columns={"event_time": "occurred_at", "properties": "props"})
    )
    assert isinstance(spec.source, SqlSourceSpec)
    from airflow_export_provider.engine.sources.sql import SqlSource

    statement = SqlSource(spec.source, connect=lambda: None).statement(
        ["event_name", "event_time", "properties"]
    )
    assert statement == (
        "SELECT event_name AS event_name, occurred_at AS event_time, props AS properties FROM app.events "
        "WHERE occurred_at >= %(window_start)s AND occurred_at < %(window_end)s "
        "ORDER BY occurred_at, event_name, props"
    ), "ties of event time are ordered by every column read"
    keyed = ExportSpec.from_mapping(sql(table="app.events", key_columns=["event_id"]))
    assert isinstance(keyed.source, SqlSourceSpec)
    assert (
        SqlSource(keyed.source, connect=lambda: None)
        .statement(["event_name", "event_time"])
        .endswith("ORDER BY event_time, event_id")
    )
    json_as_text = SqlSource(spec.source, connect=lambda: None).statement(
        ["event_time", "properties"], json_as_text=True
    )
    assert json_as_text.endswith("ORDER BY occurred_at, props::text"), "PostgreSQL cannot order json"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({}, "source: give either table or query"),
        ({"table": "t", "query": "select 1"}, "give either table or query"),
        (
            {"query": "SELECT * FROM t WHERE ts >= %(window_start)s"},
            "query must filter on the window with %(window_end)s",
        ),
        ({"table": "events; DROP TABLE users"}, "source.table"),
        ({"table": "t", "columns": {"event_time": "ts desc"}}, "source.columns.event_time"),
        ({"table": "t", "columns": {"colour": "c"}}, "source.columns.colour: unknown key"),
        ({"table": "t", "conn_id": ""}, "source.conn_id"),
        ({"table": "t", "key_columns": ["id; DROP TABLE t"]}, "source.key_columns[0]"),
    ],
)
def test_bad_sql_sources_are_named_at_parse_time(source: dict[str, Any], message: str) -> None:
    data = sql(**source)
    if "conn_id" in source:
        data["source"]["conn_id"] = source["conn_id"]
    assert message in problems(data)
