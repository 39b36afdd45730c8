"""A destination held in memory, for ``airflow-export preview``: the real pipeline, no writes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator

from airflow_export_provider.destinations.base import ConcurrentUpdate


class MemoryUpload:
    def __init__(self, objects: dict[str, bytes], key: str) -> None:
        self._objects = objects
        self._key = key
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._chunks.append(data)

    def commit(self) -> None:
        self._objects[self._key] = b"".join(self._chunks)

    def abort(self) -> None:
        self._chunks.clear()


class MemoryDestination:
    """Objects in a dict; ``url`` spells keys as the real destination would."""

    def __init__(self, url: Callable[[str], str]) -> None:
        self.objects: dict[str, bytes] = {}
        self._url = url

    def start_upload(self, key: str, content_type: str) -> MemoryUpload:
        return MemoryUpload(self.objects, key)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = data

    def get_bytes(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.objects.get(key)
        return data, None if data is None else hashlib.sha256(data).hexdigest()

    def put_if(self, key: str, data: bytes, content_type: str, version: str | None) -> None:
        if self.get_versioned(key)[1] != version:
            raise ConcurrentUpdate(key)
        self.objects[key] = data

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def list_keys(self, prefix: str) -> Iterator[str]:
        yield from sorted(key for key in self.objects if key.startswith(prefix))

    def abort_unfinished_uploads(self, prefix: str, matching: re.Pattern[str]) -> list[str]:
        return []

    def url(self, key: str) -> str:
        return self._url(key)
