"""Rows a source holds but no window can export: counted by reason, and failing the window unless allowed.

Reasons (lake sources):

- ``null_event_time``: the row has no event time;
- ``unreadable_event_time``: its event time is text that is not a time;
- ``outside_partition``: it is filed under a ``date=`` folder that no window containing its
  time reads (say, a local date used as the UTC partition).

A folder's rows are judged once, by the window that contains the folder's UTC midnight,
so the counts of a day add up over its windows. The policy per reason comes from
``source.rejected_rows`` (``fail`` by default; ``count``; ``quarantine`` writes them to the
window's ``_rejected/`` file through a :class:`RejectedSink`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import pyarrow as pa

from airflow_export_provider.exceptions import ExportError

REASONS = {
    "null_event_time": "with no event time",
    "unreadable_event_time": "whose event time is not a time",
    "outside_partition": "filed under a date= folder that no window containing their time reads",
}
SAMPLES_PER_REASON = 3


class RejectedRows(ExportError):
    """Rows of the window's source could not be exported and the spec says to fail on them."""


class RejectedSink(Protocol):
    """Where quarantined rows go (``rejected_file.RejectedRowsFile``)."""

    def write(self, reason: str, source_file: str, rows: pa.RecordBatch, stored_times: pa.Array) -> None: ...


@runtime_checkable
class Quarantining(Protocol):
    """A source that can hand its rejected rows to a sink instead of only counting them."""

    def quarantine_into(self, sink: RejectedSink | None) -> None: ...


class Rejections:
    """Counts and a few examples of rejected rows, per reason, for one read of a window."""

    def __init__(self, policies: Mapping[str, str], sink: RejectedSink | None = None) -> None:
        self._policies = policies
        self._sink = sink
        self.counts: dict[str, int] = {}
        self.samples: dict[str, list[str]] = {}

    def quarantine(
        self, reason: str, source_file: str, batch: pa.RecordBatch, stored_times: pa.Array, mask: pa.Array
    ) -> None:
        """Hand the rows ``mask`` picks to the sink, if the policy for ``reason`` is ``quarantine``."""
        if self._sink is not None and self._policies.get(reason) == "quarantine":
            self._sink.write(reason, source_file, batch.filter(mask), stored_times.filter(mask))

    def add(self, reason: str, count: int, samples: list[str]) -> None:
        if not count:
            return
        self.counts[reason] = self.counts.get(reason, 0) + count
        kept = self.samples.setdefault(reason, [])
        kept.extend(samples[: SAMPLES_PER_REASON - len(kept)])

    def check(self, window_label: str, rows_scanned: int) -> None:
        """Raise :class:`RejectedRows` if any reason with rows is set to ``fail``."""
        failing = [reason for reason in self.counts if self._policies.get(reason, "fail") == "fail"]
        if not failing:
            return
        lines = [
            f"  - {self.counts[reason]:,} rows {REASONS[reason]}, e.g. {'; '.join(self.samples[reason])}"
            for reason in failing
        ]
        settings = ", ".join(f"{reason}: count" for reason in failing)
        raise RejectedRows(
            f"window {window_label}: {sum(self.counts[r] for r in failing):,} of {rows_scanned:,} rows "
            "scanned cannot be exported:\n" + "\n".join(lines) + "\nNothing was published. Fix the "
            f"source data, or export without these rows (counted in the manifest) with "
            f"source.rejected_rows: {{{settings}}} (or quarantine instead of count, to keep them in the "
            "window's _rejected/ file)"
        )
