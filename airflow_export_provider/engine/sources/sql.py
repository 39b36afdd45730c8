"""Events from a database table or query, through any Airflow SQL (``DbApiHook``) connection.

The window is one query, ``WHERE event_time >= start AND event_time < end ORDER BY
event_time, <tie-breaker>``, read in bounded batches:

- PostgreSQL with psycopg 3 (the postgres provider's default driver): ``COPY … TO
  STDOUT (FORMAT csv)`` parsed by pyarrow (``postgres_copy``), the fastest path
  (docs/performance.md, "SQL source").
- PostgreSQL with psycopg2: a *named* cursor, which the server keeps open and sends in
  ``batch_size`` pieces (a plain cursor would pull the whole result into the client).
- Other DB-API drivers: ``fetchmany``. Whether that streams depends on the driver
  (documented in docs/sql-sources.md).

JSON/JSONB columns hold the open groups (properties, profile, custom identities) and the
device and preference objects. They travel as text and are parsed by pyarrow's JSON
reader a batch at a time; the open groups' Arrow types are the union over the window,
the same way the lake source widens its structs, so every batch of a window has one
schema.

A window is read twice: once for those types (and, in the same pass, which properties
each event carries, when the spec exports ``all``), then for the export. On PostgreSQL
both reads run in one ``REPEATABLE READ`` read-only transaction, so they see the same
rows even while new events arrive. Elsewhere a value whose member the first read did
not see fails the export rather than being dropped.

The queries only ever contain identifiers that passed the spec's validation and the two
window bounds, bound by the driver (``%(window_start)s``, ``%(window_end)s``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from airflow_export_provider.engine.events import (
    CANONICAL_SCHEMA,
    OPEN_STRUCTS,
    conform,
    window_schema,
)
from airflow_export_provider.engine.sources.base import SourceStats
from airflow_export_provider.engine.sources.postgres_copy import (
    EPOCH_MICROSECONDS,
    copy_batches,
    copy_statement,
    uses_copy,
)
from airflow_export_provider.engine.sources.sql_rows import (
    JSON_FIELDS,
    empty_schema,
    from_copied_text,
    from_cursor_rows,
    loose_schema,
    refuse_unseen_members,
)
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.exceptions import ExportError, first_line
from airflow_export_provider.spec import SqlSourceSpec

logger = logging.getLogger(__name__)


class SourceError(ExportError):
    """The source cannot be read: connection, table, column or query; the message says which."""


class SqlSource:
    """Streams a window of events from a SQL database as canonical Arrow record batches."""

    def __init__(self, spec: SqlSourceSpec, connect: Callable[[], Any]) -> None:
        """:param connect: opens a DB-API connection (in Airflow: the connection's own hook)."""
        self._spec = spec
        self._connect = connect
        self._mapped = spec.columns.mapped()
        self._schemas: dict[Window, pa.Schema] = {}
        self._open: tuple[Window, Any] | None = None
        self.stats = SourceStats()

    def statement(self, fields: Sequence[str], *, copy: bool = False, json_as_text: bool = False) -> str:
        """The window's query for the given canonical fields (always with event_time, in order).

        ``copy`` (PostgreSQL ``COPY``) sends the time as epoch microseconds;
        ``json_as_text`` (PostgreSQL cursors) sends JSON columns as text, for pyarrow to parse.
        """
        time_column = self._mapped["event_time"]

        def expression(name: str) -> str:
            column = self._mapped[name]
            if copy and name == "event_time":
                return EPOCH_MICROSECONDS.format(column=column)
            return f"{column}::text" if json_as_text and name in JSON_FIELDS else column

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
        """The window's schema; the open groups' members are read from the data (a light pass)."""
        if window not in self._schemas:
            for _ in self._learning_scan(window, self._fields([])):
                pass
        return self._schemas[window]

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The window's batches; a column scan before the schema is known also learns the schema.

        Such a scan's batches carry each batch's own struct members (a narrower type than
        the window's), which is all a presence scan needs; the full read is conformed.
        """
        fields, requested = self._fields(columns), self._requested(columns)
        if columns is not None and window not in self._schemas:
            for batch in self._learning_scan(window, fields):
                yield conform(batch, loose_schema(batch.schema, requested))
            return
        schema = self.schema(window)
        target = pa.schema([schema.field(name) for name in requested])
        self.stats = SourceStats()
        try:
            for batch in self._batches(window, fields, target):
                self.stats.rows_scanned += batch.num_rows
                self.stats.rows_in_window += batch.num_rows
                refuse_unseen_members(batch, target)
                yield conform(batch, target)
        finally:
            if columns is None:
                self.close()

    def close(self) -> None:
        """End the window's read transaction and close its connection (after the export read)."""
        if self._open is not None:
            close_quietly(self._open[1])
            self._open = None

    def _learning_scan(self, window: Window, fields: list[str]) -> Iterator[pa.RecordBatch]:
        """Read ``fields`` plus the open groups; their union over the window is its schema."""
        scanned = self._fields([*fields, *(name for name in OPEN_STRUCTS if name in self._mapped)])
        schemas = []
        for batch in self._batches(window, scanned, None):
            schemas.append(batch.schema)
            yield batch.select(fields)
        self._schemas = {window: window_schema(schemas or [empty_schema(scanned)])}

    def _batches(
        self, window: Window, fields: list[str], target: pa.Schema | None
    ) -> Iterator[pa.RecordBatch]:
        connection = self._session(window)
        bounds = {"window_start": window.start, "window_end": window.end}
        try:
            if uses_copy(connection):
                yield from self._copied(connection, fields, bounds, target)
            else:
                yield from self._fetched(connection, fields, bounds, target)
        except BaseException:
            self.close()
            raise

    def _copied(
        self, connection: Any, fields: list[str], bounds: dict[str, Any], target: pa.Schema | None
    ) -> Iterator[pa.RecordBatch]:
        select = self.statement(fields, copy=True)
        try:
            statement = copy_statement(connection, select, bounds)
        except Exception as error:
            raise SourceError(self._explain(error, select)) from None
        types = [(name, pa.int64() if name == "event_time" else pa.string()) for name in fields]
        batches = copy_batches(connection, statement, types, self._spec.batch_size)
        try:
            while True:
                try:
                    batch = next(batches, None)
                except Exception as error:
                    raise SourceError(self._failure(error, select, started=False)) from None
                if batch is None:
                    return
                yield from_copied_text(batch, target)
        finally:
            batches.close()  # ends an unfinished COPY before the connection is touched again

    def _fetched(
        self, connection: Any, fields: list[str], bounds: dict[str, Any], target: pa.Schema | None
    ) -> Iterator[pa.RecordBatch]:
        statement = self.statement(fields, json_as_text=_is_postgres(connection))
        cursor = _streaming_cursor(connection, self._spec.batch_size)
        try:
            cursor.execute(statement, bounds)
        except Exception as error:
            raise SourceError(self._explain(error, statement)) from None
        while True:
            try:
                rows = cursor.fetchmany(self._spec.batch_size)
            except Exception as error:
                raise SourceError(self._failure(error, statement, started=True)) from None
            if not rows:
                break
            yield from_cursor_rows(rows, fields, target)
        cursor.close()

    def _session(self, window: Window) -> Any:
        """One connection and read transaction per window, shared by its passes."""
        if self._open is not None and self._open[0] == window:
            return self._open[1]
        self.close()
        connection = self._connect()
        _same_snapshot_for_all_reads(connection)
        self._open = (window, connection)
        return connection

    def _failure(self, error: Exception, statement: str, *, started: bool) -> str:
        # psycopg raises the query's own errors (no table, no column) on the first COPY read.
        if not started and _is_query_error(error):
            return self._explain(error, statement)
        return f"reading {self._spec.path} failed mid-window: {first_line(error)}"

    def _explain(self, error: Exception, statement: str) -> str:
        what = f"table {self._spec.table}" if self._spec.table else "query"
        return (
            f"the {what} on connection {self._spec.conn_id!r} cannot be read: {first_line(error)}. "
            f"Check source.table/query and source.columns (the export ran: {statement})"
        )


def _is_postgres(connection: Any) -> bool:
    return type(connection).__module__.split(".")[0] in ("psycopg", "psycopg2")


def _same_snapshot_for_all_reads(connection: Any) -> None:
    """PostgreSQL: a read-only ``REPEATABLE READ`` transaction, so every pass sees the same rows."""
    driver = type(connection).__module__.split(".")[0]
    if driver == "psycopg":
        import psycopg

        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
    elif driver == "psycopg2":
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)


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
