"""Export one window: the single code path behind the operator, the CLI and the demo.

A window goes one way through the stages, each a module of its own (the publish protocol
itself is ``commit.py``):

1. ``begin`` (``commit``, ``lease``): take the window's lease, so this run is its only
   writer; finish or roll back whatever a killed run left; read the published manifest.
   Readers still see the previous version, untouched, for the whole run.
2. Decide the columns (:func:`decide_columns`: ``records.discover`` proposes,
   ``columns`` merges) without persisting them: a run that fails decides nothing for
   later windows.
3. Read (``sources``) → project and route (``records.project``, ``records.route``: each
   event's rows, prepared by the format) → encode and write (``formats``, ``writer``,
   ``destinations``), rolling files at the limits. The source is read on a thread of its
   own and routed on two more (``runtime.read_ahead``), in order, so reading, routing and
   writing overlap on both cores. Uploads are sent but not completed.
4. ``commit``: refuse to shrink the window silently, journal, persist the columns,
   complete the uploads, switch the manifest (``manifest``), delete stale keys.

Any failure before the commit's journal aborts every upload of the run: the published
window is exactly as it was, and no multipart upload is left open.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from airflow_export_provider.engine.columns import (
    ColumnsChanged,
    DecidedSchema,
    SchemaDecision,
    SchemaStore,
    with_shared_properties,
)
from airflow_export_provider.engine.commit import PublishedWindow, WindowCommit
from airflow_export_provider.engine.destinations.base import Destination, PendingUpload
from airflow_export_provider.engine.events import EventSchemaError
from airflow_export_provider.engine.formats import format_of
from airflow_export_provider.engine.keys import KeyValues, ObjectLayout
from airflow_export_provider.engine.lease import LEASE_SECONDS, WAIT_SECONDS, LeaseHolder
from airflow_export_provider.engine.logs import human_duration, megabytes, per_second
from airflow_export_provider.engine.manifest import ManifestFacts, build_manifest, manifest_bytes
from airflow_export_provider.engine.records.discover import (
    BatchPresence,
    EventPresence,
    batch_presence,
    merge_presence,
    propose,
)
from airflow_export_provider.engine.records.project import Projector
from airflow_export_provider.engine.records.route import EventRows, event_rows
from airflow_export_provider.engine.records.shard_filter import Shard
from airflow_export_provider.engine.rejected_file import RejectedRowsFile
from airflow_export_provider.engine.runtime.memory_pool import use_returning_memory_pool
from airflow_export_provider.engine.runtime.read_ahead import Prefetched
from airflow_export_provider.engine.sources.base import CountsRows, EventSource, SourceStats
from airflow_export_provider.engine.sources.rejections import Quarantining
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.engine.writer import ExportedFile, WindowWriter
from airflow_export_provider.spec import ExportSpec

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 15.0
# Routing runs on two threads beside the reading one: with the encoders, compression and
# uploads on theirs, that keeps two cores busy (docs/performance.md).
ROUTING_WORKERS = 2
SCAN_COLUMNS = ("event_name", "properties")
# A window exported again because a parallel window decided its columns first; more
# attempts than windows that can be first at once is never needed.
COLUMN_ATTEMPTS = 3


@dataclass
class WindowResult:
    window: Window
    files: list[ExportedFile]
    manifest_url: str
    rows_read: int
    seconds: float
    stale_deleted: list[str] = field(default_factory=list)
    aborted_uploads: list[str] = field(default_factory=list)
    finished_commit_of: str | None = None
    manifest_key: str | None = None

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
            "manifest_key": self.manifest_key,
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
        hour=local_start.hour,
    )
    resolved = spec.layout.resolved(spec.schedule.every)
    return ObjectLayout(
        prefix=spec.destination.prefix,
        folder_template=resolved.folder_template,
        file_template=resolved.file_template,
        extension=format_of(spec.format).file_extension(spec.format, resolved.extension),
        values=values,
        split=resolved.split,
        every_hours=spec.schedule.every,
        file_index=resolved.file_index,
        event_names=resolved.event_names,
        shards=spec.shards,
    )


def schema_store_for(spec: ExportSpec, destination: Destination, layout: ObjectLayout) -> SchemaStore:
    return SchemaStore(destination, layout.schema_key(), spec.export_id, spec.fields.schema_evolution)


def export_window(
    spec: ExportSpec,
    window: Window,
    *,
    source: EventSource,
    destination: Destination,
    instance_id: int = 0,
    log: logging.Logger | Any = logger,
    allow_fewer_records: bool = False,
    run_label: str = "an export run",
    lease_seconds: float = LEASE_SECONDS,
    lease_wait_seconds: float = WAIT_SECONDS,
) -> WindowResult:
    """Export and publish one window; the published window is never damaged (``commit.py``).

    :param allow_fewer_records: publish even if the window then holds fewer records than
        its published version (a re-export after events were deleted at the source).
    :param run_label: who is exporting, in words, for the log of a run that has to wait.
    :param lease_seconds: how long the window's lease lasts without renewal (a killed run's
        lease blocks the window this long, unless it ran on this machine).
    :param lease_wait_seconds: how long to wait for another run of the window to finish.
    """
    started = time.monotonic()
    use_returning_memory_pool()  # before the first read: the scan's buffers too go back to the system
    layout = layout_for(spec, window, instance_id)
    store = schema_store_for(spec, destination, layout)
    committer = WindowCommit(
        destination, layout, window.label, store, LeaseHolder.here(run_label),
        lease_seconds=lease_seconds, wait_seconds=lease_wait_seconds, log=log,
    )  # fmt: skip
    published = committer.begin()
    try:
        log.info(
            "window %s: exporting %s to %s",
            window.label,
            spec.export_id,
            destination.url(layout.key_pattern()[0]),
        )
        for attempt in range(1, COLUMN_ATTEMPTS + 1):
            # The first attempt trusts the columns decided before and checks them on the rows.
            trusted = (
                write_with_known_columns(
                    spec, window, source, destination, layout, store, committer.run_id, log
                )
                if attempt == 1
                else None
            )
            if trusted is not None:
                written = trusted
            else:
                decision = decide_columns(spec, window, source, store, log)
                written = write_window(
                    spec, window, source, destination, layout, decision, committer.run_id, log
                )
            try:
                stale = _commit(spec, window, instance_id, source, written, committer, published,
                                allow_fewer_records)  # fmt: skip
                break
            except ColumnsChanged as error:
                if attempt == COLUMN_ATTEMPTS:
                    raise
                log.info("window %s: %s; exporting it again with the export's columns", window.label, error)
    finally:
        committer.end()

    result = committed_result(
        window, written.files, destination, layout, source.stats, started, stale, committer
    )
    log_committed(log, result, source.stats, committer)
    if written.writer.bytes_parked:
        log.info(
            "window %s: %s of rows waited for their Parquet row groups on local disk (%s)",
            window.label, megabytes(written.writer.bytes_parked), tempfile.gettempdir(),
        )  # fmt: skip
    if written.without_event_name:
        log.warning(
            "window %s: %d events had no event name; written under '%%null'",
            window.label, written.without_event_name,
        )  # fmt: skip
    return result


def committed_result(
    window: Window,
    files: list[ExportedFile],
    destination: Destination,
    layout: ObjectLayout,
    stats: SourceStats,
    started: float,
    stale: list[str],
    committer: WindowCommit,
) -> WindowResult:
    recovery = committer.recovery
    return WindowResult(window, files, destination.url(layout.manifest_key()), stats.rows_in_window,
                        time.monotonic() - started, stale, recovery.aborted_uploads,
                        recovery.finished_commit_of, layout.manifest_key())  # fmt: skip


def log_committed(
    log: logging.Logger | Any, result: WindowResult, stats: SourceStats, committer: WindowCommit
) -> None:
    """The lines a person reads after a window: rows, files, bytes, rate, manifest, anything odd."""
    label = result.window.label
    log.info("window %s: exported in %s", label, human_duration(result.seconds))
    log.info(
        "  read %s rows in the window (%s scanned in %d source files)",
        f"{stats.rows_in_window:,}", f"{stats.rows_scanned:,}", stats.files,
    )  # fmt: skip
    rate = per_second(result.records, result.seconds, "records")
    log.info(
        "  wrote %s records into %d files, %s, %s",
        f"{result.records:,}", len(result.files), megabytes(result.bytes), rate,
    )  # fmt: skip
    log.info("  manifest %s", result.manifest_url)
    if result.stale_deleted:
        log.info("  removed %d stale objects", len(result.stale_deleted))
    if stats.rejected:
        log.warning(
            "window %s: %s rows of the source could not be exported and are counted in the manifest (%s)",
            label, f"{sum(stats.rejected.values()):,}",
            ", ".join(f"{reason}: {count:,}" for reason, count in sorted(stats.rejected.items())),
        )  # fmt: skip
    if committer.waited_seconds >= 1:
        log.info(
            "window %s: waited %s for another run of this window",
            label,
            human_duration(committer.waited_seconds),
        )


@dataclass(frozen=True)
class WindowParts:
    """Everything a window's commit publishes: its files and uploads (key order), what the
    source saw, and the rejected rows' file (manifest entry and upload), if any."""

    files: list[ExportedFile]
    uploads: list[PendingUpload]
    source: SourceStats
    without_event_name: int
    decision: SchemaDecision
    rejected: tuple[dict[str, Any], PendingUpload] | None

    @property
    def used_events(self) -> set[str | None]:
        return {name for f in self.files for name in f.events}

    @property
    def all_uploads(self) -> list[PendingUpload]:
        return self.uploads + ([] if self.rejected is None else [self.rejected[1]])


def window_manifest(spec: ExportSpec, window: Window, instance_id: int, parts: WindowParts) -> bytes:
    """The manifest the window's commit writes: a function of its parts only (no clock, no host)."""
    facts = ManifestFacts(spec, window, instance_id, parts.files, parts.source, parts.without_event_name,
                          parts.decision.columns.only_events(parts.used_events),
                          None if parts.rejected is None else parts.rejected[0])  # fmt: skip
    return manifest_bytes(build_manifest(facts))


def publish(
    spec: ExportSpec,
    parts: WindowParts,
    manifest: bytes,
    committer: WindowCommit,
    published: PublishedWindow,
    allow_fewer_records: bool,
) -> list[str]:
    """Refuse a silent shrink, then commit (``commit.py``); returns the stale keys removed."""
    committer.check_records(
        sum(f.records for f in parts.files),
        published,
        allow_fewer=allow_fewer_records,
        spec_hash=spec.spec_hash,
    )
    return committer.commit(published, parts.all_uploads, manifest, parts.decision, parts.used_events)


@dataclass
class WrittenWindow:
    """A window's files (or one shard's), sent but not yet visible, and what they were decided from."""

    writer: WindowWriter
    files: list[ExportedFile]
    decision: SchemaDecision
    without_event_name: int
    rejected: RejectedRowsFile

    def abort(self) -> None:
        self.writer.abort()
        self.rejected.abort()

    def parts(self, stats: SourceStats) -> WindowParts:
        """What the commit publishes; finishes the rejected rows' file (once)."""
        return WindowParts(self.files, self.writer.uploads, stats, self.without_event_name, self.decision,
                           self.rejected.finish())  # fmt: skip


def write_window(
    spec: ExportSpec,
    window: Window,
    source: EventSource,
    destination: Destination,
    layout: ObjectLayout,
    decision: SchemaDecision,
    run_id: str,
    log: logging.Logger | Any,
    shard: Shard | None = None,
    presence: list[BatchPresence] | None = None,
) -> WrittenWindow:
    """Read, route and upload the window's files (``shard``: only that shard's), completing none.

    Rows the source quarantines go to the window's rejected file; of a sharded window, only
    shard 0 keeps them, since every shard reads (and rejects) the same rows. ``presence``
    receives each batch's property presence, as the scan finds it, when no scan ran.
    """
    progress = _progress_of(spec, window, source, log, decided_here=shard is None and presence is None)
    projector = Projector(spec.fields, decision.columns)
    # Event names are spelled in keys once all of them are known, so no two meet (keys.event_name_segments).
    spelled = layout.for_events(decision.columns.events)
    writer = WindowWriter(layout=spelled, fmt=spec.format, destination=destination, run_id=run_id)
    rejected = RejectedRowsFile(destination, layout.rejected_key(), run_id)
    quarantining = (
        source if isinstance(source, Quarantining) and (shard is None or shard.index == 0) else None
    )
    if quarantining is not None:
        quarantining.quarantine_into(rejected)
    without_event_name = 0
    preparation = format_of(spec.format).preparation

    def route(unit: pa.RecordBatch) -> tuple[int, EventRows, BatchPresence | None]:
        if shard is not None:
            unit = shard.rows_of(unit)
        found = batch_presence(unit, spec.fields) if presence is not None else None
        return (
            unit.column("event_name").null_count,
            event_rows(unit, spec.fields, projector, preparation),
            found,
        )

    batches = Prefetched(
        _in_units(source.read(window), preparation.rows_at_once), depth=1, transform=route,
        workers=ROUTING_WORKERS,
    )  # fmt: skip
    try:
        for nameless, pieces, found in batches:
            without_event_name += nameless
            if presence is not None and found is not None:
                presence.append(found)
            for event_name, rows in pieces:
                writer.write(event_name, rows)
            writer.batch_done()
            progress.batch_done(writer)
        files = writer.close()
    except BaseException as error:
        batches.close()  # the source stops reading before its uploads are aborted
        writer.abort()
        rejected.abort()
        if presence is None or not isinstance(error, EventSchemaError):  # else a scan follows
            log.error(
                "window %s: export failed; nothing was published, the window is as it was", window.label
            )
        raise
    finally:
        if quarantining is not None:
            quarantining.quarantine_into(None)
    return WrittenWindow(writer, files, decision, without_event_name, rejected)


def _commit(
    spec: ExportSpec,
    window: Window,
    instance_id: int,
    source: EventSource,
    written: WrittenWindow,
    committer: WindowCommit,
    published: PublishedWindow,
    allow_fewer_records: bool,
) -> list[str]:
    """Publish the written files; until the commit is journaled, any failure aborts them."""
    try:
        parts = written.parts(source.stats)
        manifest = window_manifest(spec, window, instance_id, parts)
        return publish(spec, parts, manifest, committer, published, allow_fewer_records)
    except BaseException:
        if not committer.journaled:
            written.abort()
        raise


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
    store: SchemaStore,
    log: logging.Logger | Any = logger,
) -> SchemaDecision:
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
            "window %s: %d events carry %d distinct properties (%s rows scanned in %s)",
            window.label, len(presence), len({p for names in presence.values() for p in names}),
            f"{source.stats.rows_in_window:,}", human_duration(time.monotonic() - started),
        )  # fmt: skip
    return store.decide(_proposal(spec, window, source, presence))


def _proposal(
    spec: ExportSpec, window: Window, source: EventSource, presence: EventPresence | None
) -> DecidedSchema:
    """What this window proposes: its source schema and, when scanned, its properties per event."""
    proposal = propose(spec.fields, source.schema(window), presence)
    if (
        spec.layout.resolved(spec.schedule.every).split == "window"
        and format_of(spec.format).one_schema_per_file
    ):
        proposal = with_shared_properties(proposal)
    return proposal


def write_with_known_columns(
    spec: ExportSpec,
    window: Window,
    source: EventSource,
    destination: Destination,
    layout: ObjectLayout,
    store: SchemaStore,
    run_id: str,
    log: logging.Logger | Any = logger,
) -> WrittenWindow | None:
    """The window written without a property scan, when the columns the export has decided
    already hold all its rows carry; None, nothing of the attempt kept, when they do not.

    Most windows of a running export bring no new event, property or type, and the scan
    that finds that out reads every row's properties a second time: 12-25% of a lake
    export's time, and a second download of a lake on S3 (docs/performance.md). So the
    rows are written with the decided columns while the presence the scan would compute is
    taken from the same rows; the files are kept only if it decides exactly the columns they
    follow, which makes them the files the scan would have led to, byte for byte. Otherwise
    (a new property, event or type, a value the columns cannot hold) they are aborted and
    the window is exported the usual way, scan first.
    """
    if not spec.fields.properties.needs_discovery(spec.fields.events):
        return None  # nothing to scan for
    known = store.decide(DecidedSchema())
    if known.base is None:
        return None  # the export's first window: no columns decided yet
    started = time.monotonic()
    presence: list[BatchPresence] = []
    try:
        written = write_window(
            spec, window, source, destination, layout, known, run_id, log, presence=presence
        )
    except EventSchemaError as error:  # write_window aborted its uploads
        log.info("window %s: %s; scanning its properties and exporting it again", window.label, error)
        return None
    found = merge_presence(presence)
    actual = store.decide(_proposal(spec, window, source, found))
    if actual.columns != known.columns:
        written.abort()
        log.info(
            "window %s: its rows bring columns the export had not decided yet; scanning its "
            "properties and exporting it again (%s spent)",
            window.label, human_duration(time.monotonic() - started),
        )  # fmt: skip
        return None
    log.info(
        "window %s: %d events carry %d distinct properties, all among the export's decided "
        "columns (checked on the rows written, no separate scan)",
        window.label, len(found), len({p for names in found.values() for p in names}),
    )  # fmt: skip
    return replace(written, decision=actual)


def _progress_of(
    spec: ExportSpec, window: Window, source: EventSource, log: logging.Logger | Any, decided_here: bool
) -> _Progress:
    """Progress as a percentage whenever the total is known before the read.

    A discovery scan in this process (``decided_here``) has counted the window's rows;
    otherwise a source may know how many rows it will scan (a Parquet lake, from its
    footers). ``source.stats`` is replaced by each read, so it is looked up at every line.
    """
    if decided_here and spec.fields.properties.needs_discovery(spec.fields.events):
        return _Progress(
            window, log, source.stats.rows_in_window, lambda: source.stats.rows_in_window, "rows"
        )
    if isinstance(source, CountsRows):
        expected = source.rows_to_scan(window)
        return _Progress(window, log, expected, lambda: source.stats.rows_scanned, "source rows")
    return _Progress(window, log, None, lambda: source.stats.rows_in_window, "rows")


class _Progress:
    """A short line every few seconds on long windows: how far, how fast, and (when the total
    is known) the percentage and the time left."""

    def __init__(
        self,
        window: Window,
        log: logging.Logger | Any,
        expected: int | None,
        counted: Callable[[], int],
        unit: str,
    ) -> None:
        self._window = window
        self._log = log
        self._expected = expected
        self._counted = counted
        self._unit = unit
        self._started = time.monotonic()
        self._last = self._started

    def batch_done(self, writer: WindowWriter) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        elapsed = now - self._started
        rows = self._counted()
        done = f"{rows:,} {self._unit}"
        if self._expected:
            share = min(rows / self._expected, 1.0)
            left = elapsed * (1 - share) / share if share else 0.0
            left_text = f"about {human_duration(left)} left"
            done = f"{rows:,} of {self._expected:,} {self._unit} ({share:.0%}, {left_text})"
        self._log.info(
            "window %s: %s, %s, %d files done, %d open, %s written",
            self._window.label, done, per_second(rows, elapsed, self._unit), len(writer.files),
            writer.open_files, megabytes(writer.bytes_written),
        )  # fmt: skip
