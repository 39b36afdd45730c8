from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_export_provider.engine.formats.json_kernels import json_objects, nested_as_json_text
from airflow_export_provider.engine.formats.values import json_text, timestamps_as_text

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
    assert [json_text(v) for v in (True, False, 1.5, 2**53 + 1)] == [
        "true",
        "false",
        "1.5",
        "9007199254740993",
    ]
    assert json_text({"a": None, "b": [1, None], "c": float("nan")}) == '{"b":[1,null]}'
    assert json_text({"é": "李"}) == '{"é":"李"}'


_ELEMENTS = {
    "string": (st.text(), pa.string()),
    "int": (st.integers(min_value=-(2**63), max_value=2**63 - 1), pa.int64()),
    "bool": (st.booleans(), pa.bool_()),
}


@given(data=st.data(), kind=st.sampled_from(sorted(_ELEMENTS)))
@settings(max_examples=150, deadline=None)
def test_lists_spelled_by_kernels_equal_the_per_row_json(data: st.DataObject, kind: str) -> None:
    element, arrow_type = _ELEMENTS[kind]
    rows = data.draw(st.lists(st.none() | st.lists(st.none() | element, max_size=5), max_size=12))
    array = pa.array(rows, pa.list_(arrow_type))
    start = data.draw(st.integers(0, len(rows)))
    for candidate in (array, array.slice(start)):
        expected = [None if value is None else json_text(value) for value in candidate.to_pylist()]
        assert nested_as_json_text(candidate).to_pylist() == expected


def test_control_characters_and_other_lists_take_the_per_row_path() -> None:
    strings = pa.array([["tab\there", "ok"]], pa.list_(pa.string()))
    assert nested_as_json_text(strings).to_pylist() == ['["tab\\there","ok"]']
    doubles = pa.array([[1.5, None, 2.0]], pa.list_(pa.float64()))
    assert nested_as_json_text(doubles).to_pylist() == ["[1.5,null,2.0]"]


@given(rows=st.lists(st.fixed_dictionaries({
    "name": st.none() | st.text(),
    "count": st.none() | st.integers(-(2**63), 2**63 - 1),
    "score": st.none() | st.floats(),
    "flag": st.none() | st.booleans(),
    "tags": st.none() | st.lists(st.none() | st.text(), max_size=4),
    "nested": st.none() | st.fixed_dictionaries({"a": st.none() | st.text(), "b": st.none() | st.floats()}),
}), min_size=1, max_size=20))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_records_spelled_by_kernels_read_back_as_the_per_row_json(rows: list[dict[str, object]]) -> None:
    """Same JSON values as ``json_text`` (numbers may be spelled differently: 2 vs 2.0)."""
    import json

    nested = pa.struct([("a", pa.string()), ("b", pa.float64())])
    batch = pa.RecordBatch.from_pylist(rows, schema=pa.schema([
        ("name", pa.string()), ("count", pa.int64()), ("score", pa.float64()), ("flag", pa.bool_()),
        ("tags", pa.list_(pa.string())), ("nested", nested)]))  # fmt: skip
    spelled = json_objects(list(zip(batch.schema.names, batch.columns, strict=True))).to_pylist()
    expected = [json_text(row) for row in batch.to_pylist()]
    assert [json.loads(text) for text in spelled] == [json.loads(text) for text in expected]


_MOMENTS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))


@given(moments=st.lists(st.none() | _MOMENTS, max_size=30))
@settings(max_examples=200, deadline=None)
def test_utc_timestamps_printed_by_kernels_equal_strftime(moments: list[dt.datetime | None]) -> None:
    """The fast path (1970 on) and strftime (any time) print the same text."""
    import pyarrow.compute as pc

    stored = pa.array(moments, pa.timestamp("us", tz="UTC"))
    reference = [None if text is None else text + "Z"
                 for text in pc.strftime(stored, format="%Y-%m-%dT%H:%M:%S").to_pylist()]  # fmt: skip
    assert timestamps_as_text(stored).to_pylist() == reference
