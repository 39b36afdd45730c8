"""Durations, sizes and rates in the logs read as a person says them."""

from __future__ import annotations

import pytest

from airflow_export_provider.engine.logs import human_duration, megabytes, per_second


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4 s"), (12.34, "12.3 s"), (59.94, "59.9 s"), (245, "4 min 05 s"), (3599.4, "59 min 59 s"),
     (7380, "2 h 03 min"), (90_000, "25 h 00 min")],
)  # fmt: skip
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_sizes_and_rates() -> None:
    assert megabytes(52_123_456) == "52.1 MB"
    assert per_second(1_000_000, 12.5, "records") == "80,000 records/s"
    assert per_second(10, 0, "rows") == "10,000,000,000 rows/s"
