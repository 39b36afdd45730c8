"""Reading ahead on a second thread: same items in order, errors and early stops handled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from airflow_export_provider.engine.runtime.read_ahead import Prefetched


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


def test_transformed_items_arrive_in_order_though_workers_finish_out_of_order() -> None:
    import random
    import time

    delays = random.Random(3)

    def slow_square(number: int) -> int:
        time.sleep(delays.random() / 500)
        return number * number

    source = Source(300)
    assert list(Prefetched(source.items(), depth=1, transform=slow_square, workers=2)) == [
        n * n for n in range(300)
    ]
    assert source.closed_on == "export-prefetch"


def test_a_transform_error_is_raised_after_the_items_before_it() -> None:
    def fussy(number: int) -> int:
        if number == 6:
            raise ValueError("cannot route 6")
        return number

    received = []
    with pytest.raises(ValueError, match="cannot route 6"):
        for item in Prefetched(Source(100).items(), depth=1, transform=fussy, workers=2):
            received.append(item)
    assert received == [0, 1, 2, 3, 4, 5]


def test_transforms_in_flight_are_bounded_and_an_early_stop_closes_the_source() -> None:
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def counted(number: int) -> int:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        threading.Event().wait(0.002)
        with lock:
            running["now"] -= 1
        return number

    source = Source(1_000_000)
    prefetched = Prefetched(source.items(), depth=1, transform=counted, workers=2)
    for item in prefetched:
        threading.Event().wait(0.005)  # a slow consumer: the workers wait for it
        if item == 20:
            break
    prefetched.close()
    assert source.closed_on == "export-prefetch"
    assert running["most"] <= 2
    assert source.produced <= 20 + 1 + 3  # the one in hand, one waiting, one being handed over
