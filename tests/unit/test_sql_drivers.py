"""How the SQL source talks to drivers: the ADBC URI from an Airflow connection, parameter styles."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_export_provider.engine.sources.paramstyle import bind_window, inline_window, plain_utc
from airflow_export_provider.hooks.adbc_postgres import adbc_connection, libpq_uri

BOUNDS = {"window_start": pendulum.datetime(2025, 3, 2, 8), "window_end": pendulum.datetime(2025, 3, 2, 16)}
START, END = (
    dt.datetime(2025, 3, 2, 8, tzinfo=dt.timezone.utc),
    dt.datetime(2025, 3, 2, 16, tzinfo=dt.timezone.utc),
)
SQL = "SELECT * FROM t WHERE ts >= %(window_start)s AND ts < %(window_end)s AND name LIKE 'a%%'"


def airflow_connection(**fields: Any) -> Any:
    from airflow.models.connection import Connection

    return Connection(conn_id="events_db", conn_type=fields.pop("conn_type", "postgres"), **fields)


def test_the_libpq_uri_quotes_every_part_and_passes_libpq_options() -> None:
    connection = airflow_connection(
        host="db.internal", port=6432, login="ex porter", password="p@ss/w:rd?", schema="analytics",
        extra={"sslmode": "verify-full", "connect_timeout": 5, "cursor": "namedtuplecursor"},
    )  # fmt: skip
    assert libpq_uri(connection, connection.extra_dejson) == (
        "postgresql://ex%20porter:p%40ss%2Fw%3Ard%3F@db.internal:6432/analytics"
        "?sslmode=verify-full&connect_timeout=5"
    )
    socket = airflow_connection(host="/var/run/postgresql", login="u", schema="db")
    assert libpq_uri(socket, {}) == "postgresql://u@%2Fvar%2Frun%2Fpostgresql/db"
    ipv6 = airflow_connection(host="::1", port=5432, schema="db")
    assert libpq_uri(ipv6, {}) == "postgresql://[::1]:5432/db"


@pytest.mark.parametrize(
    "fields",
    [
        {"conn_type": "mysql", "host": "db"},
        {"host": "db", "extra": {"iam": True, "aws_conn_id": "aws"}},  # IAM tokens: only the hook does them
        {"host": "db", "extra": {"some_future_option": 1}},
    ],
)
def test_connections_only_the_hook_can_open_get_no_adbc_connection(fields: dict[str, Any]) -> None:
    assert adbc_connection(airflow_connection(**fields)) is None


def test_every_parameter_style_gets_the_bounds_in_its_own_spelling() -> None:
    assert bind_window(SQL, BOUNDS, "pyformat") == (SQL, {"window_start": START, "window_end": END})
    assert bind_window(SQL, BOUNDS, "format") == (
        SQL.replace("%(window_start)s", "%s").replace("%(window_end)s", "%s"),
        [START, END],
    )
    named, values = bind_window(SQL, BOUNDS, "named")
    assert named == "SELECT * FROM t WHERE ts >= :window_start AND ts < :window_end AND name LIKE 'a%'"
    assert values == {"window_start": START, "window_end": END}
    assert bind_window(SQL, BOUNDS, "qmark")[0].endswith("ts >= ? AND ts < ? AND name LIKE 'a%'")
    reversed_sql = "SELECT 1 WHERE %(window_end)s > x AND x >= %(window_start)s"
    assert bind_window(reversed_sql, BOUNDS, "numeric") == ("SELECT 1 WHERE :1 > x AND x >= :2", [END, START])
    assert all(
        type(v) is dt.datetime for v in bind_window(SQL, BOUNDS, "qmark")[1]
    )  # not pendulum's subclass
    with pytest.raises(ValueError, match="unknown DB-API paramstyle 'curly'"):
        bind_window(SQL, BOUNDS, "curly")


def test_inlined_bounds_are_timestamptz_literals() -> None:
    assert inline_window(SQL, BOUNDS) == (
        "SELECT * FROM t WHERE ts >= '2025-03-02T08:00:00+00:00'::timestamptz "
        "AND ts < '2025-03-02T16:00:00+00:00'::timestamptz AND name LIKE 'a%'"
    )
    assert plain_utc(pendulum.datetime(2025, 3, 2, 9, 30, 0, 5, tz="Europe/Paris")) == dt.datetime(
        2025, 3, 2, 8, 30, 0, 5, tzinfo=dt.timezone.utc
    )


@given(
    st.lists(
        st.sampled_from(["%(window_start)s", "%(window_end)s", "%%", "x", " ", "'", "?", ":a"]), max_size=30
    )
)
def test_positional_styles_bind_every_placeholder_in_order(parts: list[str]) -> None:
    statement = "".join(parts)
    sql, values = bind_window(statement, BOUNDS, "qmark")
    wanted = [START if p == "%(window_start)s" else END for p in parts if p.startswith("%(")]
    assert values == wanted
    assert sql == "".join("?" if p.startswith("%(") else ("%" if p == "%%" else p) for p in parts)
    assert not re.search(r"%\(window_(start|end)\)s", sql)
