"""Parquet with types kept: timestamps, integers, doubles, booleans; groups as structs.

Files are per event name, so one source batch gives each file only a slice. Writing each
slice would make row groups of a few hundred rows, which downstream engines read slowly,
and pyarrow's writer keeps ~45 KB of metadata per row group (40 leaf columns) until the
file is closed. Slices are therefore collected into row groups of up to 128k rows or
8 MB of Arrow data.

Rows waiting for their row group cannot all stay in memory, and a memory budget that cut
row groups short would make many small ones, whose metadata then grows with the window.
When the budget shared by the files (``writer.HELD_BYTES_BUDGET``) is reached, the largest
holders *park* their rows on local disk (Arrow IPC, no encoding) and keep collecting;
the row group is written from the parked and the held rows once it is complete. Memory
then holds the budget plus the row groups being written, whatever the number of event
names or the window's size. pyarrow 26 does not expose Arrow's buffered row groups
(pages encoded as rows arrive), which would make parking unnecessary.

Encoding a row group (dictionary, pages, zstd) is the export's heaviest step for Parquet,
and pyarrow releases the GIL for it, so row groups are written on a small shared pool
instead of the thread that routes rows: one write at a time per file (its bytes go to
its upload in order), several files at once. An error in a write is raised by the
file's next flush.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_export_provider.engine.formats.protocol import Format, Preparation
from airflow_export_provider.exceptions import ExportError

ROW_GROUP_ROWS = 128 * 1024
# Arrow bytes of one row group, read back and encoded on the pool (two at a time); smaller
# groups peak lower at the same speed (docs/performance.md).
ROW_GROUP_BYTES = 8 * 1024 * 1024
ROW_GROUP_WRITERS = 2
# Arrow's IPC writer writes every buffer of a batch on its own (~100 per slice of an event);
# a buffer between it and the file makes parking several times faster (docs/performance.md).
PARKING_BUFFER = 64 * 1024
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _row_group_pool() -> ThreadPoolExecutor:
    """Created on first use and kept for the process: its threads idle between exports."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(ROW_GROUP_WRITERS, thread_name_prefix="export-parquet")
        return _pool


class _ParkedRows:
    """Rows of one file's next row group, set aside in a nameless local file (Arrow IPC).

    The file is opened for writing and for reading and then unlinked, so it never shows in
    the temp folder and the system frees it when the export ends, even a killed one.
    Arrow's own files keep the copies in Arrow's allocator and release the GIL.
    """

    def __init__(self, schema: pa.Schema) -> None:
        folder = tempfile.gettempdir()
        try:
            descriptor, path = tempfile.mkstemp(prefix="airflow-export-parked-", dir=folder)
            os.close(descriptor)
            try:
                self._sink = pa.BufferedOutputStream(pa.OSFile(path, "wb"), PARKING_BUFFER)
                self._source = pa.OSFile(path, "rb")
            finally:
                Path(path).unlink()
        except OSError as error:
            raise _parking_failed(folder, error) from error
        self._folder = folder
        self._stream = pa.ipc.new_stream(self._sink, schema)
        self.rows = self.bytes = 0

    def add(self, batches: list[pa.RecordBatch]) -> None:
        try:
            for batch in batches:
                self._stream.write_batch(batch)
                self.rows += batch.num_rows
                self.bytes += batch.nbytes
        except OSError as error:
            self.discard()
            raise _parking_failed(self._folder, error) from error

    def take(self) -> list[pa.RecordBatch]:
        """The parked rows, read back; the local file is gone afterwards."""
        self._stream.close()
        self._sink.close()
        with self._source, pa.BufferedInputStream(self._source, PARKING_BUFFER) as buffered:
            return list(pa.ipc.open_stream(buffered))

    def discard(self) -> None:
        for file in (self._sink, self._source):
            with contextlib.suppress(Exception):
                file.close()


def _parking_failed(folder: str, error: OSError) -> ExportError:
    return ExportError(
        f"could not park Parquet rows waiting for their row group in {folder} ({error}); "
        "give the worker's temp folder more room, or point TMPDIR at a folder that has it "
        "(at most 1 GiB per running export, see docs/troubleshooting.md)"
    )


class ParquetEncoder:
    def __init__(self, *, compression: str = "zstd") -> None:
        self._compression = compression
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._held: list[pa.RecordBatch] = []
        self._held_rows = self._held_bytes = 0
        self._parked: _ParkedRows | None = None
        self._writing: Future[None] | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._schema = schema
        self._writer = pq.ParquetWriter(sink, schema, compression=self._compression)

    def write(self, batch: pa.RecordBatch) -> None:
        self._held.append(batch)
        self._held_rows += batch.num_rows
        self._held_bytes += batch.nbytes
        parked = self._parked
        rows = self._held_rows + (parked.rows if parked is not None else 0)
        if rows >= ROW_GROUP_ROWS or self._held_bytes + self.parked_bytes() >= ROW_GROUP_BYTES:
            self.flush()

    def held_bytes(self) -> int:
        """Rows in memory, neither parked nor handed to the pool. Not the rows being written:
        the budget's choices must not depend on how fast the pool is, or row groups (and
        bytes) would differ between runs of the same window."""
        return self._held_bytes

    def parked_bytes(self) -> int:
        return self._parked.bytes if self._parked is not None else 0

    def spill(self) -> None:
        """Park the held rows until their row group is complete (instead of writing a small one)."""
        if not self._held:
            return
        assert self._schema is not None, "begin() first"
        if self._parked is None:
            self._parked = _ParkedRows(self._schema)
        self._parked.add(self._held)
        self._held, self._held_rows, self._held_bytes = [], 0, 0

    def flush(self) -> None:
        """Hand the row group (parked, then held rows) to the pool, after this file's previous write."""
        assert self._writer is not None, "begin() first"
        if not self._held and self._parked is None:
            return
        self._wait_for_write()
        parked, held = self._parked, self._held
        self._writing = _row_group_pool().submit(self._write_row_group, parked, held)
        self._parked, self._held, self._held_rows, self._held_bytes = None, [], 0, 0

    def _write_row_group(self, parked: _ParkedRows | None, held: list[pa.RecordBatch]) -> None:
        assert self._writer is not None
        batches = (parked.take() if parked is not None else []) + held
        self._writer.write_table(pa.Table.from_batches(batches), ROW_GROUP_ROWS)

    def finish(self) -> None:
        assert self._writer is not None, "begin() first"
        self.flush()
        self._wait_for_write()
        self._writer.close()

    def abandon(self) -> None:
        """A failed window: let a write in flight end before the upload under it is aborted."""
        with contextlib.suppress(Exception):
            self._wait_for_write()
        if self._parked is not None:
            self._parked.discard()
            self._parked = None

    def _wait_for_write(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()


def _as_is(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Parquet keeps the projected types: nothing to prepare."""
    return batch


FORMAT = Format(
    name="parquet",
    extension="parquet",
    content_type="application/vnd.apache.parquet",
    preparation=Preparation(_as_is, pieces_own_rows=True),
    encoder=lambda spec: ParquetEncoder(compression=spec.parquet_compression),
    one_schema_per_file=True,
)
