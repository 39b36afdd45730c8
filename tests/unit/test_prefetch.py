"""Reading ahead on a second thread: same items in order, errors and early stops handled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from airflow_export_provider.prefetch import Prefetched


class Source:
    """A generator that records how far it was read, on which thread, and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced = 0
        self.closed_on: str | None = None

    def items(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                if number == self.fail_at:
                    raise ValueError(f"source broke at {number}")
                self.produced += 1
                yield number
        finally:
            self.closed_on = threading.current_thread().name


def test_items_arrive_in_order_and_the_source_is_closed_on_the_reading_thread() -> None:
    source = Source(1_000)
    assert list(Prefetched(source.items(), depth=3)) == list(range(1_000))
    assert source.closed_on == "export-prefetch"


def test_a_source_error_is_raised_to_the_consumer_after_the_items_before_it() -> None:
    source = Source(10, fail_at=4)
    received = []
    with pytest.raises(ValueError, match="source broke at 4"):
        for item in Prefetched(source.items()):
            received.append(item)
    assert received == [0, 1, 2, 3]
    assert source.closed_on == "export-prefetch"


def test_a_consumer_that_stops_early_stops_the_reading_and_closes_the_source() -> None:
    source = Source(1_000_000)
    prefetched = Prefetched(source.items(), depth=2)
    for item in prefetched:
        if item == 5:
            break
    prefetched.close()
    assert source.closed_on == "export-prefetch"
    assert source.produced <= 5 + 1 + 2 + 1  # read ahead by at most the depth (plus the one in hand)


def test_a_consumer_that_fails_closes_the_source_too() -> None:
    source = Source(1_000_000)

    def consume() -> None:
        for item in Prefetched(source.items()):
            if item == 3:
                raise RuntimeError("upload failed")

    with pytest.raises(RuntimeError, match="upload failed"):
        consume()
    assert source.closed_on == "export-prefetch"
    assert source.produced < 10
