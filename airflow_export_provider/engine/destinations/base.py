"""The destination contract shared by S3, the local directory and the in-memory preview.

Data files are written so that they stay invisible until the window commits (see
``commit.py``): an upload's bytes are all sent by :meth:`ObjectUpload.finish`, which
returns a :class:`PendingUpload`, and only :meth:`Destination.complete_upload` makes the
object appear under its key. A pending upload can be completed by another process (the
next run of the window finishing a killed run's commit), so it is plain, serialisable data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_export_provider.exceptions import DestinationError


class ConcurrentUpdate(Exception):
    """A conditional write lost the race: the object changed since it was read."""


class UploadLost(DestinationError):
    """A pending upload can no longer be completed: it was aborted or expired, and no run completed it."""


@dataclass(frozen=True)
class PendingUpload:
    """Everything needed to complete (or abort) one uploaded, not yet visible, object.

    :param key: the object's final key.
    :param upload_id: the destination's handle (an S3 multipart upload id, a local partial file).
    :param run_id: the run that uploaded it; S3 objects carry it in their metadata once completed.
    :param parts: ``(part number, ETag)`` of every part sent, in order (S3 only).
    """

    key: str
    upload_id: str
    run_id: str
    parts: tuple[tuple[int, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "upload_id": self.upload_id,
            "run_id": self.run_id,
            "parts": [list(part) for part in self.parts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingUpload:
        parts = tuple((int(number), str(etag)) for number, etag in data.get("parts", []))
        return cls(str(data["key"]), str(data["upload_id"]), str(data["run_id"]), parts)


class ObjectUpload(Protocol):
    """One object being written. Nothing is visible under its key until it is completed."""

    def write(self, data: bytes) -> None: ...

    def finish(self) -> PendingUpload:
        """Send every remaining byte; the object stays invisible until ``complete_upload``."""
        ...

    def abort(self) -> None: ...


class Destination(Protocol):
    def start_upload(self, key: str, content_type: str, run_id: str) -> ObjectUpload: ...

    def complete_upload(self, pending: PendingUpload) -> None:
        """Make a finished upload visible under its key. Idempotent: completing an upload that
        its run already completed is a no-op; one that nobody completed and is gone raises
        :class:`UploadLost`."""
        ...

    def abort_upload(self, pending: PendingUpload) -> None:
        """Drop a finished upload that will never be completed (no-op if it is gone)."""
        ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def get_bytes(self, key: str) -> bytes | None:
        """The object's content, or None if there is no such object."""
        ...

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        """The object's content and a version token for :meth:`put_if` (both None if absent)."""
        ...

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> str:
        """Write only if the object is still at ``version`` (None: only if it does not exist).

        Returns the new version token. Raises :class:`ConcurrentUpdate` otherwise, so
        read-merge-write cycles can retry and leases can tell they were taken over.
        """
        ...

    def delete_if(self, key: str, version: str) -> None:
        """Delete only if the object is still at ``version``; :class:`ConcurrentUpdate` otherwise."""
        ...

    def delete(self, keys: Iterable[str]) -> None: ...

    def list_keys(self, prefix: str) -> Iterator[str]: ...

    def abort_unfinished_uploads(
        self, prefix: str, matching: re.Pattern[str], keep: frozenset[str] = frozenset()
    ) -> list[str]:
        """Abort uploads a killed run left open under ``prefix`` whose key matches; return their keys.

        Uploads whose ``upload_id`` is in ``keep`` stay open: a sharded window's commit keeps
        the uploads its shards left for it (``engine/shards.py``).
        """
        ...

    def url(self, key: str) -> str: ...
