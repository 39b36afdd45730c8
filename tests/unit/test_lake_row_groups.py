"""Which Parquet row groups a window reads: judged by event_time's statistics, never wrongly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.sources.lake import LakeSource, row_groups_overlapping
from airflow_export_provider.engine.windows import Window

UTC = dt.timezone.utc
DAY = dt.datetime(2025, 3, 1, tzinfo=UTC)
WINDOW = Window(pendulum.datetime(2025, 3, 1, 8), pendulum.datetime(2025, 3, 1, 16))


def write_hours(
    path: Path, hours: list[float], event_time: pa.DataType, before: pa.Field | None = None
) -> None:
    """One row group per hour, each holding one event at that hour of DAY."""
    times = [DAY + dt.timedelta(hours=h) for h in hours]
    if event_time.tz is None:
        times = [t.replace(tzinfo=None) for t in times]
    columns = {"event_time": pa.array(times, event_time), "event_name": pa.array(["e"] * len(hours))}
    if before is not None:  # a struct whose timestamps lie far outside every window, first in the file
        far = dt.datetime(2020, 1, 1, tzinfo=UTC)
        columns = {before.name: pa.array([{"seen": far, "last": far}] * len(hours), before.type), **columns}
    pq.write_table(pa.table(columns), path, row_group_size=1)


def groups(path: Path) -> list[int]:
    return row_groups_overlapping(pq.ParquetFile(path).metadata, WINDOW)


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", None])
def test_groups_outside_the_window_are_skipped_in_any_unit(tmp_path: Path, unit: str, tz: str | None) -> None:
    path = tmp_path / "lake.parquet"
    write_hours(path, [0, 7.9999, 8, 12, 15.9999, 16, 23], pa.timestamp(unit, tz))
    assert groups(path) == [2, 3, 4], "start included, end excluded, to the file's unit"


def test_statistics_are_read_from_event_time_even_after_a_struct(tmp_path: Path) -> None:
    """Statistics are per leaf: a struct before event_time shifts its index by its members."""
    path = tmp_path / "lake.parquet"
    meta = pa.field(
        "meta", pa.struct([("seen", pa.timestamp("us", "UTC")), ("last", pa.timestamp("us", "UTC"))])
    )
    write_hours(path, [1, 9, 10, 20], pa.timestamp("us", "UTC"), before=meta)
    assert groups(path) == [1, 2]


@pytest.mark.parametrize(
    "options",
    [{"write_statistics": False}, {"use_deprecated_int96_timestamps": True}],
    ids=["no statistics", "legacy INT96"],
)
def test_without_usable_statistics_every_group_is_read(tmp_path: Path, options: dict[str, bool]) -> None:
    path = tmp_path / "lake.parquet"
    far = DAY - dt.timedelta(days=30)  # outside the window: only usable statistics could skip it
    pq.write_table(
        pa.table({"event_time": pa.array([far] * 3, pa.timestamp("ns", "UTC"))}),
        path,
        row_group_size=1,
        **options,
    )
    assert groups(path) == [0, 1, 2]


def test_progress_counts_the_rows_of_the_groups_a_read_decodes(tmp_path: Path) -> None:
    """``rows_to_scan`` (the percentage of a long window) counts from the spans kept at the schema
    read, and a read then decodes exactly those rows, in every file of the window."""
    folder = tmp_path / "date=2025-03-01"
    folder.mkdir()
    for name, hours in {"a": [1, 8, 9, 9, 17], "b": [12, 12, 12, 23]}.items():
        times = [DAY + dt.timedelta(hours=h) for h in hours]
        table = pa.table(
            {"event_time": pa.array(times, pa.timestamp("us", "UTC")), "event_name": ["e"] * len(hours)}
        )
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=2)  # groups mix hours
    source = LakeSource(pafs.LocalFileSystem(), str(tmp_path), file_format="parquet", batch_size=1_000)
    source.schema(WINDOW)
    # a: [1, 8] and [9, 9] overlap 08-16, [17] does not; b: [12, 12] and [12, 23] both do
    assert source.rows_to_scan(WINDOW) == 2 + 2 + 2 + 2
    assert sum(batch.num_rows for batch in source.read(WINDOW)) == 6, "the window's own events"
    assert source.stats.rows_scanned == 8, "the rows counted are the rows decoded"
