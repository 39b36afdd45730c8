"""Writes a window's records into files: a series of files per event name (or one for the
whole window, ``split: window``), rolled at limits.

Each open file is a chain ``encoder → gzip (optional, see ``compression``) → measuring
sink → upload``. The measuring sink counts and hashes exactly the bytes that reach the
destination, which are the sizes and checksums recorded in the manifest. Rows arrive
already routed to their event and prepared for the format (``routing``).

The writer only *finishes* uploads: every byte is sent, nothing is visible. Making the
window's files visible is the commit's job (``commit.py``), once all of them are ready.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa

from airflow_export_provider.engine.destinations.base import Destination, ObjectUpload, PendingUpload
from airflow_export_provider.engine.formats import RecordEncoder, format_of
from airflow_export_provider.engine.keys import ObjectLayout
from airflow_export_provider.engine.runtime.compression import GzipStream, gzip_stream
from airflow_export_provider.spec import FormatSpec

# Rows that encoders hold back in memory (Parquet row groups), summed over all open files;
# beyond it the largest holders park theirs on local disk, so a small budget costs only
# parking more often (docs/performance.md).
HELD_BYTES_BUDGET = 8 * 1024 * 1024
# Rows parked on local disk, summed over all open files; beyond it the files with the most
# parked rows write their row groups early. Without it, parked rows could grow to 8 MB
# (``parquet.ROW_GROUP_BYTES``) for every event name of the window.
PARKED_BYTES_BUDGET = 1024 * 1024 * 1024
# Uploads finished at once when a window ends; botocore's connection pool holds 10.
FINISH_THREADS = 8


@dataclass(frozen=True)
class ExportedFile:
    """A finished file. ``event_name`` names its series (None for a window's one series,
    ``split: window``); ``events`` are the event names its records have."""

    key: str
    event_name: str | None
    records: int
    bytes: int
    sha256: str
    events: tuple[str | None, ...] = ()


class MeasuringSink(io.RawIOBase):
    """Counts and hashes the bytes passed on to an upload."""

    def __init__(self, upload: ObjectUpload) -> None:
        self._upload = upload
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._digest.update(chunk)
        self.size += len(chunk)
        self._upload.write(chunk)
        return len(chunk)

    def close(self) -> None:
        """The upload is finished or aborted by its owner; closing the chain must not end it."""

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


class _OpenFile:
    def __init__(
        self,
        key: str,
        event_name: str | None,
        schema: pa.Schema,
        fmt: FormatSpec,
        destination: Destination,
        run_id: str,
    ) -> None:
        self.key = key
        self.event_name = event_name
        self.events: set[str | None] = set()
        self.records = 0
        file_format = format_of(fmt)
        content_type = file_format.object_content_type(fmt)
        self._upload: ObjectUpload = destination.start_upload(key, content_type, run_id)
        self._measured = MeasuringSink(self._upload)
        self._gzip: GzipStream | None = None
        stream: BinaryIO = self._measured  # type: ignore[assignment]
        if fmt.outer_compression == "gzip":
            self._gzip = gzip_stream(stream, fmt.compression_level)
            stream = self._gzip  # type: ignore[assignment]
        self._encoder: RecordEncoder = file_format.encoder(fmt)
        self._encoder.begin(stream, schema)

    @property
    def bytes_written(self) -> int:
        return self._measured.size

    def write(self, batch: pa.RecordBatch) -> None:
        self._encoder.write(batch)
        self.records += batch.num_rows

    @property
    def held_bytes(self) -> int:
        return self._encoder.held_bytes()

    @property
    def parked_bytes(self) -> int:
        return self._encoder.parked_bytes()

    def spill(self) -> None:
        self._encoder.spill()

    def flush(self) -> None:
        self._encoder.flush()

    def close(self) -> tuple[ExportedFile, PendingUpload]:
        self.finish_encoding()
        return self.finish_upload()

    def finish_encoding(self) -> None:
        """Write the trailer and the end of the gzip stream: every byte is with the upload."""
        self._encoder.finish()
        if self._gzip is not None:
            self._gzip.close()

    def finish_upload(self) -> tuple[ExportedFile, PendingUpload]:
        """Send the last bytes; the file stays invisible until the window commits."""
        pending = self._upload.finish()
        events = tuple(sorted(self.events, key=lambda name: (name is not None, name or "")))
        exported = ExportedFile(
            self.key, self.event_name, self.records, self._measured.size, self._measured.sha256, events
        )
        return exported, pending

    def abort(self) -> None:
        self._encoder.abandon()
        if self._gzip is not None:  # stop the compression thread before the upload goes away
            with contextlib.suppress(Exception):
                self._gzip.close()
        self._upload.abort()


class WindowWriter:
    """Receives a window's projected batches and produces its files."""

    def __init__(
        self, *, layout: ObjectLayout, fmt: FormatSpec, destination: Destination, run_id: str
    ) -> None:
        self._layout = layout
        self._format = fmt
        self._destination = destination
        self._run_id = run_id
        self._open: dict[str | None, _OpenFile] = {}
        self._next_index: dict[str | None, int] = {}
        self.files: list[ExportedFile] = []
        self._finished: list[PendingUpload] = []
        self.bytes_parked = 0  # Arrow bytes set aside on local disk, for the window's log

    @property
    def open_files(self) -> int:
        return len(self._open)

    @property
    def bytes_written(self) -> int:
        return sum(file.bytes for file in self.files) + sum(f.bytes_written for f in self._open.values())

    def write(self, event_name: str | None, rows: pa.RecordBatch) -> None:
        """Append one event's projected rows to its series: the event's own, or the window's one
        series with ``split: window``. Every batch of a series has the series' one schema."""
        series = event_name if self._layout.split == "event" else None
        self._write_series_rows(series, event_name, rows)

    def batch_done(self) -> None:
        """Called once per source batch: keeps rows held back by encoders within the budgets."""
        self._shed(lambda opened: opened.held_bytes, HELD_BYTES_BUDGET, self._park)
        self._shed(lambda opened: opened.parked_bytes, PARKED_BYTES_BUDGET, _OpenFile.flush)

    def _shed(
        self, measure: Callable[[_OpenFile], int], budget: int, shed: Callable[[_OpenFile], None]
    ) -> None:
        """Largest first: each call then sheds the most bytes, so rows are parked (memory
        budget) and row groups written early (disk budget) as rarely as they can be."""
        holders = sorted(self._open.values(), key=measure, reverse=True)
        total = sum(measure(opened) for opened in holders)
        for opened in holders:
            if total <= budget:
                break
            total -= measure(opened)
            shed(opened)

    def _park(self, opened: _OpenFile) -> None:
        self.bytes_parked += opened.held_bytes
        opened.spill()

    def _write_series_rows(self, series: str | None, event_name: str | None, rows: pa.RecordBatch) -> None:
        offset = 0
        while offset < rows.num_rows:
            current = self._open.get(series) or self._start_file(series, rows.schema)
            room = self._format.max_records_per_file - current.records
            piece = rows.slice(offset, room)
            current.write(piece)
            current.events.add(event_name)
            offset += piece.num_rows
            if current.records >= self._format.max_records_per_file or (
                current.bytes_written >= self._format.max_bytes_per_file
            ):
                self._add(*self._open.pop(series).close())

    def _start_file(self, event_name: str | None, schema: pa.Schema) -> _OpenFile:
        index = self._next_index.get(event_name, 0)
        self._next_index[event_name] = index + 1
        key = self._layout.object_key(event_name, index)
        opened = _OpenFile(key, event_name, schema, self._format, self._destination, self._run_id)
        self._open[event_name] = opened
        return opened

    def _add(self, exported: ExportedFile, pending: PendingUpload) -> None:
        self.files.append(exported)
        self._finished.append(pending)

    @property
    def uploads(self) -> list[PendingUpload]:
        """The window's finished uploads, in key order: what its commit completes."""
        return sorted(self._finished, key=lambda pending: pending.key)

    def close(self) -> list[ExportedFile]:
        """Finish every open file; returns all files of the window in key order.

        At the end of a window every event's file is still open, and most are below one
        part: their last parts are sent side by side rather than in turn. Encoding is
        finished first, on this thread, since the gzip streams belong to it.
        """
        for opened in self._open.values():
            opened.flush()  # Parquet: every file's last row groups are written side by side
        for opened in self._open.values():
            opened.finish_encoding()
        finished = threading.Lock()

        def finish(event_name: str | None) -> None:
            exported, pending = self._open[event_name].finish_upload()
            with finished:
                self._add(exported, pending)
                del self._open[event_name]

        with ThreadPoolExecutor(FINISH_THREADS, thread_name_prefix="export-finish") as pool:
            for done in [pool.submit(finish, event_name) for event_name in list(self._open)]:
                done.result()  # the first failure is raised once every upload has ended
        return sorted(self.files, key=lambda file: file.key)

    def abort(self) -> None:
        """Abort every upload of this run, open or finished: nothing of it ever becomes visible."""
        for opened in self._open.values():
            with contextlib.suppress(Exception):
                opened.abort()
        self._open.clear()
        for pending in self._finished:
            with contextlib.suppress(Exception):
                self._destination.abort_upload(pending)
        self._finished.clear()
