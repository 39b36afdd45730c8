"""Events from a lake of Parquet or JSON Lines files partitioned by UTC date.

Layout: ``<root>/date=YYYY-MM-DD/*.parquet`` (or ``*.jsonl``), where the date is the
UTC date of ``event_time``. A window reads only the partitions it overlaps; in Parquet
files, row groups whose ``event_time`` statistics lie outside the window are skipped
without being read, and the rest are streamed with ``ParquetFile.iter_batches`` one file
and a few row groups at a time: ``pyarrow.dataset`` scanning reads ahead of a slow
consumer and grows memory with the file; ``iter_batches`` in bounded runs stays flat.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.json as pajson
import pyarrow.parquet as pq

from airflow_export_provider.engine.events import EventSchemaError, conform, window_schema
from airflow_export_provider.engine.sources.base import SourceStats
from airflow_export_provider.engine.sources.event_time import EpochUnit, event_times
from airflow_export_provider.engine.sources.rejections import RejectedSink, Rejections
from airflow_export_provider.engine.windows import Window, as_utc
from airflow_export_provider.exceptions import ExportError

_JSONL_CHUNK_BYTES = 16 * 1024 * 1024
logger = logging.getLogger(__name__)
ROW_GROUPS_PER_READ = 8
_PARTITION = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/[^/]*$")
Reach = Callable[[dt.date], tuple[dt.datetime, dt.datetime]]


class LakeFileError(ExportError):
    """A lake file cannot be read; the window fails and publishes nothing."""


def utc_day(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The times a ``date=`` folder should hold, when every window lies inside one UTC day."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    return start, start + dt.timedelta(days=1)


class LakeSource:
    """Streams a window of events from an event lake on any pyarrow filesystem.

    :param time_column: the column holding the event time (read as ``event_time``).
    :param time_unit: the unit of an epoch-number time column.
    :param rejected_rows: the policy per rejection reason (``fail``, ``count`` or ``quarantine``).
    :param reach: the times the windows reading a ``date=`` folder cover (grid windows can
        cross UTC midnight); rows outside it are never exported by any window.
    """

    def __init__(
        self,
        filesystem: pafs.FileSystem,
        root: str,
        *,
        file_format: str,
        batch_size: int,
        time_column: str = "event_time",
        time_unit: EpochUnit | None = None,
        rejected_rows: dict[str, str] | None = None,
        reach: Reach = utc_day,
    ) -> None:
        self._filesystem = filesystem
        self._root = root.rstrip("/")
        self._file_format = file_format
        self._batch_size = batch_size
        self._time_column = time_column
        self._time_unit = time_unit
        self._policies = rejected_rows or {}
        self._reach = reach
        self._quarantine: RejectedSink | None = None
        self.stats = SourceStats()
        self._listed: dict[Window, list[str]] = {}
        # What progress needs of each file's footer, not the footer: pyarrow's parsed footer
        # takes ~50 KB per row group (9.7 MB for a file of 10M events), per file of the window.
        self._row_groups: dict[str, list[RowGroupSpan]] = {}

    def quarantine_into(self, sink: RejectedSink | None) -> None:
        """Rows rejected for a ``quarantine`` reason go to ``sink`` during the next full read."""
        self._quarantine = sink

    def files(self, window: Window) -> list[str]:
        """The lake files of every UTC date the window overlaps, in a stable order."""
        if window not in self._listed:
            self._listed = {window: self._list_files(window)}
            self._row_groups = {}
        return self._listed[window]

    def rows_to_scan(self, window: Window) -> int | None:
        """Rows in the row groups a read of ``window`` decodes, from the Parquet footers.

        The footers were read for the schema already, so this costs no request; JSON Lines
        has no footer and gives ``None``.
        """
        if self._file_format != "parquet":
            return None
        total = 0
        for path in self.files(window):
            if path not in self._row_groups:
                self._file_schema(path)
            total += sum(span.rows for span in self._row_groups[path] if span.may_overlap(window))
        return total

    def _list_files(self, window: Window) -> list[str]:
        last_day = (window.end - dt.timedelta(microseconds=1)).date()
        day = window.start.date()
        paths: list[str] = []
        folders: list[str] = []
        while day <= last_day:
            folders.append(f"{self._root}/date={day.isoformat()}")
            infos = self._filesystem.get_file_info(pafs.FileSelector(folders[-1], allow_not_found=True))
            suffix = f".{self._file_format}"
            paths.extend(
                sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(suffix))
            )
            day += dt.timedelta(days=1)
        if not paths:
            logger.warning(
                "no lake files (*.%s) for window %s in %s; exporting an empty window",
                self._file_format, window.label, ", ".join(folders),
            )  # fmt: skip
        return paths

    def schema(self, window: Window) -> pa.Schema:
        return window_schema(self._file_schema(path) for path in self.files(window))

    def read(self, window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        paths = self.files(window)
        schema = window_schema(self._file_schema(path) for path in paths)
        if columns is not None:
            wanted = {"event_time", *columns}
            schema = pa.schema([field for field in schema if field.name in wanted])
        self.stats = SourceStats(files=len(paths))
        rejections = Rejections(self._policies, self._quarantine if columns is None else None)
        for path in paths:
            day = _partition_day(path)
            # A folder's bad rows are judged once: by the window holding the folder's UTC midnight.
            judged = day is not None and window.start <= utc_day(day)[0] < window.end
            for raw in self._batches(path, window, schema.names):
                self.stats.rows_scanned += raw.num_rows
                canonical, stored = self._canonical(raw, schema, path)
                times = canonical.column(canonical.schema.get_field_index("event_time"))
                if judged and day is not None:
                    self._judge(canonical, stored, self._reach(day), path, rejections)
                in_window = pc.and_(
                    pc.greater_equal(times, pa.scalar(window.start, times.type)),
                    pc.less(times, pa.scalar(window.end, times.type)),
                )
                # Row groups mostly lie wholly inside a window, and filtering copies every column:
                # only filter when needed.
                whole = pc.all(in_window, skip_nulls=False).as_py() is True  # a null time is out
                selected = canonical if whole else canonical.filter(in_window)
                if selected.num_rows:
                    self.stats.rows_in_window += selected.num_rows
                    yield selected
        self.stats.rejected = dict(rejections.counts)
        if columns is None:  # the full read decides; a column scan only looks
            rejections.check(window.label, self.stats.rows_scanned)

    def _batches(self, path: str, window: Window, names: list[str]) -> Iterator[pa.RecordBatch]:
        """The file's batches, any read failure turned into one clear error naming the file."""
        try:
            if self._file_format == "parquet":
                yield from self._read_parquet(path, window, names)
            else:
                yield from self._read_jsonl(path)
        except (pa.ArrowException, OSError) as error:
            raise self._unreadable(path, error) from None

    def _unreadable(self, path: str, error: BaseException) -> LakeFileError:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return LakeFileError(
            f"lake file {path} cannot be read as {self._file_format} ({reason}). The window fails and "
            "publishes nothing: replace the file with a good copy (or, if its events are lost, move it "
            "out of the lake folder), then retry the run"
        )

    def _canonical(
        self, raw: pa.RecordBatch, schema: pa.Schema, path: str
    ) -> tuple[pa.RecordBatch, pa.Array]:
        """The batch in the window's schema, its event time read as the spec says; the times as stored."""
        index = raw.schema.get_field_index("event_time")
        if index < 0:
            return conform(raw, schema), pa.nulls(raw.num_rows)
        stored = raw.column(index)
        times = event_times(stored, self._time_unit, path, self._time_column)
        return conform(raw.set_column(index, "event_time", times), schema), stored

    def _judge(
        self,
        batch: pa.RecordBatch,
        stored: pa.Array,
        reach: tuple[dt.datetime, dt.datetime],
        path: str,
        rejections: Rejections,
    ) -> None:
        """Count (and quarantine, where the spec says so) this folder's rows no window can export."""
        times = batch.column(batch.schema.get_field_index("event_time"))
        masks = {}
        if times.null_count:
            unreadable = pc.and_(pc.is_null(times), pc.is_valid(stored))
            masks["unreadable_event_time"] = unreadable
            masks["null_event_time"] = pc.and_(pc.is_null(times), pc.invert(unreadable))
        outside = pc.or_(
            pc.less(times, pa.scalar(reach[0], times.type)),
            pc.greater_equal(times, pa.scalar(reach[1], times.type)),
        )
        masks["outside_partition"] = pc.fill_null(outside, False)
        for reason, mask in masks.items():
            count = pc.sum(mask).as_py() or 0
            if not count:
                continue
            rejections.add(reason, count, _examples(batch, mask, path))
            rejections.quarantine(reason, path, batch, stored, mask)

    def _file_schema(self, path: str) -> pa.Schema:
        try:
            if self._file_format == "parquet":
                with self._filesystem.open_input_file(path) as handle:
                    parquet = pq.ParquetFile(handle)
                    self._row_groups[path] = row_group_spans(parquet.metadata, self._time_column)
                    schema = parquet.schema_arrow
            else:
                schemas = [table.schema for table in self._jsonl_tables(path)]
                schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
        except (pa.ArrowException, OSError) as error:
            raise self._unreadable(path, error) from None
        return self._time_as_event_time(schema, path)

    def _time_as_event_time(self, schema: pa.Schema, path: str) -> pa.Schema:
        """The file's schema with the declared time column named ``event_time``."""
        if self._time_column == "event_time":
            return schema
        index = schema.get_field_index(self._time_column)
        if index < 0:
            raise EventSchemaError(
                f"{path}: no column {self._time_column!r} (source.event_time.column); it has {schema.names}"
            )
        if "event_time" in schema.names:
            raise EventSchemaError(
                f"{path}: has both 'event_time' and {self._time_column!r}; source.event_time.column "
                "names the one that holds the event time, so rename or drop the other"
            )
        return schema.set(index, schema.field(index).with_name("event_time"))

    def _read_parquet(self, path: str, window: Window, columns: list[str]) -> Iterator[pa.RecordBatch]:
        with self._filesystem.open_input_file(path) as handle:
            # The footer is read again, not taken from the schema read: a file replaced in between
            # must be read as it is now, never through another file's offsets.
            parquet = pq.ParquetFile(handle)
            groups = row_groups_overlapping(parquet.metadata, window, self._time_column)
            stored = {"event_time": self._time_column}
            present = [
                stored.get(name, name)
                for name in columns
                if stored.get(name, name) in parquet.schema_arrow.names
            ]
            # A few row groups at a time: all at once, pyarrow's pre-buffering keeps what it read
            # until the file is done; one per call is slow. Decoded on this thread alone
            # (use_threads=False): the export already routes on two more (docs/performance.md).
            for first in range(0, len(groups), ROW_GROUPS_PER_READ):
                for batch in parquet.iter_batches(
                    batch_size=self._batch_size,
                    row_groups=groups[first : first + ROW_GROUPS_PER_READ],
                    columns=present,
                    use_threads=False,
                ):
                    yield self._named(batch)

    def _read_jsonl(self, path: str) -> Iterator[pa.RecordBatch]:
        for table in self._jsonl_tables(path):
            for batch in table.to_batches(max_chunksize=self._batch_size):
                yield self._named(batch)

    def _named(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The declared time column renamed to ``event_time``."""
        if self._time_column == "event_time":
            return batch
        index = batch.schema.get_field_index(self._time_column)
        if index < 0:
            return batch
        return batch.rename_columns(
            [*batch.schema.names[:index], "event_time", *batch.schema.names[index + 1 :]]
        )

    def _jsonl_tables(self, path: str) -> Iterator[pa.Table]:
        """Parse a JSON Lines file in chunks of whole lines, so memory is bounded by the chunk."""
        with self._filesystem.open_input_stream(path) as handle:
            carry = b""
            while True:
                block = handle.read(_JSONL_CHUNK_BYTES)
                data = carry + block
                if not block:
                    if data.strip():
                        yield pajson.read_json(io.BytesIO(data))
                    return
                cut = data.rfind(b"\n") + 1
                carry = data[cut:]
                if cut:
                    yield pajson.read_json(io.BytesIO(data[:cut]))


def _partition_day(path: str) -> dt.date | None:
    found = _PARTITION.search(path)
    return dt.date.fromisoformat(found.group(1)) if found else None


def _examples(batch: pa.RecordBatch, mask: pa.Array, path: str) -> list[str]:
    """A few rows picked by ``mask``, as ``file: event_name=…, event_time=…`` for messages."""
    picked = batch.filter(mask).slice(0, 3)
    names = picked.column(picked.schema.get_field_index("event_name")).to_pylist()
    times = picked.column(picked.schema.get_field_index("event_time")).to_pylist()
    return [
        f"{path}: event_name={name!r}, event_time={_spelled(time)}"
        for name, time in zip(names, times, strict=True)
    ]


def _spelled(value: Any) -> str:
    return "null" if value is None else value.isoformat() if hasattr(value, "isoformat") else repr(value)


@dataclass(frozen=True)
class RowGroupSpan:
    """A row group's size and the event times its statistics prove it lies between (None: unknown)."""

    rows: int
    first: dt.datetime | None
    last: dt.datetime | None

    def may_overlap(self, window: Window) -> bool:
        """False only when the statistics prove every time is outside the window."""
        if self.first is None or self.last is None:
            return True
        return window.start <= self.last and self.first < window.end


def row_group_spans(metadata: pq.FileMetaData, time_column: str = "event_time") -> list[RowGroupSpan]:
    """Each row group's span, from its event_time statistics.

    Statistics are per leaf column, so ``event_time`` is found by its path: with its field
    index, a struct before it shifts the leaves, and a struct's timestamp member could be
    judged in its place and a group of the window skipped.
    """
    column = _event_time_leaf(metadata, time_column)
    spans = []
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        first, last = _statistic_span(group.column(column).statistics if column is not None else None)
        spans.append(RowGroupSpan(group.num_rows, first, last))
    return spans


def row_groups_overlapping(
    metadata: pq.FileMetaData, window: Window, time_column: str = "event_time"
) -> list[int]:
    """Row groups that may hold events of the window, judged by their event_time statistics."""
    return [
        index for index, span in enumerate(row_group_spans(metadata, time_column)) if span.may_overlap(window)
    ]


def _event_time_leaf(metadata: pq.FileMetaData, time_column: str) -> int | None:
    """Read from a row group, not ``parquet.schema``: that object is a reference cycle in pyarrow."""
    if metadata.num_row_groups == 0:
        return None
    first = metadata.row_group(0)
    return next((i for i in range(first.num_columns) if first.column(i).path_in_schema == time_column), None)


def _statistic_span(statistics: pq.Statistics | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    if statistics is None or not statistics.has_min_max:
        return None, None
    try:
        return _statistic_time(statistics.min), _statistic_time(statistics.max)
    except ValueError:  # nanoseconds that a Python datetime cannot hold: read the group
        return None, None


def _statistic_time(value: object) -> dt.datetime | None:
    """A statistic as a UTC time; None when it is not one (a legacy INT96 column)."""
    return as_utc(value) if isinstance(value, dt.datetime) else None
