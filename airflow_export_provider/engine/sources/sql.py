"""Events from a database table or query, through any Airflow SQL (``DbApiHook``) connection.

The window is one query, ``WHERE event_time >= start AND event_time < end ORDER BY
event_time, <tie-breaker>``, read once, in bounded batches, by the fastest path the
connection offers:

- PostgreSQL with the ADBC driver installed (``adbc-driver-postgresql``, the ``postgres``
  extra): Arrow batches decoded in C++ from the server's binary rows (``postgres_arrow``).
- PostgreSQL with psycopg 3 (the postgres provider's default driver): ``COPY … TO
  STDOUT (FORMAT csv)`` parsed by pyarrow (``postgres_copy``).
- PostgreSQL with psycopg2: a *named* cursor, which the server keeps open and sends in
  ``batch_size`` pieces (a plain cursor would pull the whole result into the client).
- Other DB-API drivers: ``fetchmany``. Whether that streams depends on the driver
  (documented in docs/sql-sources.md).

JSON/JSONB columns hold the open groups (properties, profile, custom identities) and the
device and preference objects. They travel as text and are parsed by pyarrow's JSON
reader a batch at a time, on a thread beside the one fetching the next batch; the open
groups' Arrow types are the union over the window, the same way the lake source widens
its structs, so every batch of a window has one schema.

That union (and, when the spec exports ``all`` properties, which properties each event
carries) is only known once the whole window has been read, and the export must know it
before its first row. So the one database read parses each batch and keeps it in a local
spool (``spool.BatchSpool``); the export reads the spool back, conformed to the window's
schema. The database runs the window's query once, and every row exported is a row the
schema was learned from: no second read that could see other rows.

The queries only ever contain identifiers that passed the spec's validation and the two
window bounds, bound by the driver (``%(window_start)s``, ``%(window_end)s``) or, where
the path takes no parameters, inlined from the export's own datetimes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from airflow_export_provider.engine.events import (
    CANONICAL_SCHEMA,
    conform,
    window_schema,
)
from airflow_export_provider.engine.runtime.read_ahead import Prefetched
from airflow_export_provider.engine.sources.base import SourceStats
from airflow_export_provider.engine.sources.paramstyle import bind_window, inline_window, paramstyle_of
from airflow_export_provider.engine.sources.postgres_arrow import arrow_batches, uses_arrow
from airflow_export_provider.engine.sources.postgres_copy import (
    EPOCH_MICROSECONDS,
    copy_batches,
    copy_statement,
    uses_copy,
)
from airflow_export_provider.engine.sources.spool import BatchSpool
from airflow_export_provider.engine.sources.sql_rows import (
    JSON_FIELDS,
    empty_schema,
    from_cursor_rows,
    from_text_columns,
    loose_schema,
    with_fixed_group_types,
    with_fixed_groups,
)
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.exceptions import ExportError, first_line
from airflow_export_provider.spec import SqlSourceSpec

logger = logging.getLogger(__name__)

# Fetched batches waiting for the parser: the fetch runs one batch ahead of the JSON parsing.
FETCH_AHEAD = 2


class SourceError(ExportError):
    """The source cannot be read: connection, table, column or query; the message says which."""


@dataclass
class _ReadWindow:
    """A window the database has been read for: its schema and its rows, spooled."""

    window: Window
    schema: pa.Schema
    spool: BatchSpool


class SqlSource:
    """Streams a window of events from a SQL database as canonical Arrow record batches."""

    def __init__(self, spec: SqlSourceSpec, connect: Callable[[], Any]) -> None:
        """:param connect: opens a DB-API connection (in Airflow: the connection's own hook)."""
        self._spec = spec
        self._connect = connect
        self._mapped = spec.columns.mapped()
        self._read_window: _ReadWindow | None = None
        self.stats = SourceStats()

    def statement(
        self,
        fields: Sequence[str],
        *,
        copy: bool = False,
        json_as_text: bool = False,
        scalars_as_text: bool = False,
    ) -> str:
        """The window's query for the given canonical fields (always with event_time, in order).

        ``copy`` (PostgreSQL ``COPY``) sends the time as epoch microseconds;
        ``json_as_text`` (PostgreSQL) sends JSON columns as text, for pyarrow to parse;
        ``scalars_as_text`` (ADBC) sends the other columns as text, as ``COPY`` spells them.
        """
        time_column = self._mapped["event_time"]

        def expression(name: str) -> str:
            column = self._mapped[name]
            if name == "event_time":
                return EPOCH_MICROSECONDS.format(column=column) if copy else column
            as_text = json_as_text if name in JSON_FIELDS else scalars_as_text
            return f"{column}::text" if as_text else column

        selected = ", ".join(f"{expression(name)} AS {name}" for name in fields)
        order = self._order(fields, as_text=copy or json_as_text)
        if self._spec.table is not None:
            return (
                f"SELECT {selected} FROM {self._spec.table} "
                f"WHERE {time_column} >= %(window_start)s AND {time_column} < %(window_end)s "
                f"ORDER BY {order}"
            )
        return f"SELECT {selected} FROM ({self._spec.query}) AS export_window_rows ORDER BY {order}"

    def _order(self, fields: Sequence[str], *, as_text: bool) -> str:
        """Event time, then a tie-breaker, so rows of one instant always come in the same order.

        The declared key columns if any; else every column read (PostgreSQL cannot order
        ``json``, so JSON columns are ordered as their text there).
        """
        ties = list(self._spec.key_columns)
        if not ties:
            for name in fields:
                if name == "event_time":
                    continue
                column = self._mapped[name]
                ties.append(f"{column}::text" if as_text and name in JSON_FIELDS else column)
        return ", ".join([self._mapped["event_time"], *ties])

    def _requested(self, columns: Sequence[str] | None) -> list[str]:
        """Canonical names a read yields, in canonical order; unmapped ones come as nulls."""
        wanted = set(CANONICAL_SCHEMA.names if columns is None else {"event_name", "event_time", *columns})
        return [name for name in CANONICAL_SCHEMA.names if name in wanted]

    def _fields(self, columns: Sequence[str] | None) -> list[str]:
        """The requested names the source has columns for: what the query selects."""
        return [name for name in self._requested(columns) if name in self._mapped]

    def schema(self, window: Window) -> pa.Schema:
        """The window's schema; the open groups' members are read from the data (the one read)."""
        return self._database_read(window).schema

    def rows_to_scan(self, window: Window) -> int | None:
        """Once the window has been read from the database, its spooled rows (for progress)."""
        read = self._read_window
        return read.spool.rows if read is not None and read.window == window else None

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The window's batches; a column scan before the window is known reads the database.

        Such a scan's batches carry each batch's own struct members (a narrower type than
        the window's), which is all a presence scan needs; every later read comes from the
        spool, conformed to the window's schema. A full read (no ``columns``) is the last:
        it discards the spool when it ends.
        """
        requested = self._requested(columns)
        if columns is not None and not self._has_read(window):
            for batch in self._reading(window):
                own = batch.select([name for name in requested if name in batch.schema.names])
                yield conform(own, loose_schema(own.schema, requested))
            return
        read = self._database_read(window)
        target = pa.schema([read.schema.field(name) for name in requested])
        selected = [name for name in requested if name in self._mapped]
        self.stats = SourceStats()
        spooled = Prefetched(
            read.spool.batches(), depth=FETCH_AHEAD, name="sql-spool",
            transform=lambda batch: conform(with_fixed_groups(batch.select(selected)), target),
        )  # fmt: skip
        try:
            for batch in spooled:
                self.stats.rows_scanned += batch.num_rows
                self.stats.rows_in_window += batch.num_rows
                yield batch
        finally:
            if columns is None:
                self.close()

    def close(self) -> None:
        """Remove the window's spooled rows (after the export read)."""
        if self._read_window is not None:
            self._read_window.spool.discard()
            self._read_window = None

    def _has_read(self, window: Window) -> bool:
        return self._read_window is not None and self._read_window.window == window

    def _database_read(self, window: Window) -> _ReadWindow:
        if not self._has_read(window):
            for _ in self._reading(window):
                pass
        assert self._read_window is not None
        return self._read_window

    def _reading(self, window: Window) -> Iterator[pa.RecordBatch]:
        """The window's one database read: each batch spooled as it passes; at the end, the schema."""
        self.close()
        fields = self._fields(None)
        spool = BatchSpool()
        schemas = []
        self.stats = SourceStats()
        try:
            for batch in self._parsed_batches(window, fields):
                spool.add(batch)
                schemas.append(with_fixed_group_types(batch.schema))
                self.stats.rows_scanned += batch.num_rows
                self.stats.rows_in_window += batch.num_rows
                yield batch
        except BaseException:
            spool.discard()
            raise
        schema = window_schema(schemas or [empty_schema(fields)])
        self._read_window = _ReadWindow(window, schema, spool)
        logger.debug("window %s: %d rows spooled (%d bytes)", window.label, spool.rows, spool.bytes)

    def _parsed_batches(self, window: Window, fields: list[str]) -> Iterator[pa.RecordBatch]:
        """Loosely typed batches (each its own struct members), fetched a batch ahead of parsing."""
        fetched = Prefetched(
            self._fetched_with_parser(window, fields), depth=FETCH_AHEAD, name="sql-fetch",
            transform=lambda item: item[1](item[0]),
        )  # fmt: skip
        yield from fetched

    def _fetched_with_parser(
        self, window: Window, fields: list[str]
    ) -> Iterator[tuple[Any, Callable[[Any], pa.RecordBatch]]]:
        """What the driver sends, each piece with what parses it; runs on the fetching thread.

        The connection is opened, used and closed on that one thread: some drivers
        (sqlite3) refuse a connection made on another.
        """
        connection = self._connect()
        try:
            _read_only(connection)
            bounds = {"window_start": window.start, "window_end": window.end}
            if uses_arrow(connection):
                for batch in self._arrow_fetched(connection, fields, bounds):
                    yield batch, from_text_columns
            elif uses_copy(connection):
                for batch in self._copied(connection, fields, bounds):
                    yield batch, from_text_columns
            else:
                for rows in self._rows_fetched(connection, fields, bounds):
                    yield rows, lambda rows: from_cursor_rows(rows, fields)
        finally:
            close_quietly(connection)

    def _arrow_fetched(
        self, connection: Any, fields: list[str], bounds: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        statement = inline_window(self.statement(fields, json_as_text=True, scalars_as_text=True), bounds)
        yield from self._translated(arrow_batches(connection, statement, self._spec.batch_size), statement)

    def _copied(self, connection: Any, fields: list[str], bounds: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        select = self.statement(fields, copy=True)
        try:
            statement = copy_statement(connection, select, bounds)
        except Exception as error:
            raise SourceError(self._explain(error, select)) from None
        types = [(name, pa.int64() if name == "event_time" else pa.string()) for name in fields]
        yield from self._translated(copy_batches(connection, statement, types, self._spec.batch_size), select)

    def _translated(self, batches: Iterator[pa.RecordBatch], statement: str) -> Iterator[pa.RecordBatch]:
        """A bulk path's batches, its errors as ``SourceError`` (the query's own ones explained)."""
        started = False
        try:
            while True:
                try:
                    batch = next(batches, None)
                except Exception as error:
                    raise SourceError(self._failure(error, statement, started=started)) from None
                if batch is None:
                    return
                started = True
                yield batch
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # ends an unfinished COPY before the connection is touched again

    def _rows_fetched(
        self, connection: Any, fields: list[str], bounds: dict[str, Any]
    ) -> Iterator[list[tuple[Any, ...]]]:
        statement = self.statement(fields, json_as_text=_is_postgres(connection))
        cursor = _streaming_cursor(connection, self._spec.batch_size)
        try:
            cursor.execute(*bind_window(statement, bounds, paramstyle_of(connection)))
        except Exception as error:
            raise SourceError(self._explain(error, statement)) from None
        while True:
            try:
                rows = cursor.fetchmany(self._spec.batch_size)
            except Exception as error:
                raise SourceError(self._failure(error, statement, started=True)) from None
            if not rows:
                break
            yield rows
        cursor.close()

    def _failure(self, error: Exception, statement: str, *, started: bool) -> str:
        # psycopg and ADBC raise the query's own errors (no table, no column) on the first read.
        if not started and _is_query_error(error):
            return self._explain(error, statement)
        return f"reading {self._spec.path} failed mid-window: {server_message(error)}"

    def _explain(self, error: Exception, statement: str) -> str:
        what = f"table {self._spec.table}" if self._spec.table else "query"
        return (
            f"the {what} on connection {self._spec.conn_id!r} cannot be read: {server_message(error)}. "
            f"Check source.table/query and source.columns (the export ran: {statement})"
        )


def server_message(error: Exception) -> str:
    """The database's own words, without a driver's wrapping.

    ADBC's libpq driver wraps them (``NOT_FOUND: Failed to prepare query: ERROR:  …``, or
    ``[libpq] Execution error [PGRES_FATAL_ERROR]: ERROR:  …`` from the batch reader).
    """
    text = str(error)
    if "[libpq]" in text or type(error).__module__.split(".")[0] == "adbc_driver_manager":
        words = text.rsplit("ERROR:", 1)[-1].strip()
        return words.splitlines()[0] if words else type(error).__name__
    return first_line(error)


def _is_postgres(connection: Any) -> bool:
    return type(connection).__module__.split(".")[0] in ("psycopg", "psycopg2")


def _read_only(connection: Any) -> None:
    """PostgreSQL: the window is read in a read-only transaction (the export never writes)."""
    driver = type(connection).__module__.split(".")[0]
    if driver == "psycopg":
        connection.read_only = True
    elif driver == "psycopg2":
        connection.set_session(readonly=True)


def _is_query_error(error: Exception) -> bool:
    """SQLSTATE class 42 (syntax error or access rule violation): the query itself is wrong."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return isinstance(state, str) and state.startswith("42")


def _streaming_cursor(connection: Any, batch_size: int) -> Any:
    """A server-side cursor where the driver has one (psycopg 3 and psycopg2), else a plain one."""
    if _is_postgres(connection):
        cursor = connection.cursor(name=f"airflow_export_{uuid.uuid4().hex[:12]}")
        cursor.itersize = batch_size
        return cursor
    return connection.cursor()


def close_quietly(connection: Any) -> None:
    try:
        connection.rollback()  # read-only: end the transaction the reads lived in
        connection.close()
    except Exception:
        logger.debug("closing the source connection failed", exc_info=True)
