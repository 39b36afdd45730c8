"""The destination contract shared by S3 and the local directory."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Protocol


class ConcurrentUpdate(Exception):
    """A conditional write lost the race: the object changed since it was read."""


class ObjectUpload(Protocol):
    """One object being written. Nothing is visible under its key until ``commit``."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class Destination(Protocol):
    def start_upload(self, key: str, content_type: str) -> ObjectUpload: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def get_bytes(self, key: str) -> bytes | None:
        """The object's content, or None if there is no such object."""
        ...

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        """The object's content and a version token for :meth:`put_if` (both None if absent)."""
        ...

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> None:
        """Write only if the object is still at ``version`` (None: only if it does not exist).

        Raises :class:`ConcurrentUpdate` otherwise, so read-merge-write cycles can retry.
        """
        ...

    def delete(self, keys: Iterable[str]) -> None: ...

    def list_keys(self, prefix: str) -> Iterator[str]: ...

    def abort_unfinished_uploads(self, prefix: str, matching: re.Pattern[str]) -> list[str]:
        """Abort uploads a killed run left open under ``prefix`` whose key matches; return their keys."""
        ...

    def url(self, key: str) -> str: ...
