"""Events from a database table or query, through any Airflow SQL (``DbApiHook``) connection.

The window is one query, ``WHERE event_time >= start AND event_time < end ORDER BY
event_time``, read in batches of ``batch_size`` rows. Memory is bounded by the batch:

- PostgreSQL (psycopg 3 or psycopg2, whichever the postgres provider uses): a *named*
  cursor, which the server keeps open and sends in
  ``batch_size`` pieces (a plain cursor would pull the whole result into the client).
- Other DB-API drivers: ``fetchmany``. Whether that streams depends on the driver
  (documented in docs/sql-sources.md).

Rows become Arrow arrays column by column. JSON/JSONB columns hold the open groups
(properties, profile, custom identities) and the device and preference objects; their
Arrow types are inferred from the window's data, the same way the lake source widens
its structs, so every batch of a window has one schema.

The queries only ever contain identifiers that passed the spec's validation and the two
window bounds as bound parameters (``%(window_start)s``, ``%(window_end)s``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson

from airflow_export_provider.events import (
    CANONICAL_SCHEMA,
    OPEN_STRUCTS,
    EventSchemaError,
    conform,
    window_schema,
)
from airflow_export_provider.exceptions import ExportError
from airflow_export_provider.sources.base import SourceStats
from airflow_export_provider.spec import SqlSourceSpec
from airflow_export_provider.windows import Window

logger = logging.getLogger(__name__)
JSON_FIELDS = ("custom_identities", "profile", "device", "comm_prefs", "properties")


class SourceError(ExportError):
    """The source cannot be read: connection, table, column or query; the message says which."""


class SqlSource:
    """Streams a window of events from a SQL database as canonical Arrow record batches."""

    def __init__(self, spec: SqlSourceSpec, connect: Callable[[], Any] | None = None) -> None:
        self._spec = spec
        self._connect = connect or (lambda: _connection_of(spec.conn_id))
        self._mapped = spec.columns.mapped()
        self._schemas: dict[Window, pa.Schema] = {}
        self.stats = SourceStats()

    # -- the queries

    def statement(self, fields: Sequence[str], json_as_text: bool = False) -> str:
        """The window's query for the given canonical fields (always with event_time, in order).

        With ``json_as_text`` (PostgreSQL), JSON columns come as text and are parsed by
        pyarrow's JSON reader a batch at a time, not by the driver row by row.
        """
        time_column = self._mapped["event_time"]

        def expression(name: str) -> str:
            column = self._mapped[name]
            return f"{column}::text" if json_as_text and name in JSON_FIELDS else column

        selected = ", ".join(f"{expression(name)} AS {name}" for name in fields)
        if self._spec.table is not None:
            return (
                f"SELECT {selected} FROM {self._spec.table} "
                f"WHERE {time_column} >= %(window_start)s AND {time_column} < %(window_end)s "
                f"ORDER BY {time_column}"
            )
        return f"SELECT {selected} FROM ({self._spec.query}) AS export_window_rows ORDER BY {time_column}"

    def _fields(self, columns: Sequence[str] | None) -> list[str]:
        wanted = set(CANONICAL_SCHEMA.names if columns is None else {"event_name", "event_time", *columns})
        return [name for name in CANONICAL_SCHEMA.names if name in wanted and name in self._mapped]

    # -- the source contract

    def schema(self, window: Window) -> pa.Schema:
        """The window's schema; the open groups' members are read from the data (one light query)."""
        if window not in self._schemas:
            fields = self._fields([name for name in OPEN_STRUCTS if name in self._mapped])
            schemas = [batch.schema for batch in self._batches(window, fields)]
            self._schemas = {window: window_schema(schemas)}
        return self._schemas[window]

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        schema = self.schema(window)
        fields = self._fields(columns)
        target = pa.schema([schema.field(name) for name in schema.names if name in fields or columns is None])
        self.stats = SourceStats()
        for batch in self._batches(window, fields):
            self.stats.rows_scanned += batch.num_rows
            self.stats.rows_in_window += batch.num_rows
            yield conform(batch, target)

    def _batches(self, window: Window, fields: list[str]) -> Iterator[pa.RecordBatch]:
        bounds = {"window_start": window.start, "window_end": window.end}
        connection = self._connect()
        statement = self.statement(fields, json_as_text=_is_postgres(connection))
        try:
            cursor = _streaming_cursor(connection, self._spec.batch_size)
            try:
                cursor.execute(statement, bounds)
            except Exception as error:
                raise SourceError(self._explain(error, statement)) from None
            while True:
                try:
                    rows = cursor.fetchmany(self._spec.batch_size)
                except Exception as error:
                    raise SourceError(
                        f"reading {self._spec.path} failed mid-window: {_first_line(error)}"
                    ) from None
                if not rows:
                    break
                yield _to_batch(rows, fields)
            cursor.close()
        finally:
            _close_quietly(connection)

    def _explain(self, error: Exception, statement: str) -> str:
        what = f"table {self._spec.table}" if self._spec.table else "query"
        return (
            f"the {what} on connection {self._spec.conn_id!r} cannot be read: {_first_line(error)}. "
            f"Check source.table/query and source.columns (the export ran: {statement})"
        )


def _connection_of(conn_id: str) -> Any:
    """A DB-API connection from the Airflow connection's own hook (postgres, mysql, ...)."""
    from airflow_export_provider.version_compat import BaseHook

    try:
        hook = BaseHook.get_connection(conn_id).get_hook()  # type: ignore[no-untyped-call]
    except Exception as error:
        raise SourceError(
            f"no usable Airflow connection {conn_id!r} for the SQL source: {_first_line(error)}"
        ) from None
    get_conn = getattr(hook, "get_conn", None)
    if get_conn is None:
        raise SourceError(
            f"connection {conn_id!r} ({type(hook).__name__}) is not a SQL (DbApiHook) connection"
        )
    try:
        return get_conn()
    except Exception as error:
        raise SourceError(f"cannot connect with {conn_id!r}: {_first_line(error)}") from None


def _is_postgres(connection: Any) -> bool:
    return type(connection).__module__.split(".")[0] in ("psycopg", "psycopg2")


def _streaming_cursor(connection: Any, batch_size: int) -> Any:
    """A server-side cursor where the driver has one (psycopg 3 and psycopg2), else a plain one."""
    if _is_postgres(connection):
        cursor = connection.cursor(name=f"airflow_export_{uuid.uuid4().hex[:12]}")
        cursor.itersize = batch_size
        return cursor
    return connection.cursor()


def _to_batch(rows: list[tuple[Any, ...]], fields: list[str]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    arrays = []
    for name, values in zip(fields, columns, strict=True):
        canonical = CANONICAL_SCHEMA.field(name).type
        if name in JSON_FIELDS:
            typed = None if name in OPEN_STRUCTS else canonical
            try:
                if all(value is None or isinstance(value, str) for value in values):
                    arrays.append(_parse_json_texts(values, typed))
                else:
                    arrays.append(pa.array([_json_object(value, name) for value in values], type=typed))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise EventSchemaError(
                    f"JSON column for {name!r} has values of mixed types: {error}"
                ) from None
        elif name == "event_time":
            arrays.append(pa.array([_as_utc(value) for value in values], type=canonical))
        else:
            try:  # text columns arrive as str: no per-value conversion
                arrays.append(pa.array(values, type=canonical))
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids stored as numbers become text
                arrays.append(pa.array([None if v is None else str(v) for v in values], type=canonical))
    return pa.RecordBatch.from_arrays(arrays, names=fields)


def _parse_json_texts(texts: Sequence[str | None], typed: pa.DataType | None) -> pa.Array:
    """JSON objects as text → one struct array, parsed in C++ by pyarrow in one block."""
    nulls = pa.array([text is None or text == "null" for text in texts], pa.bool_())
    lines = "\n".join("{}" if text is None or text == "null" else text for text in texts).encode()
    options = pajson.ParseOptions(
        explicit_schema=pa.schema(list(typed)) if typed is not None else None,
        unexpected_field_behavior="ignore" if typed is not None else "infer",
    )
    read = pajson.ReadOptions(block_size=len(lines) + 1)
    table = pajson.read_json(io.BytesIO(lines), read_options=read, parse_options=options).combine_chunks()
    if table.num_columns == 0:
        return (
            pa.StructArray.from_arrays([], fields=[], mask=nulls)
            if len(texts)
            else pa.array([], pa.struct([]))
        )
    columns = [column.chunk(0) for column in table.columns]
    return pa.StructArray.from_arrays(columns, fields=list(table.schema), mask=nulls)


def _json_object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes, bytearray)):
        loaded = json.loads(value)
        if loaded is None or isinstance(loaded, dict):
            return loaded
    raise EventSchemaError(f"column for {name!r} must hold JSON objects, found {type(value).__name__}")


def _as_utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise EventSchemaError(f"event_time must be a timestamp column, found {type(value).__name__}")
    # A column without a zone (timestamp without time zone) is taken as UTC, as the lake does.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _close_quietly(connection: Any) -> None:
    try:
        connection.rollback()  # read-only: end the transaction the named cursor lived in
        connection.close()
    except Exception:
        logger.debug("closing the source connection failed", exc_info=True)
