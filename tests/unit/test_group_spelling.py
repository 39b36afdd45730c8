"""A group spelled from its members' texts equals the group prepared whole (JSON Lines, XML).

Groups without members are never spelled (an event without property columns has none).

Routing relies on it to spell each source property once per batch (``records/spelled_properties``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_export_provider.engine.formats import format_of
from airflow_export_provider.spec import FormatSpec

VALUES = {
    "text": st.one_of(st.none(), st.text(max_size=8)),
    "int": st.one_of(st.none(), st.integers(-(2**62), 2**62)),
    "float": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    "flag": st.one_of(st.none(), st.booleans()),
    "tags": st.one_of(st.none(), st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=3)),
}
TYPES = {"text": pa.string(), "int": pa.int64(), "float": pa.float64(), "flag": pa.bool_(),
         "tags": pa.list_(pa.string())}  # fmt: skip
ROWS = st.lists(st.fixed_dictionaries({}, optional=VALUES), min_size=1, max_size=20)


@pytest.mark.parametrize("fmt", ["jsonl", "xml"])
@settings(max_examples=60, deadline=None)
@given(rows=ROWS, members=st.lists(st.sampled_from(sorted(VALUES)), unique=True, min_size=1, max_size=5))
def test_members_spelled_apart_make_the_same_group(
    fmt: str, rows: list[dict[str, Any]], members: list[str]
) -> None:
    preparation = format_of(FormatSpec(type=fmt)).preparation  # type: ignore[arg-type]
    assert preparation.group_spelling is not None
    fields = [pa.field(f'p {name}<"&', TYPES[name]) for name in members]
    children = [pa.array([row.get(name) for row in rows], TYPES[name]) for name in members]
    struct = pa.StructArray.from_arrays(children, fields=fields)
    whole = preparation.prepare(pa.RecordBatch.from_arrays([struct], names=["eventProps"])).column(0)
    spelling = preparation.group_spelling
    texts = [spelling.member(field.name, child) for field, child in zip(fields, children, strict=True)]
    present = [text for text in texts if text.null_count < len(text)]  # routing leaves out absent ones
    assert spelling.group("eventProps", texts, len(rows)).to_pylist() == whole.to_pylist()
    assert spelling.group("eventProps", present, len(rows)).to_pylist() == whole.to_pylist()
