"""Read the next source batches on a second thread while the current one is encoded.

Reading (a database sending rows, Parquet decoding, pyarrow's CSV and JSON parsers) and
writing (projection, encoding, compression, uploads) spend most of their time in code
that releases the GIL or waits on a socket, so running them side by side uses the
second core that a single loop leaves idle. At most ``depth`` batches wait in between,
which keeps memory bounded by the batch size, not the window.

The reading thread owns the iterator from start to end: it is closed there too, so a
source's clean-up (ending a ``COPY``, closing its connection) runs on the thread that
used it, and it runs when the consumer stops early or fails.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.2


class _End:
    """What the reading thread leaves last: nothing more, or the error it stopped on."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """Iterate over ``items`` with up to ``depth`` of them read ahead on a daemon thread."""

    def __init__(self, items: Iterator[T], depth: int = 2, name: str = "export-prefetch") -> None:
        self._items = items
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop reading ahead and wait for the reading thread to close the source."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=_POLL_SECONDS)  # unblock a pending put

    def _run(self) -> None:
        end = _End()
        try:
            for item in self._items:
                if not self._offer(item):
                    break
        except BaseException as error:  # handed to the consumer, raised there
            end = _End(error)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException as error:
                    end = end if end.error else _End(error)
            self._offer(end)

    def _offer(self, item: T | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False
