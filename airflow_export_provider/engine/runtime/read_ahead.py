"""Read the next source batches on a thread of their own while the current one is encoded.

Reading (a database sending rows, Parquet decoding, pyarrow's CSV and JSON parsers) and
writing (projection, encoding, compression, uploads) spend most of their time in code
that releases the GIL or waits on a socket, so running them side by side uses the
second core that a single loop leaves idle. At most ``depth`` batches wait in between,
which keeps memory bounded by the batch size, not the window.

With a ``transform`` (the export's routing and spelling of each batch), items are also
transformed on worker threads, two batches at once, and handed over in order: Arrow's
kernels release the GIL, so that is what keeps the second core busy on text formats.

The reading thread owns the iterator from start to end: it is closed there too, so a
source's clean-up (ending a ``COPY``, closing its connection) runs on the thread that
used it, and it runs when the consumer stops early or fails.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

S = TypeVar("S")
T = TypeVar("T")
_POLL_SECONDS = 0.2


class _End:
    """What the reading thread leaves last: nothing more, or the error it stopped on."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """Iterate over ``items`` with up to ``depth`` of them read ahead on a daemon thread.

    With ``transform``, what is iterated is ``transform(item)``, computed on ``workers``
    threads beside the reading one, still in the items' order. Up to ``depth + 1``
    items are being transformed at once (the ones waiting and the one being handed over).
    """

    def __init__(
        self,
        items: Iterator[Any],
        depth: int = 2,
        name: str = "export-prefetch",
        *,
        transform: Callable[[Any], T] | None = None,
        workers: int = 1,
    ) -> None:
        self._items = items
        self._transform = transform
        self._workers = workers
        self._name = name
        self._queue: queue.Queue[Future[T] | _End] = queue.Queue(maxsize=depth)
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
                yield item.result()
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
        pool = None
        if self._transform is not None:
            pool = ThreadPoolExecutor(self._workers, thread_name_prefix=f"{self._name}-transform")
        try:
            for item in self._items:
                if not self._offer(self._submitted(pool, item)):
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
            if pool is not None:  # items already handed over are still transformed, unless stopped
                pool.shutdown(wait=True, cancel_futures=self._stop.is_set())
            self._offer(end)

    def _submitted(self, pool: ThreadPoolExecutor | None, item: Any) -> Future[T]:
        if pool is None or self._transform is None:
            done: Future[T] = Future()
            done.set_result(item)
            return done
        return pool.submit(self._transform, item)

    def _offer(self, item: Future[T] | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False
