"""``airflow-export preview``: keys and first records of a window, from the real source, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_export_provider.cli import main
from airflow_export_provider.engine.run import export_window
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for, source_for
from airflow_export_provider.spec import ExportSpec
from tests.conftest import REPO, upload_lake

pytestmark = pytest.mark.integration
DEMO_SPEC = REPO / "example_dags" / "exports" / "demo_events.yaml"


def test_preview_of_the_demo_spec_against_a_local_copy_of_the_lake(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["preview", str(DEMO_SPEC), "--source-path", str(lake), "--records", "3", "--event", "Charged"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "window [2025-03-01T00:00:00+00:00, 2025-03-02T00:00:00+00:00)" in out
    assert (
        "s3://demo-exports/acme/product-events/events/2025-03-01/Charged-2025-03-01-acme-demo_events-" in out
    )
    assert "%2E.%2F..%2Fetc%2Fpasswd" in out  # hostile names are shown as they will be stored
    sample = out.split("first records of event 'Charged' (jsonl):\n")[1].splitlines()
    records = [json.loads(line) for line in sample]
    assert len(records) == 3 and {r["eventName"] for r in records} == {"Charged"}


def test_preview_reads_the_lake_through_the_connection_and_follows_persisted_columns(
    s3: Any, lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_lake(s3, lake)
    s3.create_bucket(Bucket="demo-exports")
    data = yaml.safe_load(DEMO_SPEC.read_text())
    data["format"] = {"type": "csv"}
    data["fields"] = {"schema_evolution": "lock", "events": {"include": ["Search"]}, "profile": "none"}
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(data))
    spec = ExportSpec.from_yaml(spec_path)
    # An earlier run decided Search's columns: lock them to the first two it carries.
    window = Window(spec.schedule.grid.floor(_day(1)), spec.schedule.grid.floor(_day(2)))
    result = export_window(
        spec, window, source=source_for(spec.source), destination=destination_for(spec.destination)
    )
    header = s3.get_object(Bucket="demo-exports", Key=result.files[0].key)["Body"].read()
    before = set(_keys(s3))

    code = main(["preview", str(spec_path), "--window", "2025-03-02", "--records", "2", "--max-rows", "1500"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert (
        "columns follow the export's persisted decisions in s3://demo-exports/acme/product-events/_schema/"
        in out
    )
    assert "stopped at --max-rows" in out
    shown_header = out.split("first records of event 'Search' (csv):\n")[1].splitlines()[0]
    import gzip

    assert gzip.decompress(header).decode().splitlines()[0] == shown_header
    assert set(_keys(s3)) == before, "a preview writes nothing"


def _day(day: int) -> Any:
    import pendulum

    return pendulum.datetime(2025, 3, day)


def _keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="demo-exports").get("Contents", [])]
