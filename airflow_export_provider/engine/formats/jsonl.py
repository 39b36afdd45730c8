"""JSON Lines: one JSON object per record, UTF-8, null members left out.

Records are spelled by Arrow kernels (``json_kernels``): ``prepare`` spells each member
as ``,"name":value`` (once per source batch for the members all events share), ``lines``
joins members into objects, and the encoder writes the lines' text as one buffer.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa

from airflow_export_provider.engine.formats.json_kernels import (
    json_member,
    json_members,
    json_objects_of,
    member_prefix,
    text_buffer,
)
from airflow_export_provider.engine.formats.protocol import (
    Format,
    GroupSpelling,
    Preparation,
    StreamingEncoder,
)


def prepare(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Each member's JSON text, ``,"name":value`` or null (see ``formats.protocol.Preparation``)."""
    members = json_members(list(zip(batch.schema.names, batch.columns, strict=True)))
    return pa.RecordBatch.from_arrays(members, names=batch.schema.names)


def member(name: str, values: pa.Array) -> pa.Array:
    """One member of a group, ``,"name":value``, as ``prepare`` spells it inside a struct."""
    return json_member(member_prefix(name), values)


def group(name: str, member_texts: list[pa.Array], rows: int) -> pa.Array:
    """A group (never null) from its members' texts: ``,"name":{…}``."""
    if not member_texts:
        return pa.repeat(pa.scalar(member_prefix(name) + "{}", pa.string()), rows)
    return json_objects_of(member_texts, start=member_prefix(name) + "{")


def lines(member_texts: list[pa.Array]) -> pa.Array:
    """Prepared members (any grouping of them) joined into one JSON object and newline per row."""
    return json_objects_of(member_texts, end="\n")


class JsonLinesEncoder(StreamingEncoder):
    def __init__(self) -> None:
        self._sink: BinaryIO | None = None

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        """``batch`` is one column of :func:`lines`."""
        assert self._sink is not None, "begin() first"
        self._sink.write(text_buffer(batch.column(0)))

    def finish(self) -> None:
        """JSON Lines has no trailer."""


FORMAT = Format(
    name="jsonl",
    extension="jsonl",
    content_type="application/x-ndjson; charset=utf-8",
    preparation=Preparation(
        prepare, lines=lines, rows_at_once=16_384, group_spelling=GroupSpelling(member, group)
    ),
    encoder=lambda spec: JsonLinesEncoder(),
)
