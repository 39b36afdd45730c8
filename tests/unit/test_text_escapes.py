"""Escaping text for JSON and XML replaces only the characters a column holds; the result
must be the same text as escaping every value on its own, whatever the column holds."""

from __future__ import annotations

import json
import re
from xml.sax.saxutils import escape

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_export_provider.engine.formats.json_kernels import (
    bytes_found,
    json_member,
    json_objects,
    json_string,
)
from airflow_export_provider.engine.formats.xml import xml_text

# Text rich in what needs escaping: quotes, backslashes, controls, XML specials, U+FFFE/FFFF.
_SPECIAL = st.sampled_from(
    ['"', "\\", "\x00", "\x01", "\t", "\n", "\r", "\x1f", "&", "<", ">", "\ufffe", "\uffff", "\uefff"]
)
_TEXT = st.lists(_SPECIAL | st.characters(codec="utf-8"), max_size=12).map("".join)
_VALUES = st.lists(st.none() | _TEXT, max_size=25)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _columns(values: list[str | None], start: int) -> list[pa.Array]:
    array = pa.array(values, pa.string())
    return [array, array.slice(min(start, len(values))), array.cast(pa.large_string())]


@given(values=_VALUES, start=st.integers(0, 25))
@settings(max_examples=300, deadline=None)
def test_json_strings_are_what_json_dumps_writes(values: list[str | None], start: int) -> None:
    for column in _columns(values, start):
        expected = [None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()]
        assert json_string(column.cast(pa.string())).to_pylist() == expected


@given(values=_VALUES, start=st.integers(0, 25))
@settings(max_examples=300, deadline=None)
def test_xml_text_is_each_value_escaped_on_its_own(values: list[str | None], start: int) -> None:
    for column in _columns(values, start):
        expected = [None if v is None else escape(_NOT_XML.sub("\ufffd", v)) for v in column.to_pylist()]
        assert xml_text(column).to_pylist() == expected


def test_a_null_slot_holding_bytes_only_costs_a_replacement_that_changes_nothing() -> None:
    """Arrow lets a null slot span bytes; they may look like a quote, never hide one."""
    offsets = pa.array([0, 2, 5], pa.int32()).buffers()[1]
    data = pa.py_buffer(b'a"<\x01b')
    validity = pa.array([True, False]).buffers()[1]
    column = pa.Array.from_buffers(pa.string(), 2, [validity, offsets, data])
    assert column.to_pylist() == ['a"', None]
    assert bytes_found(column, b'"<') == b'"<'
    assert json_string(column).to_pylist() == ['"a\\""', None]
    assert xml_text(column).to_pylist() == ['a"', None]


def test_only_the_bytes_present_are_found() -> None:
    column = pa.array(["plain", "tab\there", None, 'quote"d']).slice(1, 2)
    assert bytes_found(column, b'"\\', below=0x20) == b"\t"
    assert bytes_found(pa.array([], pa.string()), b'"', below=0x20) == b""
    assert bytes_found(pa.array([None, None], pa.string()), b'"', below=0x20) == b""


_NAMES = st.lists(st.sampled_from(["a", "{,", '"{,"', ",", "é", "x{"]), min_size=1, max_size=4, unique=True)
_VALUE = st.none() | st.sampled_from(["{,", ',"a":{,', "v"])


@given(names=_NAMES, data=st.data())
@settings(max_examples=200, deadline=None)
def test_objects_are_what_json_dumps_writes_whatever_the_names(names: list[str], data: st.DataObject) -> None:
    """Names and values holding ``{,`` cannot confuse the removal of the first member's comma,
    whether the first member is present in every row or not, at the top or inside a group."""
    inner = pa.struct([(name, pa.string()) for name in names])
    kind = pa.struct([*((name, pa.string()) for name in names), ("group", inner)])
    row = st.fixed_dictionaries({name: _VALUE for name in names})
    record = st.fixed_dictionaries({**{name: _VALUE for name in names}, "group": st.none() | row})
    rows = data.draw(st.lists(record, min_size=1, max_size=8))
    column = pa.array(rows, kind)
    members = [(field.name, child) for field, child in zip(column.type, column.flatten(), strict=True)]
    ordered = column.to_pylist()  # in the struct's member order
    expected = [json.dumps(_present(row), ensure_ascii=False, separators=(",", ":")) for row in ordered]
    assert json_objects(members).to_pylist() == expected
    assert json_member(',"{,":', column).to_pylist() == [',"{,":' + text for text in expected]
    with_nulls = pa.array([*rows, None], kind)
    assert json_member(',"{,":', with_nulls).to_pylist() == [',"{,":' + text for text in expected] + [None]


def _present(record: dict[str, object]) -> dict[str, object]:
    """The record as the export writes it: null members left out, at every depth."""
    return {k: _present(v) if isinstance(v, dict) else v for k, v in record.items() if v is not None}
