"""Export one window: the single code path behind the operator, the CLI and the demo.

Order of operations, and why:

1. Read the window's previous manifest and pending marker. They name the objects a
   previous run wrote; whatever this run does not write again is stale.
2. Write the pending marker (remembering those keys), then delete the old manifest:
   from here on readers see the window as incomplete, which is the truth while its
   objects are being replaced. If a pending marker was already there, a previous run
   died half way: list its leftovers and abort its open multipart uploads.
3. Stream source batches → routing (projection, each event's rows, the format's spelling;
   ``routing``) → encoders → uploads, rolling files at the limits. The source is read on
   a thread of its own and routed on two more (``prefetch``), in order, so reading,
   routing and writing overlap on both cores.
4. Write the manifest (last), delete stale objects, delete the pending marker.

Any failure in 3 aborts the open uploads and deletes what this run committed, so a
failed run leaves no manifest, no open multipart upload and no partial files.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from airflow_export_provider.destinations.base import Destination
from airflow_export_provider.formats import preparation_for
from airflow_export_provider.layout import KeyValues, ObjectLayout
from airflow_export_provider.manifest import ManifestFacts, build_manifest, manifest_bytes
from airflow_export_provider.memory import use_returning_memory_pool
from airflow_export_provider.prefetch import Prefetched
from airflow_export_provider.projection import Projector, batch_presence, merge_presence, propose
from airflow_export_provider.routing import event_rows
from airflow_export_provider.schema_store import DecidedSchema, SchemaStore
from airflow_export_provider.sources.base import EventSource
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.windows import Window
from airflow_export_provider.writer import ExportedFile, WindowWriter

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 15.0
# Routing runs on two threads beside the reading one: with the encoders, compression and
# uploads on theirs, that keeps two cores busy (docs/performance.md).
ROUTING_WORKERS = 2
SCAN_COLUMNS = ("event_name", "properties")


@dataclass
class WindowResult:
    window: Window
    files: list[ExportedFile]
    manifest_url: str
    rows_read: int
    seconds: float
    stale_deleted: list[str] = field(default_factory=list)
    aborted_uploads: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def summary(self) -> dict[str, Any]:
        """Small and JSON-friendly: what the operator returns as its XCom."""
        return {
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "files": len(self.files),
            "records": self.records,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "manifest": self.manifest_url,
            "stale_deleted": len(self.stale_deleted),
        }


def layout_for(spec: ExportSpec, window: Window, instance_id: int = 0) -> ObjectLayout:
    local_start = window.start.in_timezone(spec.schedule.timezone)
    values = KeyValues(
        account_id=spec.account_id,
        export_id=spec.export_id,
        date=local_start.format("YYYY-MM-DD"),
        timestamp=int(window.start.timestamp()),
        instance_id=instance_id,
    )
    return ObjectLayout(
        prefix=spec.destination.prefix,
        folder_template=spec.layout.resolved_folder_template,
        file_template=spec.layout.file_template,
        extension=spec.format.extension,
        values=values,
    )


def export_window(
    spec: ExportSpec,
    window: Window,
    *,
    source: EventSource,
    destination: Destination,
    instance_id: int = 0,
    log: logging.Logger | Any = logger,
) -> WindowResult:
    started = time.monotonic()
    use_returning_memory_pool()  # before the first read: the scan's buffers too go back to the system
    layout = layout_for(spec, window, instance_id)
    manifest_key, pending_key = layout.manifest_key(), layout.pending_key()

    previous = _read_json(destination, manifest_key)
    pending = _read_json(destination, pending_key)
    earlier_keys = {entry["key"] for entry in (previous or {}).get("files", [])}
    earlier_keys |= set((pending or {}).get("earlier_keys", []))
    aborted: list[str] = []
    if pending is not None:
        prefix, pattern = layout.key_pattern()
        log.info("window %s: a previous run did not finish; cleaning up after it", window.label)
        earlier_keys |= {key for key in destination.list_keys(prefix) if pattern.fullmatch(key)}
        aborted = destination.abort_unfinished_uploads(prefix, pattern)
    marker = {
        "window": [window.start.isoformat(), window.end.isoformat()],
        "earlier_keys": sorted(earlier_keys),
    }
    destination.put_bytes(pending_key, json.dumps(marker).encode(), "application/json")
    if previous is not None:
        destination.delete([manifest_key])

    log.info(
        "window %s: exporting %s to %s",
        window.label,
        spec.export_id,
        destination.url(layout.key_pattern()[0]),
    )
    decided = decide_columns(spec, window, source, destination, layout, log)
    projector = Projector(spec.fields, decided)
    writer = WindowWriter(layout=layout, fmt=spec.format, destination=destination)
    progress = _Progress(window, log)
    without_event_name = 0
    preparation = preparation_for(spec.format)
    batches = Prefetched(
        _in_units(source.read(window), preparation.rows_at_once),
        depth=1,
        transform=lambda batch: (
            batch.column(0).null_count,
            event_rows(batch, spec.fields, projector, preparation),
        ),
        workers=ROUTING_WORKERS,
    )
    try:
        for nameless, pieces in batches:
            without_event_name += nameless
            for event_name, rows in pieces:
                writer.write(event_name, rows)
            writer.batch_done()
            progress.batch_done(source.stats.rows_in_window, writer)
        files = writer.close()
    except BaseException:
        batches.close()  # the source stops reading before its partial objects are removed
        committed = writer.abort()
        _delete_quietly(destination, committed, log)
        log.error(
            "window %s: export failed; no manifest written, %d partial objects removed",
            window.label,
            len(committed),
        )
        raise

    columns = decided.only_events({f.event_name for f in files})
    facts = ManifestFacts(spec, window, instance_id, files, source.stats, without_event_name, columns)
    destination.put_bytes(manifest_key, manifest_bytes(build_manifest(facts)), "application/json")
    stale = sorted(earlier_keys - {f.key for f in files})
    destination.delete(stale)
    destination.delete([pending_key])

    result = WindowResult(window, files, destination.url(manifest_key), source.stats.rows_in_window,
                          time.monotonic() - started, stale, aborted)  # fmt: skip
    log.info(
        "window %s: read %s rows in the window (%s scanned in %d source files), "
        "wrote %s records into %d files, %s, in %.1f s (%s rows/s); manifest %s%s",
        window.label, f"{source.stats.rows_in_window:,}", f"{source.stats.rows_scanned:,}",
        source.stats.files,
        f"{result.records:,}", len(files), _megabytes(result.bytes),
        result.seconds, f"{result.records / max(result.seconds, 1e-9):,.0f}", result.manifest_url,
        f"; removed {len(stale)} stale objects" if stale else "",
    )  # fmt: skip
    if writer.bytes_parked:
        log.info(
            "window %s: %s of rows waited for their Parquet row groups on local disk (%s)",
            window.label, _megabytes(writer.bytes_parked), tempfile.gettempdir(),
        )  # fmt: skip
    if without_event_name:
        log.warning(
            "window %s: %d events had no event name; written under '%%null'", window.label, without_event_name
        )
    return result


def _in_units(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Source batches cut to at most ``rows`` rows: what is routed at once (see ``Preparation``)."""
    try:
        for batch in batches:
            for offset in range(0, batch.num_rows, rows):
                yield batch.slice(offset, rows)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # on the reading thread, where the source was read


def decide_columns(
    spec: ExportSpec,
    window: Window,
    source: EventSource,
    destination: Destination,
    layout: ObjectLayout,
    log: logging.Logger | Any = logger,
) -> DecidedSchema:
    """The columns this window's files get: the window's candidates merged into the persisted schema.

    When the spec exports ``all`` properties of some event, which properties each event
    carries is data: a first pass reads only event names and properties to find out.
    """
    fields = spec.fields
    presence = None
    if fields.properties.needs_discovery(fields.events):
        started = time.monotonic()
        scanned = Prefetched(
            source.read(window, columns=SCAN_COLUMNS),
            depth=1,
            transform=lambda batch: batch_presence(batch, fields),
            workers=ROUTING_WORKERS,
        )
        presence = merge_presence(scanned)
        log.info(
            "window %s: %d events carry %d distinct properties (scanned in %.1f s)",
            window.label, len(presence), len({p for names in presence.values() for p in names}),
            time.monotonic() - started,
        )  # fmt: skip
    proposal = propose(fields, source.schema(window), presence)
    store = SchemaStore(destination, layout.schema_key(), spec.export_id, fields.schema_evolution)
    return store.decide(proposal)


class _Progress:
    """Logs a line every few seconds on long windows so the task log shows it is alive."""

    def __init__(self, window: Window, log: logging.Logger | Any) -> None:
        self._window = window
        self._log = log
        self._started = time.monotonic()
        self._last = self._started

    def batch_done(self, rows: int, writer: WindowWriter) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        self._log.info(
            "window %s: %s rows so far, %d files done, %d open, %s written, %s rows/s",
            self._window.label, f"{rows:,}", len(writer.files), writer.open_files,
            _megabytes(writer.bytes_written), f"{rows / (now - self._started):,.0f}",
        )  # fmt: skip


def _read_json(destination: Destination, key: str) -> dict[str, Any] | None:
    data = destination.get_bytes(key)
    if data is None:
        return None
    loaded: dict[str, Any] = json.loads(data)
    return loaded


def _delete_quietly(destination: Destination, keys: list[str], log: logging.Logger | Any) -> None:
    try:
        destination.delete(keys)
    except Exception as error:
        log.warning(
            "could not remove %d partial objects (%s); the next run of this window will", len(keys), error
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
