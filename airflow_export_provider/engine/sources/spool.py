"""A window's batches kept on local disk, so a database is read once per window, not twice.

The SQL source must know the window's schema (the JSON columns' members and types, which
properties each event carries) before the first row is written, and only the data says
what it is. Reading the database twice for that cost twice the query and twice the JSON
parsing, and needed a snapshot to keep both reads equal. Instead the one read writes each
parsed batch here and the export reads them back: Arrow IPC with zstd, 77 MB per million
sample events, written in 0.5 s and read in 0.2 s (LZ4 was larger and slower to write;
uncompressed, 589 MB and slower both ways).

Each batch keeps its own schema (the members of its own rows), so each is a file of its
own. The files live in a fresh directory under the temp directory (``TMPDIR``), removed
by ``discard()`` or, at the latest, when the spool is garbage-collected or the process
exits.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


class BatchSpool:
    """Record batches written once and read back, in order, as often as needed."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="airflow-export-window-"))
        self._files: list[Path] = []
        self.rows = 0
        self.bytes = 0
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._directory, ignore_errors=True)

    def add(self, batch: pa.RecordBatch) -> None:
        path = self._directory / f"{len(self._files):06d}.arrow"
        with (
            pa.OSFile(str(path), "wb") as sink,
            pa.ipc.new_stream(sink, batch.schema, options=_WRITE_OPTIONS) as out,
        ):
            out.write_batch(batch)
        self._files.append(path)
        self.rows += batch.num_rows
        self.bytes += path.stat().st_size

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The batches in the order they were added (read with plain reads, not mapped: see below)."""
        # A memory-mapped file's pages count as the process's resident memory once touched;
        # read into fresh buffers, a batch's memory goes when the batch does.
        for path in list(self._files):
            with pa.OSFile(str(path), "rb") as source:
                yield from pa.ipc.open_stream(source)

    def discard(self) -> None:
        self._cleanup()
        self._files = []
