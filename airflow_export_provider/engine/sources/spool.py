"""A window's batches kept on local disk, so a database is read once per window, not twice.

The SQL source must know the window's schema (the JSON columns' members and types, which
properties each event carries) before the first row is written, and only the data says
what it is. Reading the database twice for that cost twice the query and twice the JSON
parsing, and needed a snapshot to keep both reads equal. Instead the one read writes each
parsed batch here and the export reads them back: Arrow IPC with zstd, 77 MB per million
sample events, written in 0.5 s and read in 0.2 s (LZ4 was larger and slower to write;
uncompressed, 589 MB and slower both ways).

Each batch keeps its own schema (the members of its own rows), so each is an IPC stream
of its own, one after the other in one file. The file is opened for writing and for
reading and then unlinked at once (as Parquet's parked rows are): it never shows in the
temp directory (``TMPDIR``), and the system frees it when the spool is discarded or the
process ends, even a killed one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from airflow_export_provider.exceptions import ExportError

_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


class SpoolError(ExportError):
    """The local spool cannot be written (usually: the temp directory is full)."""


class BatchSpool:
    """Record batches written once and read back, in order, as often as needed."""

    def __init__(self) -> None:
        self._folder = tempfile.gettempdir()
        try:
            descriptor, path = tempfile.mkstemp(prefix="airflow-export-window-", dir=self._folder)
            os.close(descriptor)
            try:
                self._sink = pa.OSFile(path, "wb")
                self._source = pa.OSFile(path, "rb")
            finally:
                Path(path).unlink()
        except OSError as error:
            raise self._failed(error) from error
        self._spans: list[tuple[int, int]] = []  # each batch's stream: offset, length
        self.rows = 0
        self.bytes = 0

    def add(self, batch: pa.RecordBatch) -> None:
        start = self.bytes
        try:
            with pa.ipc.new_stream(self._sink, batch.schema, options=_WRITE_OPTIONS) as out:
                out.write_batch(batch)
            self._sink.flush()
        except OSError as error:
            self.discard()
            raise self._failed(error) from error
        self.bytes = self._sink.tell()
        self._spans.append((start, self.bytes - start))
        self.rows += batch.num_rows

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The batches in the order they were added, each read into memory of its own.

        Not memory-mapped: a mapped file's pages count as the process's resident memory
        once touched; read into fresh buffers, a batch's memory goes when the batch does.
        """
        for offset, length in list(self._spans):
            yield from pa.ipc.open_stream(pa.BufferReader(self._source.read_at(length, offset)))

    def discard(self) -> None:
        for file in (self._sink, self._source):
            with contextlib.suppress(Exception):
                file.close()
        self._spans = []

    def _failed(self, error: OSError) -> SpoolError:
        return SpoolError(
            f"could not spool the window's rows in {self._folder} ({error}); give the worker's "
            "temp folder more room, or point TMPDIR at a folder that has it (about 80 MB per "
            "million events, docs/sql-sources.md)"
        )
