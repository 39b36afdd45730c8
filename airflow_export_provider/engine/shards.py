"""One window on many workers: a plan, one task per shard, one commit.

With ``shards: N`` a window's events are split into N shards by a stable hash of the
event name (``keys.shard_of``), and each event's files carry its shard as
``{instance_id}``. Three steps, each an Airflow task of its own (``operators/shards.py``),
each a plain function here:

``plan_shards``
    Decide the window's columns once (a discovery scan, if the spec needs one) and write
    the *plan* (``_shards/<export>/<date>/<ts>-0.<plan id>/plan.json``): the columns every
    shard follows, the spec hash, the manifest version readers saw. Shards on different
    workers can then not disagree about columns, and nothing is persisted for later
    windows until the commit (as in a one-task export).
``export_shard``
    Read the window, keep the shard's events' rows (``records.shard_filter``), upload its
    files without completing them, and list them in the shard's *part list*
    (``…/shard-<k>.json``): every upload to complete, each file's records, bytes and
    SHA-256. Nothing is visible yet. A failed shard is retried alone: the retry aborts
    what the earlier try listed and writes its files again under the same keys.
``commit_shards``
    Take the window's lease, as a one-task export does; its recovery aborts every open
    upload of the window *except* those the part lists name (what killed shard tries
    left). Then the commit of ``commit.py``: journal, complete every shard's uploads, write
    **one** manifest, delete stale keys. The manifest is built from the part lists only,
    with files in key order, so it is the same whichever worker ran which shard, and the
    same as a one-task export of the window writes (keys, bytes and manifest).

Nothing here holds the window's lease between tasks: shards may wait in a queue for
minutes. Instead the commit checks that the window's manifest is still the version the
plan saw; if another run published the window in between, or aborted the shards' uploads,
the commit fails with what happened and publishes nothing: the published window is never
damaged, and exporting the window again (clear ``plan_window`` and what follows) fixes it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_export_provider.engine.columns import (
    ColumnsChanged,
    DecidedSchema,
    SchemaDecision,
)
from airflow_export_provider.engine.commit import CommitConflict, FewerRecords, WindowCommit
from airflow_export_provider.engine.destinations.base import Destination, PendingUpload, UploadLost
from airflow_export_provider.engine.keys import ObjectLayout
from airflow_export_provider.engine.lease import LEASE_SECONDS, WAIT_SECONDS, LeaseHolder
from airflow_export_provider.engine.logs import human_duration, megabytes, per_second
from airflow_export_provider.engine.records.shard_filter import Shard
from airflow_export_provider.engine.run import (
    WindowParts,
    WindowResult,
    committed_result,
    decide_columns,
    layout_for,
    log_committed,
    publish,
    schema_store_for,
    window_manifest,
    write_window,
)
from airflow_export_provider.engine.runtime.memory_pool import use_returning_memory_pool
from airflow_export_provider.engine.sources.base import EventSource, SourceStats
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.engine.writer import ExportedFile
from airflow_export_provider.exceptions import ExportError
from airflow_export_provider.spec import ExportSpec

PLAN_VERSION = 1
logger = logging.getLogger(__name__)


class ShardPlanError(ExportError):
    """A shard or commit cannot go on with its run's plan (gone, another definition, shards missing)."""


_AGAIN = "export the window again: clear its plan_window task and every task after it"


@dataclass(frozen=True)
class ShardPlan:
    """What every shard of one run of a window follows, and what the commit checks."""

    plan_id: str
    window: str
    shards: int
    spec_hash: str
    published_version: str | None
    decision: SchemaDecision

    def to_bytes(self, export_id: str, evolution: Any) -> bytes:
        decision = self.decision
        document = {
            "plan_version": PLAN_VERSION,
            "plan_id": self.plan_id,
            "window": self.window,
            "shards": self.shards,
            "spec_hash": self.spec_hash,
            "published_manifest_version": self.published_version,
            "columns": decision.columns.to_json(export_id, evolution),
            "proposal": decision.proposal.to_json(export_id, evolution),
            "base": None if decision.base is None else decision.base.to_json(export_id, evolution),
            "base_version": decision.base_version,
        }
        return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def parse(cls, data: bytes, url: str) -> ShardPlan:
        try:
            document = json.loads(data)
            if document.get("plan_version") != PLAN_VERSION:
                raise ValueError(f"plan version {document.get('plan_version')!r}")
            base = document["base"]
            decision = SchemaDecision(
                DecidedSchema.from_json(document["columns"]),
                DecidedSchema.from_json(document["proposal"]),
                None if base is None else DecidedSchema.from_json(base),
                document["base_version"],
            )
            return cls(
                str(document["plan_id"]),
                str(document["window"]),
                int(document["shards"]),
                str(document["spec_hash"]),
                document["published_manifest_version"],
                decision,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ShardPlanError(
                f"{url} is not a shard plan this version can read ({error}); {_AGAIN}"
            ) from None


@dataclass(frozen=True)
class ShardParts:
    """One shard's uploads, left for the commit. Only shard 0 carries the source's counts
    and rejected rows: every shard reads the whole window, so they are the same in each."""

    shard: int
    files: tuple[ExportedFile, ...]
    uploads: tuple[PendingUpload, ...]
    without_event_name: int
    source: SourceStats | None
    rejected: tuple[dict[str, Any], PendingUpload] | None

    @property
    def all_uploads(self) -> list[PendingUpload]:
        return [*self.uploads, *([] if self.rejected is None else [self.rejected[1]])]

    def to_bytes(self) -> bytes:
        stats = self.source
        document = {
            "plan_version": PLAN_VERSION,
            "shard": self.shard,
            "files": [
                {
                    "key": f.key,
                    "event_name": f.event_name,
                    "records": f.records,
                    "bytes": f.bytes,
                    "sha256": f.sha256,
                    "events": list(f.events),
                }
                for f in self.files
            ],
            "uploads": [upload.to_json() for upload in self.uploads],
            "without_event_name": self.without_event_name,
            "source": None
            if stats is None
            else {
                "files": stats.files,
                "rows_scanned": stats.rows_scanned,
                "rows_in_window": stats.rows_in_window,
                "rejected": stats.rejected,
            },
            "rejected": None
            if self.rejected is None
            else {"entry": self.rejected[0], "upload": self.rejected[1].to_json()},
        }
        return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def parse(cls, data: bytes, url: str) -> ShardParts:
        try:
            document = json.loads(data)
            source, rejected = document["source"], document["rejected"]
            return cls(
                shard=int(document["shard"]),
                files=tuple(
                    ExportedFile(
                        str(f["key"]),
                        f["event_name"],
                        int(f["records"]),
                        int(f["bytes"]),
                        str(f["sha256"]),
                        tuple(f["events"]),
                    )
                    for f in document["files"]
                ),
                uploads=tuple(PendingUpload.from_json(entry) for entry in document["uploads"]),
                without_event_name=int(document["without_event_name"]),
                source=None
                if source is None
                else SourceStats(
                    int(source["files"]),
                    int(source["rows_scanned"]),
                    int(source["rows_in_window"]),
                    dict(source["rejected"]),
                ),
                rejected=None
                if rejected is None
                else (dict(rejected["entry"]), PendingUpload.from_json(rejected["upload"])),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ShardPlanError(f"{url} is not a shard's part list ({error}); {_AGAIN}") from None


def plan_shards(
    spec: ExportSpec,
    window: Window,
    *,
    source: EventSource,
    destination: Destination,
    log: logging.Logger | Any = logger,
) -> ShardPlan:
    """Decide the window's columns once for all its shards and store them in the bucket."""
    layout = layout_for(spec, window)
    store = schema_store_for(spec, destination, layout)
    decision = decide_columns(spec, window, source, store, log)
    _, published_version = destination.get_versioned(layout.manifest_key())
    plan = ShardPlan(uuid.uuid4().hex, window.label, spec.shards, spec.spec_hash, published_version, decision)
    key = layout.shard_plan_key(plan.plan_id)
    destination.put_bytes(
        key, plan.to_bytes(spec.export_id, spec.fields.schema_evolution), "application/json"
    )
    log.info(
        "window %s: planned %d shards (plan %s, %s); each exports the events whose name hashes to it",
        window.label,
        plan.shards,
        plan.plan_id[:8],
        destination.url(key),
    )
    return plan


def read_plan(spec: ExportSpec, window: Window, plan_id: str, destination: Destination) -> ShardPlan:
    layout = layout_for(spec, window)
    key = layout.shard_plan_key(plan_id)
    data = destination.get_bytes(key)
    if data is None:
        raise ShardPlanError(
            f"window {window.label}: the shard plan {destination.url(key)} is gone (the window was "
            f"committed, or the plan deleted); {_AGAIN}"
        )
    plan = ShardPlan.parse(data, destination.url(key))
    if plan.spec_hash != spec.spec_hash or plan.shards != spec.shards:
        raise ShardPlanError(
            f"window {window.label}: the export's definition changed since this run planned the window "
            f"(spec hash {plan.spec_hash} → {spec.spec_hash}, shards {plan.shards} → {spec.shards}); {_AGAIN}"
        )
    return plan


def export_shard(
    spec: ExportSpec,
    window: Window,
    plan_id: str,
    shard: int,
    *,
    source: EventSource,
    destination: Destination,
    log: logging.Logger | Any = logger,
) -> ShardParts:
    """Upload one shard's files (not completed) and list them for the commit."""
    started = time.monotonic()
    use_returning_memory_pool()
    plan = read_plan(spec, window, plan_id, destination)
    layout = layout_for(spec, window)
    parts_key = layout.shard_parts_key(plan_id, shard)
    earlier = destination.get_bytes(parts_key)
    if earlier is not None:  # an earlier try listed its uploads and then failed: they are superseded
        for upload in ShardParts.parse(earlier, destination.url(parts_key)).all_uploads:
            destination.abort_upload(upload)
        destination.delete([parts_key])
        log.info("window %s: shard %d: aborted the uploads of an earlier try", window.label, shard)
    written = write_window(
        spec, window, source, destination, layout, plan.decision, plan_id, log, Shard(shard, plan.shards)
    )
    try:
        rejected = written.rejected.finish()
        parts = ShardParts(
            shard,
            tuple(written.files),
            tuple(written.writer.uploads),
            written.without_event_name,
            source.stats if shard == 0 else None,
            rejected,
        )
        destination.put_bytes(parts_key, parts.to_bytes(), "application/json")
    except BaseException:
        written.abort()
        raise
    records, size = sum(f.records for f in parts.files), sum(f.bytes for f in parts.files)
    seconds = time.monotonic() - started
    log.info(
        "window %s: shard %d of %d uploaded %s records into %d files, %s, in %s (%s); not visible until "
        "the window commits",
        window.label,
        shard,
        plan.shards,
        f"{records:,}",
        len(parts.files),
        megabytes(size),
        human_duration(seconds),
        per_second(records, seconds, "records"),
    )
    return parts


def read_parts(
    spec: ExportSpec, window: Window, plan: ShardPlan, destination: Destination
) -> list[ShardParts]:
    """Every shard's part list, or :class:`ShardPlanError` naming the shards that have none."""
    layout = layout_for(spec, window)
    found: list[ShardParts] = []
    missing = []
    for shard in range(plan.shards):
        key = layout.shard_parts_key(plan.plan_id, shard)
        data = destination.get_bytes(key)
        if data is None:
            missing.append(str(shard))
        else:
            found.append(ShardParts.parse(data, destination.url(key)))
    if missing:
        raise ShardPlanError(
            f"window {window.label}: shards {', '.join(missing)} of {plan.shards} listed no uploads for "
            f"plan {plan.plan_id[:8]} (did they run?); run them first, or {_AGAIN}"
        )
    return found


def merged_parts(plan: ShardPlan, parts: Sequence[ShardParts]) -> WindowParts:
    """The shards' part lists as one window: files and uploads in key order, like a one-task export's."""
    first = next(p for p in parts if p.shard == 0)
    assert first.source is not None, "shard 0 lists the source's counts"
    return WindowParts(
        files=sorted((f for p in parts for f in p.files), key=lambda f: f.key),
        uploads=sorted((u for p in parts for u in p.uploads), key=lambda u: u.key),
        source=first.source,
        without_event_name=sum(p.without_event_name for p in parts),
        decision=plan.decision,
        rejected=first.rejected,
    )


# Failures no retry of the commit can get past: the shards' uploads are aborted at once
# rather than left open until the window's next export.
_FINAL = (CommitConflict, FewerRecords, ColumnsChanged, UploadLost, ShardPlanError)


def commit_shards(
    spec: ExportSpec,
    window: Window,
    plan_id: str,
    *,
    destination: Destination,
    log: logging.Logger | Any = logger,
    allow_fewer_records: bool = False,
    run_label: str = "a sharded export run",
    lease_seconds: float = LEASE_SECONDS,
    lease_wait_seconds: float = WAIT_SECONDS,
) -> WindowResult:
    """Publish every shard's uploads as the window's one new version (``commit.py``)."""
    started = time.monotonic()
    layout = layout_for(spec, window)
    plan = read_plan(spec, window, plan_id, destination)
    parts = read_parts(spec, window, plan, destination)
    listed = [upload for p in parts for upload in p.all_uploads]
    committer = WindowCommit(
        destination,
        layout,
        window.label,
        schema_store_for(spec, destination, layout),
        LeaseHolder.here(run_label, run_id=plan_id),
        lease_seconds=lease_seconds,
        wait_seconds=lease_wait_seconds,
        log=log,
        keep_uploads=frozenset(u.upload_id for u in listed),
    )
    published = committer.begin()
    window_parts = merged_parts(plan, parts)
    manifest = window_manifest(spec, window, 0, window_parts)
    stale: list[str] = []
    try:
        already = committer.recovery.finished_commit_of == plan_id or (
            published.version != plan.published_version
            and _manifest_is(destination, layout.manifest_key(), manifest)
        )
        if already:  # an earlier try of this commit; or a run that published the very same files
            log.info(
                "window %s: the window holds exactly what this run's shards wrote; nothing to publish",
                window.label,
            )
            for upload in listed:  # any still open are the same bytes as what is published
                destination.abort_upload(upload)
        elif published.version != plan.published_version:
            raise CommitConflict(
                f"window {window.label}: another run published this window after this run planned it "
                f"({published.manifest_url} changed); this run publishes nothing, the published window "
                f"stays as that run left it. To replace it with this run's export, {_AGAIN}"
            )
        else:
            stale = publish(spec, window_parts, manifest, committer, published, allow_fewer_records)
    except _FINAL as error:
        if not committer.journaled:
            for upload in listed:
                destination.abort_upload(upload)
            _delete_plan(destination, layout, plan)
        if isinstance(error, ColumnsChanged):
            raise ShardPlanError(
                f"window {window.label}: {error}; this run's shards followed the plan's columns, so {_AGAIN}"
            ) from None
        raise
    finally:
        committer.end()
    _delete_plan(destination, layout, plan)
    result = committed_result(
        window, window_parts.files, destination, layout, window_parts.source, started, stale, committer
    )
    log.info("window %s: committed %d shards", window.label, plan.shards)
    log_committed(log, result, window_parts.source, committer)
    return result


def _manifest_is(destination: Destination, key: str, manifest: bytes) -> bool:
    return destination.get_bytes(key) == manifest


def _delete_plan(destination: Destination, layout: ObjectLayout, plan: ShardPlan) -> None:
    keys = [layout.shard_parts_key(plan.plan_id, shard) for shard in range(plan.shards)]
    destination.delete([*keys, layout.shard_plan_key(plan.plan_id)])
