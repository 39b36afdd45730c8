"""A destination held in memory, for ``airflow-export preview``: the real pipeline, no writes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator

from airflow_export_provider.engine.destinations.base import ConcurrentUpdate, PendingUpload, UploadLost


class MemoryUpload:
    def __init__(self, destination: MemoryDestination, key: str, run_id: str) -> None:
        self._destination = destination
        self._key = key
        self._run_id = run_id
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._chunks.append(data)

    def finish(self) -> PendingUpload:
        upload_id = f"{self._run_id}/{self._key}"
        self._destination.uploads[upload_id] = b"".join(self._chunks)
        return PendingUpload(self._key, upload_id, self._run_id)

    def abort(self) -> None:
        self._chunks.clear()


class MemoryDestination:
    """Objects in a dict; ``url`` spells keys as the real destination would."""

    def __init__(self, url: Callable[[str], str]) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self._url = url

    def start_upload(self, key: str, content_type: str, run_id: str) -> MemoryUpload:
        return MemoryUpload(self, key, run_id)

    def complete_upload(self, pending: PendingUpload) -> None:
        data = self.uploads.pop(pending.upload_id, None)
        if data is not None:
            self.objects[pending.key] = data
        elif pending.key not in self.objects:
            raise UploadLost(f"the upload of {pending.key} is gone")

    def abort_upload(self, pending: PendingUpload) -> None:
        self.uploads.pop(pending.upload_id, None)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = data

    def get_bytes(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.objects.get(key)
        return data, None if data is None else hashlib.sha256(data).hexdigest()

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> str:
        if self.get_versioned(key)[1] != version:
            raise ConcurrentUpdate(key)
        self.objects[key] = data
        return hashlib.sha256(data).hexdigest()

    def delete_if(self, key: str, version: str) -> None:
        if self.get_versioned(key)[1] != version:
            raise ConcurrentUpdate(key)
        del self.objects[key]

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def list_keys(self, prefix: str) -> Iterator[str]:
        yield from sorted(key for key in self.objects if key.startswith(prefix))

    def abort_unfinished_uploads(
        self, prefix: str, matching: re.Pattern[str], keep: frozenset[str] = frozenset()
    ) -> list[str]:
        return []

    def url(self, key: str) -> str:
        return self._url(key)
