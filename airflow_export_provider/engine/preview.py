"""``airflow-export preview``: what a spec would write, before it is deployed.

The preview runs the real export path (source, field selection, encoders, layout) for
one window into memory: nothing is written to the destination. It reads the export's
persisted column decisions when the destination is reachable, so a preview of a running
export shows the columns its next window will have.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq

from airflow_export_provider.engine.destinations.memory import MemoryDestination
from airflow_export_provider.engine.run import export_window, layout_for
from airflow_export_provider.engine.sources.base import EventSource, SourceStats
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.engine.writer import ExportedFile
from airflow_export_provider.spec import ExportSpec

DEFAULT_MAX_ROWS = 100_000


@dataclass(frozen=True)
class Preview:
    window: Window
    files: list[ExportedFile]
    urls: dict[str, str]
    sample_event: str | None
    sample: str
    rows_read: int
    capped: bool
    schema_note: str


class _FirstRows:
    """A source cut after ``max_rows`` rows of the window, so previews of big windows stay quick."""

    def __init__(self, inner: EventSource, max_rows: int) -> None:
        self._inner = inner
        self._max_rows = max_rows
        self.capped = False

    @property
    def stats(self) -> SourceStats:
        return self._inner.stats

    def schema(self, window: Window) -> pa.Schema:
        return self._inner.schema(window)

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        remaining = self._max_rows
        for batch in self._inner.read(window, columns):
            if batch.num_rows >= remaining:
                self.capped = self.capped or batch.num_rows > remaining
                yield batch.slice(0, remaining)
                return
            remaining -= batch.num_rows
            yield batch


def sample_window(spec: ExportSpec, now: pendulum.DateTime | None = None) -> Window:
    """The first window of ``start_date``, or else the latest window that has closed."""
    grid = spec.schedule.grid
    if spec.schedule.start_date is not None:
        start = pendulum.datetime(
            spec.schedule.start_date.year,
            spec.schedule.start_date.month,
            spec.schedule.start_date.day,
            tz=spec.schedule.timezone,
        )
        return grid.window_containing(start)
    now = now or pendulum.now("UTC")
    return grid.window_containing(grid.floor(now).subtract(microseconds=1))


def preview(
    spec: ExportSpec,
    window: Window,
    *,
    source: EventSource,
    real_destination: object | None,
    records: int = 5,
    event: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Preview:
    url = getattr(real_destination, "url", lambda key: key)
    memory = MemoryDestination(url)
    schema_key = layout_for(spec, window).schema_key()
    schema_note = "columns decided as the export's first window would decide them"
    if real_destination is not None:
        try:
            persisted = real_destination.get_bytes(schema_key)  # type: ignore[attr-defined]
        except Exception as error:
            schema_note = f"could not read the persisted columns ({type(error).__name__}); " + schema_note
        else:
            if persisted is not None:
                memory.objects[schema_key] = persisted
                schema_note = f"columns follow the export's persisted decisions in {url(schema_key)}"
    limited = _FirstRows(source, max_rows)
    quiet = logging.getLogger("airflow_export_provider.engine.preview")
    quiet.setLevel(logging.WARNING)  # the preview prints its own summary
    result = export_window(spec, window, source=limited, destination=memory, log=quiet)  # type: ignore[arg-type]
    chosen = _choose_file(result.files, event)
    sample = "" if chosen is None else _first_records(spec.format.type, memory.objects[chosen.key], records)
    return Preview(
        window=window,
        files=result.files,
        urls={f.key: url(f.key) for f in result.files},
        sample_event=None if chosen is None else chosen.event_name,
        sample=sample,
        rows_read=result.rows_read,
        capped=limited.capped,
        schema_note=schema_note,
    )


def _choose_file(files: list[ExportedFile], event: str | None) -> ExportedFile | None:
    if event is not None:
        matching = [f for f in files if event in f.events]  # a window's one series holds every event
        if not matching:
            names = ", ".join(sorted({repr(name) for f in files for name in f.events})[:20])
            raise ValueError(f"event {event!r} has no records in this window; events with records: {names}")
        return matching[0]
    return max(files, key=lambda f: f.records, default=None)


def _first_records(fmt: str, data: bytes, count: int) -> str:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(data)).slice(0, count)
        return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in table.to_pylist())
    text = data.decode("utf-8")
    if fmt == "csv":
        # The file's own bytes, cut after the header and ``count`` records; a quoted value
        # may span lines, so the reader tells how many physical lines they took.
        reader = csv.reader(io.StringIO(text, newline=""))
        for _ in zip(range(count + 1), reader, strict=False):
            pass
        return "".join(io.StringIO(text, newline="").readlines()[: reader.line_num])
    if fmt == "xml":
        head, _, body = text.partition("<Events>\n")
        events = body.split("</Event>\n")[:count]
        return head + "<Events>\n" + "".join(e + "</Event>\n" for e in events) + "</Events>\n"
    return "".join(line + "\n" for line in text.split("\n", count)[:count] if line)


def render(spec: ExportSpec, result: Preview) -> str:
    lines = [
        f"preview of export {spec.export_id!r}, window {result.window.label} "
        f"({result.window.start.in_timezone(spec.schedule.timezone).format('YYYY-MM-DD HH:mm')} "
        f"{spec.schedule.timezone})",
        f"read {result.rows_read:,} rows"
        + (" (stopped at --max-rows; the window has more)" if result.capped else ""),
        result.schema_note,
        "",
        f"{len(result.files)} objects would be written:",
        f"  {'records':>8}  {'bytes':>10}  key",
    ]
    lines += [f"  {f.records:>8,}  {f.bytes:>10,}  {result.urls[f.key]}" for f in result.files]
    if result.files:
        window_series = spec.layout.resolved(spec.schedule.every).split == "window"
        which = "the window's file" if window_series else f"event {result.sample_event!r}"
        lines += ["", f"first records of {which} ({spec.format.type}):", result.sample.rstrip("\n")]
    else:
        lines += ["", "the window has no events the spec selects"]
    return "\n".join(lines) + "\n"
