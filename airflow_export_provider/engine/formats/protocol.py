"""What a format is: a :class:`Format` object with its preparation step and its encoder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import pyarrow as pa

from airflow_export_provider.spec import FormatSpec


@dataclass(frozen=True)
class GroupSpelling:
    """How a text format spells a group (a struct column) from its members' texts.

    ``prepare`` of a one-column batch holding a struct named ``name`` equals
    ``group(name, [member(field, values) for each member], rows)``, row by row, with a
    member that is absent (null text) adding nothing. Routing uses the split to spell
    each source property once per batch for all events that export it, instead of once
    per event: kernel calls, not rows, set the speed of the text formats
    (docs/performance.md, "JSON Lines").
    """

    member: Callable[[str, pa.Array], pa.Array]
    group: Callable[[str, list[pa.Array], int], pa.Array]


@dataclass(frozen=True)
class Preparation:
    """How a format turns projected records into the columns its encoder writes.

    ``prepare`` maps each column to its prepared column(s) on its own, row by row: a slice
    of a prepared batch is the prepared slice, and columns prepared in groups and put side
    by side are the columns prepared together. So the export prepares the columns every
    event shares (identity, time, profile, device, preferences) once per source batch,
    where kernels work on tens of thousands of rows a call, and per event only its name
    and properties. Text formats spell values here (CSV cells, JSON members, XML
    elements); Parquet keeps the types.

    ``lines``, where the format has them, joins prepared columns (any grouping of them)
    into each record's text, line end included. Routing then hands the encoder one
    ``line`` column, so the whole spelling runs beside the writer, and the prepared
    columns are freed once their lines exist (they would otherwise double the text held).

    ``rows_at_once`` bounds the rows routed together. Kernels on more rows are faster, but
    up to three routed batches are in memory (one written, two being routed), and their
    size is the format's text, so wordier formats route fewer rows at once (docs/performance.md).

    ``pieces_own_rows`` is true when the encoder keeps rows across writes (Parquet holds
    rows for its row groups): each event's rows must then be arrays of their own, as a
    slice would keep the whole source batch alive.

    ``group_spelling``, where the format has one, lets routing spell each event's
    properties from members spelled once per batch (see :class:`GroupSpelling`).
    """

    prepare: Callable[[pa.RecordBatch], pa.RecordBatch]
    lines: Callable[[list[pa.Array]], pa.Array] | None = None
    rows_at_once: int = 32_768
    pieces_own_rows: bool = False
    group_spelling: GroupSpelling | None = None


class RecordEncoder(Protocol):
    """Turns prepared batches (see :class:`Preparation`) of one schema into the bytes of one file.

    ``begin`` writes any header, ``write`` appends records, ``finish`` writes any trailer.
    Encoders never close ``sink``: the caller owns compression and upload.
    """

    def begin(self, sink: BinaryIO, schema: pa.Schema) -> None: ...

    def write(self, batch: pa.RecordBatch) -> None: ...

    def finish(self) -> None: ...

    def held_bytes(self) -> int:
        """Bytes of records accepted but held in memory, not encoded yet (Parquet's row groups)."""
        ...

    def parked_bytes(self) -> int:
        """Bytes of records set aside on local disk by :meth:`spill`, not encoded yet."""
        ...

    def spill(self) -> None:
        """The window writer's memory budget is reached: stop holding records in memory."""
        ...

    def flush(self) -> None:
        """Encode what is held or parked now (the window ends, or the disk budget is reached)."""
        ...

    def abandon(self) -> None:
        """The file is being aborted: end any encoding still in flight, ignoring its errors."""
        ...


class StreamingEncoder:
    """What every text encoder shares: each record is encoded as it is written, so nothing
    is held, parked or encoded in the background."""

    def held_bytes(self) -> int:
        return 0

    def parked_bytes(self) -> int:
        return 0

    def spill(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def abandon(self) -> None:
        pass


@dataclass(frozen=True)
class Format:
    """Everything the export knows about one file format, in one place.

    :param name: the spec's ``format.type``.
    :param extension: the file name's extension before any ``.gz``.
    :param content_type: the object's ``Content-Type`` when it is not gzipped.
    :param preparation: how projected records become the encoder's columns.
    :param encoder: a fresh encoder for one file, given the spec's format section.
    :param one_schema_per_file: every record of a file has the same columns (a CSV header,
        a Parquet schema), so a file holding several events gives each all their columns.
    """

    name: str
    extension: str
    content_type: str
    preparation: Preparation
    encoder: Callable[[FormatSpec], RecordEncoder]
    one_schema_per_file: bool = False

    def file_extension(self, spec: FormatSpec, chosen: str | None = None) -> str:
        """``csv.gz``, ``parquet``…; ``chosen`` replaces the format's own (``json`` for JSON Lines)."""
        extension = chosen or self.extension
        return f"{extension}.gz" if spec.outer_compression == "gzip" else extension

    def object_content_type(self, spec: FormatSpec) -> str:
        return "application/gzip" if spec.outer_compression == "gzip" else self.content_type
