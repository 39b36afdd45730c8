"""The sample events in a PostgreSQL table, for SQL-source tests (fixture ``events_db`` in conftest).

Column names differ from the canonical record on purpose, so the column mapping is
exercised; the groups are JSONB and the time ``timestamptz``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pendulum
import psycopg2

from tests.postgres import Postgres
from tests.reference import lake_rows

NULL = "\\N"  # COPY's NULL marker: unquoted empty CSV fields would turn '' into NULL
COLUMNS = {
    "event_name": "name", "event_time": "occurred_at", "user_id": "uid", "identity": "login_id",
    "email": "email_addr", "phone": "phone_no", "custom_identities": "ids", "profile": "profile",
    "device": "device", "comm_prefs": "prefs", "properties": "props",
}  # fmt: skip
TABLE = """CREATE TABLE app.events (
    name text, occurred_at timestamptz NOT NULL, uid text, login_id text, email_addr text, phone_no text,
    ids jsonb, profile jsonb, device jsonb, prefs jsonb, props jsonb)"""


def load_events(postgres: Postgres, lake: Path, database: str = "events") -> Postgres:
    postgres.create_database(database)
    db = psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname=database)
    with db, db.cursor() as cursor:
        cursor.execute("CREATE SCHEMA app")
        cursor.execute(TABLE)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        start, end = pendulum.datetime(2000, 1, 1), pendulum.datetime(2100, 1, 1)
        for row in lake_rows(lake, start, end):
            groups = ("custom_identities", "profile", "device", "comm_prefs", "properties")
            values = [row["event_name"], row["event_time"].isoformat(), row["user_id"], row["identity"],
                          row["email"], row["phone"], *(_json(row[k]) for k in groups)]  # fmt: skip
            writer.writerow([NULL if value is None else value for value in values])
        buffer.seek(0)
        cursor.copy_expert(f"COPY app.events FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buffer)
        cursor.execute("CREATE INDEX ON app.events (occurred_at)")
    return postgres


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


# The driver paths of the SQL source (engine/sources/sql.py), each forced by the connection it gets.
DRIVERS = ("adbc", "psycopg", "psycopg2")


def connect(driver: str, postgres: Postgres, database: str = "events") -> Any:
    """A DB-API connection to ``database`` through ``driver``: ADBC, psycopg 3 (COPY) or psycopg2."""
    if driver == "adbc":
        import adbc_driver_postgresql.dbapi

        uri = f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{database}"
        return adbc_driver_postgresql.dbapi.connect(uri)
    if driver == "psycopg":
        import psycopg

        return psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname=database)
    return psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname=database)


def sqlite_events(lake: Path, path: Path) -> Path:
    """The lake's events in an SQLite file (table ``events``, the same column names, JSON as text).

    Times are stored as their ISO text with ``+00:00`` and declared ``timestamptz``; the
    converter registered here reads them back as aware datetimes (``detect_types``).
    """
    import datetime as dt
    import sqlite3

    sqlite3.register_converter("timestamptz", lambda text: dt.datetime.fromisoformat(text.decode()))
    db = sqlite3.connect(path)
    columns = ", ".join(f"{column} {'timestamptz' if name == 'event_time' else 'text'}"
                        for name, column in COLUMNS.items())  # fmt: skip
    db.execute(f"CREATE TABLE events ({columns})")
    groups = ("custom_identities", "profile", "device", "comm_prefs", "properties")
    start, end = pendulum.datetime(2000, 1, 1), pendulum.datetime(2100, 1, 1)

    def value(row: dict[str, Any], name: str) -> Any:
        if name in groups:
            return _json(row[name])
        if name == "event_time":
            return row[name].astimezone(dt.timezone.utc).isoformat(" ")
        return row[name]

    rows = [[value(row, name) for name in COLUMNS] for row in lake_rows(lake, start, end)]
    db.executemany(f"INSERT INTO events VALUES ({', '.join('?' for _ in COLUMNS)})", rows)
    db.commit()
    db.close()
    return path
