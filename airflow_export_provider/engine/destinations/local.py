"""A local directory laid out exactly like the bucket would be.

An upload is written to ``<key>.<run id>.partial`` beside its final name and renamed into
place when completed (atomic on POSIX), so a partial file never shows under a data key
and another process can complete or abort it by name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from airflow_export_provider.engine.destinations.base import ConcurrentUpdate, PendingUpload, UploadLost
from airflow_export_provider.exceptions import DestinationError

_PARTIAL = ".partial"


class LocalUpload:
    def __init__(self, final_path: Path, key: str, run_id: str) -> None:
        self._key = key
        self._run_id = run_id
        self._partial_path = final_path.with_name(f"{final_path.name}.{run_id}{_PARTIAL}")
        final_path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self._partial_path.open("wb")

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def finish(self) -> PendingUpload:
        self._handle.close()
        return PendingUpload(self._key, self._partial_path.name, self._run_id)

    def abort(self) -> None:
        self._handle.close()
        self._partial_path.unlink(missing_ok=True)


class LocalDestination:
    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if self._root not in path.parents:
            raise DestinationError(f"key {key!r} would leave the destination folder {self._root}")
        return path

    def start_upload(self, key: str, content_type: str, run_id: str) -> LocalUpload:
        return LocalUpload(self._path(key), key, run_id)

    def _partial(self, pending: PendingUpload) -> Path:
        return self._path(pending.key).with_name(pending.upload_id)

    def complete_upload(self, pending: PendingUpload) -> None:
        try:
            self._partial(pending).replace(self._path(pending.key))
        except FileNotFoundError:
            # A local folder keeps no record of who completed a file: present counts as completed.
            if not self._path(pending.key).is_file():
                raise UploadLost(
                    f"{self._partial(pending)} is gone; {pending.key} was never completed"
                ) from None

    def abort_upload(self, pending: PendingUpload) -> None:
        self._partial(pending).unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        upload = LocalUpload(self._path(key), key, f"put{os.getpid()}")
        upload.write(data)
        self.complete_upload(upload.finish())

    def get_bytes(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get_bytes(key)
        return data, None if data is None else hashlib.sha256(data).hexdigest()

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> str:
        """Compare and replace under an exclusive lock file, the local stand-in for S3's If-Match."""
        with self._locked(key):
            if self.get_versioned(key)[1] != version:
                raise ConcurrentUpdate(key)
            self.put_bytes(key, data, content_type)
        return hashlib.sha256(data).hexdigest()

    def delete_if(self, key: str, version: str) -> None:
        with self._locked(key):
            if self.get_versioned(key)[1] != version:
                raise ConcurrentUpdate(key)
            self._path(key).unlink()

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """An exclusive ``flock`` on a file beside the object, held for a compare-and-write."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_name(path.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        for directory, _, files in os.walk(self._root):
            for name in sorted(files):
                key = (Path(directory) / name).relative_to(self._root).as_posix()
                if key.startswith(prefix) and not key.endswith((_PARTIAL, ".lock")):
                    yield key

    def abort_unfinished_uploads(
        self, prefix: str, matching: re.Pattern[str], keep: frozenset[str] = frozenset()
    ) -> list[str]:
        aborted = []
        for path in sorted(self._root.rglob(f"*{_PARTIAL}")):
            key = path.relative_to(self._root).as_posix().removesuffix(_PARTIAL).rsplit(".", 1)[0]
            if key.startswith(prefix) and matching.fullmatch(key) and path.name not in keep:
                path.unlink(missing_ok=True)
                aborted.append(key)
        return aborted

    def url(self, key: str) -> str:
        """``file://`` URL of a key, or of the folder itself for ``""`` (a window whose first
        folder varies by event, ``folders: [event_name, date]``, is written under the root)."""
        if not key.strip("/"):
            return self._root.as_uri()
        return self._path(key).as_uri()
