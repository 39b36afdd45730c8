"""The SQL source's spool: batches of different schemas back in order, nothing left in TMPDIR."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_export_provider.engine.sources.spool import BatchSpool, SpoolError


def test_batches_come_back_in_order_with_their_own_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spool = BatchSpool()
    batches = [
        pa.record_batch({"props": pa.array([{"a": 1}, None])}),
        pa.record_batch({"props": pa.array([{"b": "ü" * 1000}] * 3_000)}),
        pa.record_batch({"props": pa.array([], pa.struct([]))}),
    ]
    for batch in batches:
        spool.add(batch)
    assert list(tmp_path.iterdir()) == [], "the spool's file is unlinked from the start"
    for _ in range(2):  # read back as often as needed
        assert [b.to_pylist() for b in spool.batches()] == [b.to_pylist() for b in batches]
    assert spool.rows == 3_002 and 0 < spool.bytes < 100_000  # compressed
    spool.discard()
    assert list(spool.batches()) == []


def test_a_temp_directory_that_cannot_hold_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/tmp")
    with pytest.raises(SpoolError, match="could not spool the window's rows in /nonexistent/tmp"):
        BatchSpool()
