"""The publish protocol of one window: begin, upload, commit, abort.

A window is *published* when its manifest lists its files. A run changes nothing readers
can see until its whole window is ready, the way Hadoop's S3A "magic" committer does it:
every data file is a multipart upload that is completed only at commit. The steps, each
with what it guarantees (``docs/object-layout.md`` draws them):

``begin``
    Take the window's lease (``lease.py``): from here on this run is the window's only
    writer. Finish or roll back what a dead run left: a commit journal is finished
    (roll forward), open uploads of the window are aborted. Read the published manifest
    and its ETag. Nothing readers see has changed.
``upload`` (the writer, ``engine/writer.py``)
    Every file is sent in full but not completed: no data key changes.
``commit``
    Refuse to publish fewer records than the window has (unless allowed), then write
    the *journal* (``_commits/…commit``, ``If-None-Match: *``): the new manifest, every
    upload to complete, the keys that become stale. Once the journal exists the commit is
    decided: a run killed at any later point is finished by the next run of the window.
    Then persist the window's column decisions, complete the uploads, write the manifest
    with ``If-Match`` on the ETag read in ``begin`` (``If-None-Match: *`` for a first
    publication), delete the previous version's keys the new manifest does not list,
    delete the journal.
``abort``
    Abort every upload of the run. The published window is exactly as it was.

Between the first completed upload and the manifest write (a fraction of a second), a
reader that follows the old manifest can find a re-exported key with new content: the
keys are deterministic, so a new version replaces the old one under the same name. The
manifest's SHA-256 per file tells such a reader to read the manifest again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from airflow_export_provider.engine.columns import DecidedSchema, SchemaDecision, SchemaStore
from airflow_export_provider.engine.destinations.base import (
    ConcurrentUpdate,
    Destination,
    PendingUpload,
    UploadLost,
)
from airflow_export_provider.engine.keys import ObjectLayout
from airflow_export_provider.engine.lease import LEASE_SECONDS, WAIT_SECONDS, LeaseHolder, WindowLease
from airflow_export_provider.exceptions import ExportError

JOURNAL_VERSION = 1
# Uploads completed side by side at commit; botocore's connection pool holds 10.
COMPLETE_THREADS = 8
logger = logging.getLogger(__name__)


class FewerRecords(ExportError):
    """A re-run found fewer records than the published window holds and was not allowed to shrink it."""


class CommitConflict(ExportError):
    """Another run published this window while this run held its lease (the lease had expired)."""


@dataclass(frozen=True)
class PublishedWindow:
    """What readers saw of the window when this run began."""

    manifest_url: str
    manifest: dict[str, Any] | None
    version: str | None

    @property
    def records(self) -> int | None:
        if self.manifest is None:
            return None
        return int(self.manifest.get("totals", {}).get("records", 0))

    @property
    def keys(self) -> set[str]:
        """Every object this version published: its files and its quarantined rows, if any."""
        manifest = self.manifest or {}
        keys = {str(entry["key"]) for entry in manifest.get("files", [])}
        rejected = manifest.get("rejected_file")
        return keys | ({str(rejected["key"])} if isinstance(rejected, dict) and "key" in rejected else set())


@dataclass
class Recovery:
    """What this run found of earlier runs of the window, and did about it."""

    finished_commit_of: str | None = None
    unfinishable_commit_of: str | None = None
    aborted_uploads: list[str] = field(default_factory=list)
    stale_keys: set[str] = field(default_factory=set)  # to remove once this run commits
    legacy_marker: bool = False


@dataclass(frozen=True)
class _Journal:
    run_id: str
    holder: str
    manifest_key: str
    previous_version: str | None
    manifest: bytes
    uploads: tuple[PendingUpload, ...]
    stale: tuple[str, ...]
    schema_proposal: dict[str, Any] | None

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "journal_version": JOURNAL_VERSION,
                "run_id": self.run_id,
                "holder": self.holder,
                "manifest_key": self.manifest_key,
                "previous_manifest_version": self.previous_version,
                "manifest": self.manifest.decode("utf-8"),
                "uploads": [upload.to_json() for upload in self.uploads],
                "stale": list(self.stale),
                "schema_proposal": self.schema_proposal,
            },
            indent=1,
            ensure_ascii=False,
        ).encode("utf-8")

    @classmethod
    def parse(cls, data: bytes, url: str) -> _Journal:
        try:
            document = json.loads(data)
            if document.get("journal_version") != JOURNAL_VERSION:
                raise ValueError(f"journal version {document.get('journal_version')!r}")
            return cls(
                run_id=str(document["run_id"]),
                holder=str(document["holder"]),
                manifest_key=str(document["manifest_key"]),
                previous_version=document["previous_manifest_version"],
                manifest=str(document["manifest"]).encode("utf-8"),
                uploads=tuple(PendingUpload.from_json(entry) for entry in document["uploads"]),
                stale=tuple(str(key) for key in document["stale"]),
                schema_proposal=document.get("schema_proposal"),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ExportError(
                f"{url} is not a commit journal this version can read ({error}); if no run of this "
                "window is running, delete it and run the window again"
            ) from None

    @property
    def keys(self) -> set[str]:
        return {upload.key for upload in self.uploads}


class WindowCommit:
    """One run's write access to one window (one instance of it): lease, recovery, publication."""

    def __init__(
        self,
        destination: Destination,
        layout: ObjectLayout,
        window_label: str,
        schema_store: SchemaStore,
        holder: LeaseHolder,
        *,
        lease_seconds: float = LEASE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        log: logging.Logger | Any = logger,
        keep_uploads: frozenset[str] = frozenset(),
    ) -> None:
        """:param keep_uploads: upload ids that ``begin`` must not abort: the uploads other
        tasks of this run made for it (the shards of a sharded window, ``shards.py``)."""
        self._destination = destination
        self._keep_uploads = keep_uploads
        self._layout = layout
        self._window = window_label
        self._store = schema_store
        self.run_id = holder.run_id
        self._log = log
        self._lease = WindowLease(
            destination, layout.lease_key(), window_label, holder,
            ttl=lease_seconds, wait_seconds=wait_seconds, log=log,
        )  # fmt: skip
        self._journal_key = layout.journal_key()
        self.recovery = Recovery()
        self.journaled = False

    @property
    def waited_seconds(self) -> float:
        return self._lease.waited_seconds

    def begin(self) -> PublishedWindow:
        """Take the lease, finish or roll back what dead runs left, read the published window."""
        self._lease.acquire()
        try:
            self._recover()
            return self._published()
        except BaseException:
            self._lease.release()
            raise

    def end(self) -> None:
        """Release the lease (whatever happened: a lease is never left behind by a live run)."""
        self._lease.release()

    def check_records(
        self, records: int, published: PublishedWindow, *, allow_fewer: bool, spec_hash: str
    ) -> None:
        """No silent shrink: fewer records than the published window needs ``allow_fewer``."""
        if allow_fewer or published.records is None or records >= published.records:
            return
        previous_hash = (published.manifest or {}).get("spec_hash")
        changed = (
            f" The export's definition changed since (spec hash {previous_hash} → {spec_hash}): if it now "
            "selects fewer events, that is the reason."
            if previous_hash and previous_hash != spec_hash
            else ""
        )
        raise FewerRecords(
            f"window {self._window}: this run found {records:,} records, but the published window has "
            f"{published.records:,} ({published.manifest_url}). Nothing was changed.{changed} If the source "
            "now really holds fewer events (e.g. deleted users' events), run the window again with "
            "allow_fewer_records: true in the run's conf (Trigger form or dag_run.conf) or "
            "`airflow-export run --allow-fewer-records`; otherwise check the source (moved, emptied or "
            "aged out?)"
        )

    def commit(
        self,
        published: PublishedWindow,
        uploads: Sequence[PendingUpload],
        manifest: bytes,
        decision: SchemaDecision,
        used_events: set[str | None],
    ) -> list[str]:
        """Publish the run's uploads as the window's new version; returns the stale keys removed.

        Raises :class:`~airflow_export_provider.engine.columns.ColumnsChanged` (nothing
        published, the uploads are still the caller's to abort) if a parallel window
        persisted columns these files do not follow.
        """
        new_keys = {upload.key for upload in uploads}
        stale = sorted((published.keys | self.recovery.stale_keys) - new_keys)
        journal = _Journal(
            run_id=self.run_id,
            holder=self._lease.holder.describe(),
            manifest_key=self._layout.manifest_key(),
            previous_version=published.version,
            manifest=manifest,
            uploads=tuple(uploads),
            stale=tuple(stale),
            schema_proposal=decision.proposal.to_json("", "append"),
        )
        self._lease.check()
        try:
            journal_version = self._destination.put_if(
                self._journal_key, journal.to_bytes(), "application/json", None
            )
        except ConcurrentUpdate:
            raise CommitConflict(
                f"window {self._window}: another run started committing this window while this run held "
                f"its lease ({self._destination.url(self._journal_key)}); this run publishes nothing"
            ) from None
        try:
            self._store.persist(decision, used_events)
        except BaseException:
            self._destination.delete_if(self._journal_key, journal_version)
            raise
        self.journaled = True
        self._publish(journal)
        if self.recovery.legacy_marker:
            self._destination.delete([self._layout.legacy_pending_key()])
        return stale

    def _publish(self, journal: _Journal) -> None:
        """Complete, manifest, stale deletes, journal gone: each step idempotent, so a killed
        commit is finished by running this again from its journal."""
        with ThreadPoolExecutor(COMPLETE_THREADS, thread_name_prefix="export-complete") as pool:
            for done in [pool.submit(self._destination.complete_upload, u) for u in journal.uploads]:
                done.result()
        current, version = self._destination.get_versioned(journal.manifest_key)
        if current != journal.manifest:
            if version != journal.previous_version:
                raise CommitConflict(
                    f"window {self._window}: the manifest {self._destination.url(journal.manifest_key)} "
                    "changed after this commit began; another run published the window"
                )
            try:
                self._destination.put_if(journal.manifest_key, journal.manifest, "application/json", version)
            except ConcurrentUpdate:
                raise CommitConflict(
                    f"window {self._window}: another run wrote the manifest while this one committed"
                ) from None
        self._destination.delete(journal.stale)
        self._destination.delete([self._journal_key])

    def _recover(self) -> None:
        """Leave the window as its last decided state: finish a journaled commit, drop dead uploads."""
        self._finish_journaled_commit()
        self._adopt_legacy_marker()
        prefix, pattern = self._layout.key_pattern()
        keep = self._keep_uploads
        aborted = self._destination.abort_unfinished_uploads(prefix, pattern, keep)
        rejected = self._layout.rejected_key()
        aborted += self._destination.abort_unfinished_uploads(rejected, re.compile(re.escape(rejected)), keep)
        if aborted:
            self._log.info(
                "window %s: aborted %d uploads that a stopped run left unfinished (nothing of them was "
                "published)", self._window, len(aborted),
            )  # fmt: skip
        self.recovery.aborted_uploads.extend(aborted)

    def _finish_journaled_commit(self) -> None:
        data = self._destination.get_bytes(self._journal_key)
        if data is None:
            return
        journal = _Journal.parse(data, self._destination.url(self._journal_key))
        try:
            self._publish(journal)
        except (UploadLost, CommitConflict) as error:  # never block the window: export it anew
            self.recovery.unfinishable_commit_of = journal.run_id
            self.recovery.stale_keys |= journal.keys | set(journal.stale)
            self._destination.delete([self._journal_key])
            self._log.warning(
                "window %s: the commit of %s could not be finished (%s); this run publishes the window anew",
                self._window, journal.holder, error,
            )  # fmt: skip
            return
        if journal.schema_proposal is not None:
            self._store.persist(self._store.decide(DecidedSchema.from_json(journal.schema_proposal)))
        self.recovery.finished_commit_of = journal.run_id
        self._log.warning(
            "window %s: finished the commit of %s, which stopped while publishing (%d files, manifest %s)",
            self._window, journal.holder, len(journal.uploads), self._destination.url(journal.manifest_key),
        )  # fmt: skip

    def _adopt_legacy_marker(self) -> None:
        """A run of a version before this protocol died: its marker names keys that are stale now."""
        marker = self._destination.get_bytes(self._layout.legacy_pending_key())
        if marker is None:
            return
        try:
            earlier = set(json.loads(marker).get("earlier_keys", []))
        except (ValueError, AttributeError):
            earlier = set()
        prefix, pattern = self._layout.key_pattern()
        earlier |= {key for key in self._destination.list_keys(prefix) if pattern.fullmatch(key)}
        self.recovery.stale_keys |= earlier
        self.recovery.legacy_marker = True
        self._log.info(
            "window %s: an earlier version's run did not finish; cleaning up after it", self._window
        )

    def _published(self) -> PublishedWindow:
        key = self._layout.manifest_key()
        data, version = self._destination.get_versioned(key)
        manifest: dict[str, Any] | None = None
        if data is not None:
            try:
                manifest = json.loads(data)
            except ValueError:
                self._log.warning("window %s: the published manifest %s is not JSON; it will be replaced",
                                  self._window, self._destination.url(key))  # fmt: skip
        return PublishedWindow(self._destination.url(key), manifest, version)
