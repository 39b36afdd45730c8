"""A drop-in YAML export with a field selection, run by Airflow: what a warehouse team gets."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import upload_lake
from tests.reference import event_selected, lake_rows
from tests.system.test_schedules import example_dag

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]
COMMERCE = {"events": {"include": "commerce", "categories": {"commerce": [
    "Charged", "Checkout *", "Added To Cart", "Coupon Applied", "Payment Failed"]}}}  # fmt: skip


def test_the_commerce_example_writes_the_selected_columns_per_event(s3: Any, lake3: Path) -> None:
    upload_lake(s3, lake3)
    s3.create_bucket(Bucket="demo-exports")
    dag = example_dag("export__commerce_events")
    assert {task.task_id for task in dag.tasks} == {"check_access", "wait_for_data", "export_window"}
    run = dag.test(logical_date=pendulum.datetime(2025, 3, 2, 12, tz="Europe/Berlin"))
    assert "success" in str(run.state).lower()
    assert {ti.task_id: str(ti.state) for ti in run.get_task_instances()}["wait_for_data"].endswith("success")

    start, end = (
        pendulum.datetime(2025, 3, 2, tz="Europe/Berlin"),
        pendulum.datetime(2025, 3, 3, tz="Europe/Berlin"),
    )
    wanted = Counter(
        r["event_name"] for r in lake_rows(lake3, start, end) if event_selected(r["event_name"], COMMERCE)
    )
    listed = s3.list_objects_v2(Bucket="demo-exports", Prefix="acme/commerce/")["Contents"]
    [manifest_key] = [o["Key"] for o in listed if "/_manifests/" in o["Key"]]
    manifest = json.loads(s3.get_object(Bucket="demo-exports", Key=manifest_key)["Body"].read())
    assert Counter({f["event_name"]: f["records"] for f in manifest["files"]}) == wanted

    for entry in manifest["files"]:
        data = s3.get_object(Bucket="demo-exports", Key=entry["key"])["Body"].read()
        table = pq.read_table(io.BytesIO(data))
        assert table.column_names[:3] == ["eventName", "identity", "eventTime"]
        assert "deviceInfo" not in table.column_names
        assert table.schema.field("identity").type == pa.struct([("userId", pa.string()), ("id", pa.string()),
                                                                 ("idType", pa.string())])  # fmt: skip
        assert table.schema.field("eventTime").type == pa.timestamp("us", tz="Europe/Berlin")
        assert [f.name for f in table.schema.field("profile").type] == ["plan", "city"]
        assert [f.name for f in table.schema.field("commPrefs").type] == ["email", "push"]
        if entry["event_name"] == "Charged":
            assert set(table.column("eventName").to_pylist()) == {"purchase"}
            assert [f.name for f in table.schema.field("eventProps").type] == ["revenue", "currency", "sku"]
        else:
            assert set(table.column("eventName").to_pylist()) == {entry["event_name"]}
    stored = json.loads(
        s3.get_object(Bucket="demo-exports", Key="acme/commerce/_schema/commerce_events.json")["Body"].read()
    )
    assert stored["evolution"] == "lock"
