"""PostgreSQL's bulk path: ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` into pyarrow's CSV reader.

Why not the server-side cursor the other databases use: psycopg turns every row into a
tuple of Python objects, and that was three quarters of the SQL source's time
(docs/performance.md). With ``COPY`` the server writes CSV, psycopg hands over the bytes
unparsed, and pyarrow parses them in C++ into Arrow batches — one block of text at a
time, so memory stays bounded by the block whatever the window size.

The query is the same ``SELECT`` the cursor path runs, with two changes the CSV needs:
the event time travels as integer microseconds since the epoch (no text-to-time parsing,
no time-zone spelling to agree on), and the window bounds are bound on the client,
because ``COPY`` takes no parameters; psycopg's own ``ClientCursor.mogrify`` quotes
them.

In PostgreSQL's CSV a NULL is an unquoted empty field and an empty text is ``""``; the
reader is told exactly that, and nothing else (``NULL`` or ``N/A`` stay text).
"""

from __future__ import annotations

import io
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

# CSV text parsed at once; resident memory follows it closely (the parsed block, its JSON
# columns parsed again, the reader's read-ahead), so the block is small (docs/performance.md).
BLOCK_BYTES = 2 << 20
EPOCH_MICROSECONDS = "(extract(epoch from {column}) * 1000000)::int8"


def uses_copy(connection: Any) -> bool:
    """psycopg 3 connections (the postgres provider's default driver) have ``cursor().copy``."""
    return type(connection).__module__.split(".")[0] == "psycopg"


def copy_statement(connection: Any, select: str, bounds: Mapping[str, Any]) -> str:
    """``COPY (select) TO STDOUT (FORMAT csv)`` with the window bounds inlined by psycopg."""
    import psycopg

    bound = psycopg.ClientCursor(connection).mogrify(select, bounds)
    return f"COPY ({bound}) TO STDOUT (FORMAT csv)"


def copy_batches(
    connection: Any, statement: str, column_types: Sequence[tuple[str, pa.DataType]], max_rows: int
) -> Generator[pa.RecordBatch, None, None]:
    """Arrow batches of at most ``max_rows`` rows (and about ``BLOCK_BYTES`` of CSV) from ``COPY``."""
    names = [name for name, _ in column_types]
    options = {
        "read_options": pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES, use_threads=True),
        "parse_options": pacsv.ParseOptions(newlines_in_values=True),
        "convert_options": pacsv.ConvertOptions(
            column_types=dict(column_types),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    }
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        stream = _CopyStream(copy)
        if stream.empty():  # an empty window: pyarrow refuses a CSV without a first row
            return
        reader = pacsv.open_csv(stream, **options)
        for batch in reader:
            for offset in range(0, batch.num_rows, max_rows):
                yield batch.slice(offset, max_rows)


class _CopyStream(io.RawIOBase):
    """The ``COPY`` output as a readable file for pyarrow, which asks for whole blocks.

    PostgreSQL sends one message per row; they are joined here into the sizes pyarrow asks
    for, so Arrow sees large reads and Python touches each row only once, as bytes.
    """

    def __init__(self, copy: Any) -> None:
        super().__init__()
        self._rows = iter(copy)
        self._rest = b""

    def empty(self) -> bool:
        """Whether ``COPY`` sent no row at all (reads the first row ahead)."""
        if not self._rest:
            self._rest = next(self._rows, b"")
        return not self._rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts, have = [self._rest], len(self._rest)
        for row in self._rows:
            parts.append(row)
            have += len(row)
            if 0 <= size <= have:
                break
        data = b"".join(parts)
        if size < 0:
            self._rest = b""
            return data
        self._rest = data[size:]
        return data[:size]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
