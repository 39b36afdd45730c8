"""The provider inside a real Airflow: DAG parsing, a DAG run through dag.test(), CLI, provider list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_export_provider.testing.demo import DEMO_SPEC_YAML
from tests.conftest import LAKE_DAY, REPO

pytestmark = [pytest.mark.system, pytest.mark.usefixtures("airflow_db")]
EXAMPLES = REPO / "example_dags"


def dagbag(folder: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


def test_every_example_dag_loads_without_import_errors() -> None:
    bag = dagbag(EXAMPLES)
    assert bag.import_errors == {}
    assert {"export__demo_events", "example_export_operator"} <= set(bag.dag_ids)
    demo = bag.get_dag("export__demo_events")
    assert demo.max_active_runs == 1 and "export" in demo.tags


def test_the_demo_spec_and_the_example_yaml_are_the_same() -> None:
    assert (EXAMPLES / "exports" / "demo_events.yaml").read_text() == DEMO_SPEC_YAML


def drop_in_folder(tmp_path: Path, loader: str | None = None) -> Path:
    """A DAGs folder with the YAML loader, the demo export, and three broken definitions."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports_from_yaml.py").write_text(loader or (EXAMPLES / "exports_from_yaml.py").read_text())
    (tmp_path / "exports" / "good.yaml").write_text(DEMO_SPEC_YAML)
    bad = DEMO_SPEC_YAML.replace("export_id: demo_events", "export_id: other").replace(
        "type: jsonl", "type: docx"
    )
    (tmp_path / "exports" / "bad.yaml").write_text(bad)
    (tmp_path / "exports" / "twice.yaml").write_text("export_id: a\naccount_id: x\nexport_id: b\n")
    (tmp_path / "exports" / "latin1.yaml").write_bytes("export_id: caf\xe9\n".encode("latin-1"))
    return tmp_path


def test_a_bad_drop_in_yaml_hides_no_other_export_and_shows_as_a_placeholder_dag(tmp_path: Path) -> None:
    bag = dagbag(drop_in_folder(tmp_path))
    assert bag.import_errors == {}
    assert {"export__demo_events", "export__demo_events__one_time"} <= set(bag.dag_ids), (
        "the good export runs"
    )
    placeholders = {
        dag_id: bag.get_dag(dag_id) for dag_id in bag.dag_ids if dag_id.startswith("export__invalid__")
    }
    assert set(placeholders) == {"export__invalid__bad", "export__invalid__twice", "export__invalid__latin1"}
    bad = placeholders["export__invalid__bad"]
    assert "bad.yaml" in bad.description and "format.type: 'docx' is not allowed" in bad.description
    assert "format.type: 'docx' is not allowed" in bad.doc_md and "invalid-definition" in bad.tags
    assert "duplicate key 'export_id'" in placeholders["export__invalid__twice"].description
    assert "not UTF-8 text: byte 0xe9 at offset 14" in placeholders["export__invalid__latin1"].description
    from airflow_export_provider.version_compat import AirflowFailException

    with pytest.raises(AirflowFailException, match=r"bad\.yaml is invalid(.|\n)*format\.type: 'docx'"):
        bad.get_task("report_invalid_definition").execute({})


def test_strict_loading_makes_any_bad_file_an_import_error_naming_file_and_key(tmp_path: Path) -> None:
    loader = (EXAMPLES / "exports_from_yaml.py").read_text().replace("globals())", "globals(), strict=True)")
    errors = dagbag(drop_in_folder(tmp_path, loader)).import_errors
    assert len(errors) == 1
    message = next(iter(errors.values()))
    assert "bad.yaml: format.type: 'docx' is not allowed" in message and "twice.yaml" in message


def test_the_demo_dag_exports_one_day_through_airflow(s3: Any, lake: Path) -> None:
    s3.create_bucket(Bucket="demo-event-lake")
    s3.create_bucket(Bucket="demo-exports")
    for path in sorted(lake.rglob("*.parquet")):
        s3.upload_file(str(path), "demo-event-lake", "events/" + path.relative_to(lake).as_posix())
    dag = dagbag(EXAMPLES).get_dag("export__demo_events")
    run = dag.test(logical_date=pendulum.datetime(LAKE_DAY.year, LAKE_DAY.month, LAKE_DAY.day, tz="UTC"))
    assert str(run.state) in ("success", "DagRunState.SUCCESS")
    listed = s3.list_objects_v2(Bucket="demo-exports", Prefix="acme/product-events/_manifests/")["Contents"]
    manifest = json.loads(s3.get_object(Bucket="demo-exports", Key=listed[0]["Key"])["Body"].read())
    assert manifest["window"]["start"] == "2025-03-01T00:00:00+00:00"
    assert manifest["totals"]["records"] == manifest["source"]["rows_in_window"] == 20_000
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="demo-exports")["Contents"]}
    assert {entry["key"] for entry in manifest["files"]} <= keys
    event = latest_asset_event("export__demo_events")
    assert event.asset.uri == "s3://demo-exports/acme/product-events/_manifests/demo_events"
    assert event.extra["manifest_key"] == listed[0]["Key"]
    assert event.extra["records"] == manifest["totals"]["records"]
    assert event.extra["files"] == manifest["totals"]["files"]
    assert event.extra["bytes"] == manifest["totals"]["bytes"]
    assert (event.extra["window_start"], event.extra["window_end"]) == (
        manifest["window"]["start"],
        manifest["window"]["end"],
    )
    if hasattr(event, "partition_key"):  # Airflow 3.2+
        assert event.partition_key == f"{manifest['window']['start']}/{manifest['window']['end']}"


def latest_asset_event(asset_name: str) -> Any:
    """The newest event of the named asset, read from the metadata database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    with create_session() as session:
        query = (
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == asset_name).options(joinedload(AssetEvent.asset))
            .order_by(AssetEvent.id.desc()).limit(1)
        )  # fmt: skip
        event = session.scalars(query).one()
        session.expunge(event)
        return event


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("airflow-export")), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env or os.environ.copy(), check=False)


def test_cli_validate_explains_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(DEMO_SPEC_YAML)
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO_SPEC_YAML.replace("every: 24h", "every: 7h"))
    assert "ok — DAG export__demo_events" in cli("validate", str(good)).stdout
    done = cli("validate", str(good), str(bad))
    assert done.returncode == 1 and "schedule.every: '7h' is not a whole divisor of 24" in done.stderr


def test_cli_run_exports_grid_windows_to_a_local_folder(tmp_path: Path, lake: Path) -> None:
    spec = tmp_path / "local.yaml"
    spec.write_text(
        "export_id: local\naccount_id: dev\n"
        f"source: {{path: '{lake}'}}\n"
        f"destination: {{type: local, path: '{tmp_path / 'out'}'}}\n"
        "format: {type: csv}\nschedule: {every: 12h, start_date: 2025-03-01}\n"
    )
    done = cli("run", "--spec", str(spec), "--start", "2025-03-01", "--end", "2025-03-02")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("records") == 2
    manifests = sorted((tmp_path / "out" / "_manifests" / "local" / "2025-03-01").glob("*.json"))
    assert sum(json.loads(m.read_text())["totals"]["records"] for m in manifests) == 20_000
    off_grid = cli("run", "--spec", str(spec), "--start", "2025-03-01T05:00", "--end", "2025-03-02")
    assert off_grid.returncode == 2 and "is not on the export's grid" in off_grid.stderr


def test_the_provider_is_listed_by_airflow() -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run(
        [airflow, "providers", "list"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert "airflow-export-provider" in done.stdout, done.stderr[-2000:]


@pytest.mark.parametrize(
    ("listing", "field", "expected"),
    [
        ("triggers", "class", {"airflow_export_provider.triggers.bucket_access",
                               "airflow_export_provider.triggers.window_complete"}),
        ("notifications", "notification_class_name",
         {"airflow_export_provider.notifications.webhook.ExportWebhookNotifier",
          "airflow_export_provider.notifications.email.ExportEmailNotifier"}),
    ],
)  # fmt: skip
def test_airflow_lists_our_triggers_and_notifiers(listing: str, field: str, expected: set[str]) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run(
        [airflow, "providers", listing, "-o", "json"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {str(entry.get(field)) for entry in json.loads(done.stdout[done.stdout.index("[") :])}
    assert expected <= listed, sorted(listed)


def test_the_provider_info_names_every_sensor_trigger_and_hook_module() -> None:
    import importlib

    from airflow_export_provider.get_provider_info import get_provider_info

    info = get_provider_info()
    for kind in ("operators", "sensors", "hooks", "triggers"):
        modules = [module for entry in info[kind] for module in entry["python-modules"]]
        assert modules, kind
        for module in modules:
            importlib.import_module(module)
    for path in info["notifications"]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_the_timetable_is_registered_once_for_every_airflow_process() -> None:
    from airflow import plugins_manager
    from airflow.serialization.helpers import find_registered_custom_timetable

    from airflow_export_provider.timetables import GridWindowTimetable

    plugins, errors = plugins_manager._get_plugins()
    assert errors == {}
    assert [p.name for p in plugins].count("export_provider") == 1
    path = "airflow_export_provider.timetables.grid.GridWindowTimetable"
    assert find_registered_custom_timetable(path) is GridWindowTimetable


def test_cli_generate_events_writes_a_lake_the_export_reads(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    done = cli("generate-events", "--out", str(tmp_path / "lake"), "--events-per-day", "500", "--days", "2")
    assert done.returncode == 0, done.stderr
    assert "wrote 1,000 events in 2 files" in done.stdout
    files = sorted((tmp_path / "lake").glob("date=*/*.parquet"))
    assert [f.parent.name for f in files] == ["date=2025-03-01", "date=2025-03-02"]
    names = set(pq.read_table(files[0]).column("event_name").to_pylist())
    assert "../../etc/passwd" not in names, "hostile names only on request"
    hostile = cli("generate-events", "--out", str(tmp_path / "hostile"), "--events-per-day", "2000",
                  "--hostile-names")  # fmt: skip
    assert hostile.returncode == 0, hostile.stderr
    [path] = (tmp_path / "hostile").glob("date=*/*.parquet")
    assert "../../etc/passwd" in set(pq.read_table(path).column("event_name").to_pylist())
