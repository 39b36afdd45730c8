from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_export_provider.formats.values import json_text, scalar_text, timestamps_as_text

INSTANT = dt.datetime(2025, 3, 1, 4, 0, 0, 155211, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("zone", [None, "UTC"])
def test_utc_timestamps_print_with_z_and_microseconds(zone: str | None) -> None:
    stored = pa.array([INSTANT.replace(tzinfo=None), None], pa.timestamp("us", tz=zone))
    assert timestamps_as_text(stored).to_pylist() == ["2025-03-01T04:00:00.155211Z", None]


@pytest.mark.parametrize(
    ("zone", "text"),
    [
        ("Europe/Berlin", "2025-03-01T05:00:00.155211+01:00"),
        ("+05:30", "2025-03-01T09:30:00.155211+05:30"),
        ("America/Santiago", "2025-03-01T01:00:00.155211-03:00"),
    ],
)
def test_zoned_timestamps_print_local_time_with_the_offset_of_that_instant(zone: str, text: str) -> None:
    stored = pa.array([INSTANT, None], pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=zone))
    printed = timestamps_as_text(stored).to_pylist()
    assert printed == [text, None]
    assert dt.datetime.fromisoformat(text) == INSTANT


def test_timestamps_inside_groups_are_converted_and_null_groups_stay_null() -> None:
    group = pa.array([{"at": INSTANT}, None], pa.struct([("at", pa.timestamp("us", tz="UTC"))]))
    assert timestamps_as_text(group).to_pylist() == [{"at": "2025-03-01T04:00:00.155211Z"}, None]


def test_text_spelling_is_json_spelling() -> None:
    assert [scalar_text(v) for v in (True, False, 1.5, 2**53 + 1)] == [
        "true",
        "false",
        "1.5",
        "9007199254740993",
    ]
    assert scalar_text({"a": None, "b": [1, None], "c": float("nan")}) == '{"b":[1,null]}'
    assert json_text({"é": "李"}) == '{"é":"李"}'
