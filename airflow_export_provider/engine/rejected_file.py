"""The window's quarantined rows: one JSON Lines file (gzip), published with the window or not at all.

With ``source.rejected_rows: quarantine`` (for a reason), rows no window can export are
written here instead of failing the window, one JSON object a line:
``{"reason": …, "source_file": …, "event_time_as_stored": …, "event": {canonical fields}}``.
The file is an upload like the window's data files, completed by the same commit and
listed in the manifest (``rejected_file``), so it appears and disappears with its window's
version. Rejected rows are rare and small, so rows are spelled with ``json.dumps``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pyarrow as pa

from airflow_export_provider.engine.destinations.base import Destination, ObjectUpload, PendingUpload
from airflow_export_provider.engine.writer import MeasuringSink


class RejectedRowsFile:
    """Receives rejected rows from a source's read; finished and committed with the window."""

    def __init__(self, destination: Destination, key: str, run_id: str) -> None:
        self._destination = destination
        self.key = key
        self._run_id = run_id
        self._upload: ObjectUpload | None = None
        self._measured: MeasuringSink | None = None
        self._gzip: gzip.GzipFile | None = None
        self._pending: PendingUpload | None = None
        self.records = 0
        self.by_reason: dict[str, int] = {}

    def write(self, reason: str, source_file: str, rows: pa.RecordBatch, stored_times: pa.Array) -> None:
        """Append ``rows`` (canonical) rejected for ``reason``; ``stored_times`` as the source had them."""
        if not rows.num_rows:
            return
        if self._gzip is None:
            self._upload = self._destination.start_upload(self.key, "application/gzip", self._run_id)
            self._measured = MeasuringSink(self._upload)
            self._gzip = gzip.GzipFile(fileobj=self._measured, mode="wb", mtime=0)
        lines = [
            json.dumps(
                {
                    "reason": reason,
                    "source_file": source_file,
                    "event_time_as_stored": _plain(stored),
                    "event": row,
                },
                default=_plain,
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for row, stored in zip(rows.to_pylist(), stored_times.to_pylist(), strict=True)
        ]
        self._gzip.write(("\n".join(lines) + "\n").encode("utf-8"))
        self.records += rows.num_rows
        self.by_reason[reason] = self.by_reason.get(reason, 0) + rows.num_rows

    def finish(self) -> tuple[dict[str, Any], PendingUpload] | None:
        """The manifest's entry and the upload to complete, or None when nothing was rejected."""
        if self._gzip is None or self._upload is None or self._measured is None:
            return None
        self._gzip.close()
        pending = self._pending = self._upload.finish()
        entry = {
            "key": self.key,
            "records": self.records,
            "bytes": self._measured.size,
            "sha256": self._measured.sha256,
            "by_reason": dict(sorted(self.by_reason.items())),
        }
        return entry, pending

    def abort(self) -> None:
        """Drop the file: nothing of it ever becomes visible."""
        if self._pending is not None:
            self._destination.abort_upload(self._pending)
        elif self._upload is not None:
            self._upload.abort()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if value is None or isinstance(value, str | int | float | bool | list | dict) else str(value)
