"""A local directory laid out exactly like the bucket would be."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from airflow_export_provider.destinations.base import ConcurrentUpdate
from airflow_export_provider.exceptions import DestinationError

_PARTIAL = ".partial"


class LocalUpload:
    """Writes ``<key>.partial`` and renames it into place on commit (atomic on POSIX)."""

    def __init__(self, final_path: Path) -> None:
        self._final_path = final_path
        self._partial_path = final_path.with_name(final_path.name + _PARTIAL)
        final_path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self._partial_path.open("wb")

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def commit(self) -> None:
        self._handle.close()
        self._partial_path.replace(self._final_path)

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

    def start_upload(self, key: str, content_type: str) -> LocalUpload:
        return LocalUpload(self._path(key))

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        upload = LocalUpload(self._path(key))
        upload.write(data)
        upload.commit()

    def get_bytes(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get_bytes(key)
        return data, None if data is None else hashlib.sha256(data).hexdigest()

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> None:
        """Compare and replace under an exclusive lock file, the local stand-in for S3's If-Match."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_name(path.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.get_versioned(key)[1] != version:
                raise ConcurrentUpdate(key)
            self.put_bytes(key, data, content_type)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        for directory, _, files in os.walk(self._root):
            for name in sorted(files):
                key = (Path(directory) / name).relative_to(self._root).as_posix()
                if key.startswith(prefix) and not key.endswith(_PARTIAL):
                    yield key

    def abort_unfinished_uploads(self, prefix: str, matching: re.Pattern[str]) -> list[str]:
        aborted = []
        for path in sorted(self._root.rglob(f"*{_PARTIAL}")):
            key = path.relative_to(self._root).as_posix().removesuffix(_PARTIAL)
            if key.startswith(prefix) and matching.fullmatch(key):
                path.unlink(missing_ok=True)
                aborted.append(key)
        return aborted

    def url(self, key: str) -> str:
        return self._path(key).as_uri()
