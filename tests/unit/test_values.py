from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_export_provider.formats.values import json_text, scalar_text, timestamps_as_text

INSTANT = dt.datetime(2025, 3, 1, 4, 0, 0, 155211, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Berlin", "+05:30"])
def test_timestamps_print_the_same_instant_as_utc_with_microseconds(zone: str | None) -> None:
    stored = pa.array([INSTANT.replace(tzinfo=None), None], pa.timestamp("us"))
    if zone is not None:
        stored = stored.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=zone))
    assert timestamps_as_text(stored).to_pylist() == ["2025-03-01T04:00:00.155211Z", None]


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
