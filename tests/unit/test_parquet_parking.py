"""Parquet rows parked on local disk while their row group fills: order, size, clean-up."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.engine.formats import parquet
from airflow_export_provider.engine.formats.parquet import ParquetEncoder
from airflow_export_provider.exceptions import ExportError

SCHEMA = pa.schema([("n", pa.int64()), ("name", pa.string())])


def batch(start: int, rows: int) -> pa.RecordBatch:
    numbers = list(range(start, start + rows))
    return pa.record_batch([pa.array(numbers), pa.array([f"event {n}" for n in numbers])], schema=SCHEMA)


def open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


@pytest.fixture
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 1_000)
    return tmp_path


def test_parked_rows_join_their_row_group_in_order(temp_folder: Path) -> None:
    sink = io.BytesIO()
    encoder = ParquetEncoder()
    encoder.begin(sink, SCHEMA)
    for start in range(0, 2_500, 250):
        encoder.write(batch(start, 250))
        encoder.spill()  # as the window's memory budget would, after every batch
        assert encoder.held_bytes() == 0
        assert list(temp_folder.iterdir()) == [], "parked rows have no name in the temp folder"
    assert encoder.parked_bytes() > 0, "the last 500 rows wait on disk for their row group"
    encoder.finish()
    metadata = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [1_000, 1_000, 500]
    assert pq.read_table(io.BytesIO(sink.getvalue())).column("n").to_pylist() == list(range(2_500))


def test_abandoning_a_file_lets_go_of_its_parked_rows(temp_folder: Path) -> None:
    before = open_descriptors()
    encoder = ParquetEncoder()
    encoder.begin(io.BytesIO(), SCHEMA)
    encoder.write(batch(0, 100))
    encoder.spill()
    assert open_descriptors() == before + 2, "one parked file, open for writing and for reading"
    encoder.abandon()
    assert open_descriptors() == before
    assert encoder.parked_bytes() == 0


def test_a_temp_folder_that_cannot_take_the_rows_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone"
    monkeypatch.setattr("tempfile.tempdir", str(missing))
    encoder = ParquetEncoder()
    encoder.begin(io.BytesIO(), SCHEMA)
    encoder.write(batch(0, 10))
    with pytest.raises(ExportError, match=rf"could not park Parquet rows .* in {missing} .*TMPDIR"):
        encoder.spill()
