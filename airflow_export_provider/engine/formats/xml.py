"""XML: one ``<Event>`` element per record inside ``<Events>``.

Scalar fields are elements (``<eventName>``); each group is a map of
``<entry><key/><value/></entry>`` so that any property name is representable. Characters
XML 1.0 cannot carry at all (most control characters) are replaced by U+FFFD. Null
values are left out; a non-finite float is an empty element.

Records are spelled by Arrow kernels, like JSON Lines (``json_kernels``): text escaped
with ``&amp; &lt; &gt;``, booleans ``true``/``false``, nested values inside a group as
JSON text. ``prepare`` spells each field's element (once per source batch for the fields
all events share), ``events_of`` wraps them in ``<Event>`` lines, and the encoder writes
the lines' text as one buffer.
"""

from __future__ import annotations

from typing import BinaryIO
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.compute as pc

from airflow_export_provider.engine.formats.json_kernels import (
    bytes_found,
    concat,
    join_present,
    json_values,
    nested_as_json_text,
    text_buffer,
)
from airflow_export_provider.engine.formats.protocol import (
    Format,
    GroupSpelling,
    Preparation,
    StreamingEncoder,
)
from airflow_export_provider.engine.formats.values import timestamps_as_text

_NOT_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
_XML_CONTROLS = b"\t\n\r"  # the control characters XML 1.0 allows
_NULL_TEXT = pa.scalar(None, pa.string())


def xml_text(texts: pa.Array) -> pa.Array:
    """Text escaped for element content; characters XML 1.0 forbids become U+FFFD.

    Only the characters the column holds are replaced (``json_kernels.bytes_found``): a
    forbidden one is a control byte other than tab, newline and return, or starts with
    the byte 0xEF (U+FFFE and U+FFFF), and only then is the regex searched.
    """
    texts = texts.cast(pa.string())
    found = bytes_found(texts, b"&<>\xef", below=0x20)
    may_be_forbidden = any(code == 0xEF or (code < 0x20 and code not in _XML_CONTROLS) for code in found)
    if may_be_forbidden and pc.any(pc.match_substring_regex(texts, _NOT_XML)).as_py():
        texts = pc.replace_substring_regex(texts, _NOT_XML, "\ufffd")
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if ord(character) in found:
            texts = pc.replace_substring(texts, character, entity)
    return texts


def value_text(array: pa.Array) -> pa.Array:
    """A value as element text: JSON spelling for booleans and nested values; null stays null."""
    kind = array.type
    if pa.types.is_struct(kind):
        return xml_text(json_values(array))
    if pa.types.is_nested(kind):
        return xml_text(nested_as_json_text(array))
    if pa.types.is_floating(kind):
        return pc.if_else(
            pc.is_finite(array), array.cast(pa.string()), pc.if_else(array.is_valid(), "", _NULL_TEXT)
        )
    if pa.types.is_timestamp(kind):
        return timestamps_as_text(array)
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return xml_text(array)
    return xml_text(array.cast(pa.string()))


def entry_element(name: str, values: pa.Array) -> pa.Array:
    """One member of a group: ``<entry><key>name</key><value>…</value></entry>``, null when absent."""
    return concat(f"<entry><key>{escape(name)}</key><value>", value_text(values), "</value></entry>")


def group_of_entries(name: str, entries: list[pa.Array], rows: int) -> pa.Array:
    """A group (never null) from its entries: ``<name>…</name>``."""
    if not entries:
        return pa.repeat(pa.scalar(f"<{name}></{name}>", pa.string()), rows)
    return concat(f"<{name}>", join_present(entries), f"</{name}>")


def group_element(name: str, group: pa.Array) -> pa.Array:
    entries = [
        entry_element(field.name, member) for field, member in zip(group.type, group.flatten(), strict=True)
    ]
    inner = join_present(entries) if entries else pc.if_else(group.is_valid(), "", _NULL_TEXT)
    element = concat(f"<{name}>", inner, f"</{name}>")
    return pc.if_else(group.is_valid(), element, _NULL_TEXT)


def prepare(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Each field's element, or null when absent (see ``formats.protocol.Preparation``)."""
    elements = [
        group_element(name, column)
        if pa.types.is_struct(column.type)
        else concat(f"<{name}>", value_text(column), f"</{name}>")
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(elements, names=batch.schema.names)


def events_of(elements: list[pa.Array]) -> pa.Array:
    """``<Event>`` elements from prepared columns (any grouping of them), one line each."""
    return join_present(["<Event>", *elements, "</Event>\n"])


def event_elements(batch: pa.RecordBatch) -> pa.Array:
    return events_of(prepare(batch).columns)


class XmlEncoder(StreamingEncoder):
    def __init__(self) -> None:
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink
        sink.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Events>\n')

    def write(self, batch: pa.RecordBatch) -> None:
        """``batch`` is one column of :func:`events_of` lines."""
        assert self._sink is not None, "begin() first"
        self._sink.write(text_buffer(batch.column(0)))

    def finish(self) -> None:
        assert self._sink is not None, "begin() first"
        self._sink.write(b"</Events>\n")


FORMAT = Format(
    name="xml",
    extension="xml",
    content_type="application/xml; charset=utf-8",
    preparation=Preparation(
        prepare,
        lines=events_of,
        rows_at_once=8_192,
        group_spelling=GroupSpelling(entry_element, group_of_entries),
    ),
    encoder=lambda spec: XmlEncoder(),
)
