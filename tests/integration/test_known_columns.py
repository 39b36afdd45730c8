"""A window whose rows bring nothing new is written with the export's decided columns and
read once; one that brings a new property, event or type is scanned and written again. The
files are the same bytes either way as the scan-first path writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.events import EventSchemaError
from airflow_export_provider.engine.run import (
    decide_columns,
    export_window,
    layout_for,
    schema_store_for,
    write_window,
)
from airflow_export_provider.engine.sources.base import EventSource
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.testing.sample_events import write_lake

DAY_1 = Window(pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2))
DAY_2 = Window(pendulum.datetime(2025, 3, 2), pendulum.datetime(2025, 3, 3))


def spec_for(lake: Path, out: Path, fmt: str, **fields: Any) -> ExportSpec:
    """Text files uncompressed, so their bytes are the records' text itself."""
    file_format = {"type": fmt} if fmt == "parquet" else {"type": fmt, "compression": "none"}
    return ExportSpec.from_mapping({
        "export_id": "known", "account_id": "acme", "source": {"type": "lake", "path": str(lake)},
        "destination": {"type": "local", "path": str(out)}, "format": file_format,
        "schedule": {"every": "24h"}, "fields": fields})  # fmt: skip


def counted(source: EventSource) -> list[Sequence[str] | None]:
    """Every read of ``source`` from now on, by the columns it asked for (None: every column)."""
    reads: list[Sequence[str] | None] = []
    read = source.read

    def counting(window: Window, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        reads.append(columns)
        return read(window, columns)

    source.read = counting  # type: ignore[method-assign]
    return reads


def published(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "events").rglob("*")) if p.is_file()
    }


def scan_first(spec: ExportSpec, window: Window, out: Path) -> dict[str, str]:
    """The window's files as the scan-first path writes them, by key and checksum (not published)."""
    destination = destination_for(spec.destination)
    source = source_for(spec.source)
    layout = layout_for(spec, window)
    decision = decide_columns(spec, window, source, schema_store_for(spec, destination, layout))
    written = write_window(
        spec, window, source, destination, layout, decision, "scan-first", logging.getLogger()
    )
    try:
        return {file.key: file.sha256 for file in written.files}
    finally:
        written.abort()


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_a_rerun_bringing_nothing_new_reads_once_and_writes_the_same_bytes(
    tmp_path: Path, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    write_lake(lake, pendulum.date(2025, 3, 1), 1, 3_000)
    spec = spec_for(lake, tmp_path / "out", fmt)
    destination = destination_for(spec.destination)
    first = export_window(spec, DAY_1, source=source_for(spec.source), destination=destination)
    before = published(tmp_path / "out")
    source = source_for(spec.source)
    reads = counted(source)
    with caplog.at_level(logging.INFO):
        again = export_window(spec, DAY_1, source=source, destination=destination)
    assert reads == [None], "one read of every column, no property scan"
    assert "no separate scan" in caplog.text
    assert published(tmp_path / "out") == before
    assert [(f.key, f.sha256) for f in again.files] == [(f.key, f.sha256) for f in first.files]
    assert again.records == first.records == 3_000


def lake_with_news(root: Path, news: str) -> Path:
    """Two days; on the second 'Search' gains a property, or a new event appears."""
    write_lake(root, pendulum.date(2025, 3, 1), 2, 2_000, seed=5)
    day2 = next((root / "date=2025-03-02").glob("*.parquet"))
    table = pq.read_table(day2)
    names = table.column("event_name").to_pylist()
    props = table.column("properties").combine_chunks()
    gains = news == "property"
    filters = pa.array(
        [f"f{i}" if gains and name == "Search" else None for i, name in enumerate(names)], pa.string()
    )
    widened = pa.StructArray.from_arrays(
        [*props.flatten(), filters],
        fields=[*props.type, pa.field("filters", pa.string())],
        mask=props.is_null(),
    )
    renamed = pa.array(
        ["Brand New" if news == "event" and i % 97 == 0 else name for i, name in enumerate(names)],
        pa.string(),
    )
    table = table.set_column(table.schema.get_field_index("properties"), "properties", widened)
    pq.write_table(table.set_column(table.schema.get_field_index("event_name"), "event_name", renamed), day2)
    return root


@pytest.mark.parametrize(
    ("fmt", "news"), [("parquet", "property"), ("jsonl", "property"), ("parquet", "event")]
)
def test_a_window_bringing_a_new_property_or_event_is_scanned_and_written_with_it(
    tmp_path: Path, fmt: str, news: str, caplog: pytest.LogCaptureFixture
) -> None:
    lake = lake_with_news(tmp_path / "lake", news)
    spec = spec_for(lake, tmp_path / "out", fmt)
    destination = destination_for(spec.destination)
    export_window(spec, DAY_1, source=source_for(spec.source), destination=destination)
    reference = spec_for(lake, tmp_path / "reference", fmt)
    export_window(
        reference,
        DAY_1,
        source=source_for(reference.source),
        destination=destination_for(reference.destination),
    )
    expected = scan_first(reference, DAY_2, tmp_path / "reference")

    source = source_for(spec.source)
    reads = counted(source)
    with caplog.at_level(logging.INFO):
        result = export_window(spec, DAY_2, source=source, destination=destination)
    assert reads[0] is None and reads[1] is not None and reads[2] is None, reads
    assert "scanning its properties and exporting it again" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], "no false failure"
    assert {f.key: f.sha256 for f in result.files} == expected
    assert any("Brand%20New" in f.key for f in result.files) == (news == "event")
    search = next(f for f in result.files if "/Search-" in f.key)
    if fmt == "parquet" and news == "property":
        columns = pq.read_table(tmp_path / "out" / search.key).column("eventProps").type
        assert "filters" in [field.name for field in columns]
    assert len(list((tmp_path / "out").rglob("*.partial"))) == 0, "the first attempt's files are aborted"


def test_a_value_the_locked_columns_cannot_hold_fails_the_window_as_before(tmp_path: Path) -> None:
    """``lock`` keeps a column's type: the known-columns attempt gives way to the scan-first
    path, which reports the value that does not fit; nothing of the window is published."""
    lake = tmp_path / "lake"
    write_lake(lake, pendulum.date(2025, 3, 1), 2, 1_000, seed=3)
    day2 = next((lake / "date=2025-03-02").glob("*.parquet"))
    table = pq.read_table(day2)
    props = table.column("properties").combine_chunks()
    index = props.type.get_field_index("quantity")
    children = props.flatten()
    children[index] = pa.array(
        [None if v is None else f"{v} pcs" for v in children[index].to_pylist()], pa.string()
    )
    fields = [pa.field(f.name, pa.string()) if f.name == "quantity" else f for f in props.type]
    changed = pa.StructArray.from_arrays(children, fields=fields, mask=props.is_null())
    pq.write_table(table.set_column(table.schema.get_field_index("properties"), "properties", changed), day2)
    spec = spec_for(lake, tmp_path / "out", "parquet", schema_evolution="lock")
    destination = destination_for(spec.destination)
    export_window(spec, DAY_1, source=source_for(spec.source), destination=destination)
    with pytest.raises(EventSchemaError, match="do not fit the column's decided type"):
        export_window(spec, DAY_2, source=source_for(spec.source), destination=destination)
    assert not list((tmp_path / "out" / "_manifests").rglob("2025-03-02/*.json"))
    assert not list((tmp_path / "out").rglob("*.partial"))
