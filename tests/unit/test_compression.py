"""The gzip stream of text files: standard gzip at every level, the same bytes on every run."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from airflow_export_provider.engine.runtime.compression import compressor_name, gzip_stream


def compressed(data: bytes, level: int, write_size: int) -> bytes:
    sink = io.BytesIO()
    stream = gzip_stream(sink, level)  # type: ignore[arg-type]
    for offset in range(0, len(data), write_size):
        stream.write(data[offset : offset + write_size])
    stream.close()
    return sink.getvalue()


@pytest.mark.parametrize("level", [1, 3, 6, 9])
def test_every_level_writes_standard_gzip_and_repeats_itself(level: int) -> None:
    rng = random.Random(level)
    data = "".join(rng.choice(["alpha,", "beta,", "Zoë,", "\n", "12345,"]) for _ in range(400_000)).encode()
    first = compressed(data, level, 65_536)
    assert gzip.decompress(first) == data  # Python's own reader: standard gzip
    assert compressed(data, level, 65_536) == first  # re-running a window gives the same object
    assert first[4:8] == b"\x00\x00\x00\x00"  # mtime 0 in the header


def test_fast_levels_use_isal_and_the_rest_zlib() -> None:
    assert compressor_name(1).startswith("ISA-L igzip")
    assert compressor_name(6) == "zlib level 6"
