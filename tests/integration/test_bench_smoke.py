"""The benchmark's children on tiny data: they export what they claim, and the table adds up.

Numbers are never asserted (machines are noisy); this only keeps ``bench/`` working.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from airflow_export_provider.testing.loopback_s3 import LoopbackS3
from airflow_export_provider.testing.sample_events import write_lake
from tests.conftest import LAKE_DAY, REPO

pytestmark = pytest.mark.integration
sys.path.insert(0, str(REPO / "bench"))
from run import Result, ours_spec, table  # noqa: E402


def child(script: str, *args: str, server: LoopbackS3) -> dict[str, Any]:
    env = {**os.environ, "AIRFLOW_CONN_AWS_DEFAULT": server.connection_uri(), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), *args], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xml", "parquet"])
def test_ceiling_and_ours_export_every_event(
    fmt: str, s3: Any, s3_server: LoopbackS3, tmp_path: Path
) -> None:
    [lake_file] = write_lake(tmp_path / "lake", LAKE_DAY, 1, 3_000)
    s3.create_bucket(Bucket="bench")
    ceiling = child("ceiling.py", fmt, str(lake_file), s3_server.endpoint_url, "bench", f"c/{fmt}",
                    server=s3_server)  # fmt: skip
    assert ceiling["records"] == 3_000
    data = s3.get_object(Bucket="bench", Key=f"c/{fmt}")["Body"].read()
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(data)).num_rows == 3_000
    elif fmt == "csv":
        assert pacsv.read_csv(io.BytesIO(gzip.decompress(data))).num_rows == 3_000
    elif fmt == "jsonl":
        records = [json.loads(line) for line in gzip.decompress(data).splitlines()]
        assert len(records) == 3_000 and all("event_time" in record for record in records)
    else:
        assert len(ET.fromstring(gzip.decompress(data)).findall("Event")) == 3_000
    day = f"{LAKE_DAY.isoformat()}T00:00:00+00:00"
    end = f"{(LAKE_DAY + dt.timedelta(days=1)).isoformat()}T00:00:00+00:00"
    ours = child("ours.py", json.dumps(ours_spec({"path": str(tmp_path / "lake")}, fmt, True)), day, end,
                 server=s3_server)  # fmt: skip
    assert ours["records"] == 3_000 and ours["files"] > 10
    results = [Result("ceiling", fmt, "one file", 3_000, 1.0, 1.0, 10, 1, 100.0),
               Result("ours", fmt, "by event", 3_000, 2.0, 2.0, 10, 40, 100.0)]  # fmt: skip
    assert f"| 3,000 | ours | {fmt} | by event | 2.0 | 1,500 |" in table(results)
    assert table(results).splitlines()[-1].endswith("| 0.50 |  |")
