"""The contract every event source fulfils."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pyarrow as pa

from airflow_export_provider.engine.windows import Window


@dataclass
class SourceStats:
    """What a read saw, for logs and the manifest.

    Every row scanned is in the window, outside it (another window's), or rejected
    (``rejected``: counts by reason, see ``sources/rejections.py``).
    """

    files: int = 0
    rows_scanned: int = 0
    rows_in_window: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rows_outside_window(self) -> int:
        return self.rows_scanned - self.rows_in_window - sum(self.rejected.values())


class EventSource(Protocol):
    """Reads the events of a window as canonical Arrow record batches.

    ``schema(window)`` is the schema every batch of ``read(window)`` has (see
    :func:`airflow_export_provider.engine.events.window_schema`); batches are bounded in size and
    come in a deterministic order, so the same data always produces the same files.
    """

    stats: SourceStats

    def schema(self, window: Window) -> pa.Schema: ...

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The window's events; with ``columns``, only those (and ``event_time``), for cheap scans."""
        ...


@runtime_checkable
class CountsRows(Protocol):
    """A source that knows, before reading, how many rows a read of a window will scan."""

    def rows_to_scan(self, window: Window) -> int | None:
        """Rows the read will see (``stats.rows_scanned`` at its end), or ``None`` if unknown."""
        ...
