"""The window bounds bound in the driver's own parameter style (PEP 249 ``paramstyle``).

Specs spell the bounds ``%(window_start)s`` and ``%(window_end)s`` (psycopg's style, the
most common in Airflow). Other drivers take ``?`` (sqlite3, pyodbc, Trino), ``:name``
(Oracle), ``:1`` or ``%s`` (MySQL): the placeholders are rewritten into the driver's style
and the bounds passed as it expects. Where the style has no ``%`` escaping, a query's
``%%`` (the pyformat spelling of ``%``) becomes ``%``.

Paths that take no parameters (ADBC's PostgreSQL driver runs the query inside ``COPY``)
get the bounds inlined as literals (``inline_window``).

The bounds are passed as plain ``datetime.datetime`` in UTC: some drivers adapt values by
exact type and refuse a subclass such as pendulum's ``DateTime``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping
from typing import Any

WINDOW_PLACEHOLDER = re.compile(r"%\((window_start|window_end)\)s")


def paramstyle_of(connection: Any) -> str:
    """The DB-API module's declared ``paramstyle`` (``pyformat`` where it declares none)."""
    module = sys.modules.get(type(connection).__module__.split(".")[0])
    style = getattr(module, "paramstyle", "pyformat")
    return style if isinstance(style, str) else "pyformat"


def plain_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as a plain ``datetime.datetime`` in UTC."""
    utc = value.astimezone(dt.timezone.utc)
    return dt.datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, dt.timezone.utc
    )


def bind_window(
    statement: str, bounds: Mapping[str, dt.datetime], paramstyle: str
) -> tuple[str, Mapping[str, dt.datetime] | list[dt.datetime]]:
    """``statement`` and its parameters for ``cursor.execute`` in ``paramstyle``."""
    values = {name: plain_utc(value) for name, value in bounds.items()}
    if paramstyle == "pyformat":
        return statement, values
    if paramstyle == "named":
        return _unescaped(WINDOW_PLACEHOLDER.sub(r":\1", statement)), values
    order: list[dt.datetime] = []

    def positional(match: re.Match[str]) -> str:
        order.append(values[match.group(1)])
        if paramstyle == "qmark":
            return "?"
        if paramstyle == "numeric":
            return f":{len(order)}"
        return "%s"  # format

    if paramstyle not in ("qmark", "numeric", "format"):
        raise ValueError(f"unknown DB-API paramstyle {paramstyle!r}")
    rewritten = WINDOW_PLACEHOLDER.sub(positional, statement)
    return (rewritten if paramstyle == "format" else _unescaped(rewritten)), order


def inline_window(statement: str, bounds: Mapping[str, dt.datetime]) -> str:
    """``statement`` with the bounds as ``timestamptz`` literals, for paths that take no parameters.

    Only for the export's own datetimes (never user text): their ISO spelling is all a literal holds.
    """
    values = {name: plain_utc(value).isoformat() for name, value in bounds.items()}
    return _unescaped(WINDOW_PLACEHOLDER.sub(lambda m: f"'{values[m.group(1)]}'::timestamptz", statement))


def _unescaped(statement: str) -> str:
    return statement.replace("%%", "%")
