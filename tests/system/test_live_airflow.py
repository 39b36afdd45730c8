"""Backfills against a running Airflow: scheduler, DAG processor, triggerer and API server.

The export DAG comes from a drop-in YAML; backfills are created through the REST API
exactly as the UI's Trigger → Backfill dialog does; the bucket in the loopback S3 API
must then hold exactly the grid windows of the ranges, each once, reconciled with the
lake record by record, and an overlapping reprocessing backfill must rewrite the same
objects byte for byte instead of adding any.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.metadata
import json
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
import yaml

from airflow_export_provider.engine.lease import LeaseHolder, WindowLease
from airflow_export_provider.engine.run import layout_for
from airflow_export_provider.engine.windows import Window
from airflow_export_provider.hooks.connections import destination_for
from airflow_export_provider.spec import ExportSpec
from airflow_export_provider.testing.loopback_s3 import LoopbackS3
from tests.conftest import REPO, upload_lake
from tests.live_airflow import LiveAirflow, live_airflow
from tests.postgres import Postgres
from tests.receivers import WebhookReceiver, webhook_receiver
from tests.reference import expected_records, sort_key

pytestmark = [pytest.mark.system, pytest.mark.live]
DAG_ID = "export__live_events"
CONSUMER_ID = f"{DAG_ID}__consumer"
AIRFLOW_VERSION = tuple(int(part) for part in importlib.metadata.version("apache-airflow").split(".")[:2])
PREFIX = "acme/live/"
LIVE_SPEC = """\
export_id: live_events
account_id: acme
source: {type: lake, path: s3://demo-event-lake/events}
destination: {type: s3, bucket: demo-exports, prefix: acme/live}
layout: {folders: [date, event_name]}
format: {type: jsonl, compression: gzip}
schedule: {every: 12h, timezone: UTC}
one_time: {max_days_back: 3650}
alerts: {deadline: 1h}  # every backfilled 2025 window misses it: the callback must stay silent
"""


# Two exports whose bucket is missing: one gets it during the wait (deferrable, in the
# triggerer), one never does (reschedule mode, a short grace period). Reschedule pokes
# are kept 10 s apart: at 2 s, the LocalExecutor's report of the previous poke could
# arrive after the next was queued, and Airflow then failed the try ("finished with state
# success, but the task instance's state attribute is queued").
WAIT_SPEC = """\
export_id: live_wait
account_id: acme
source: {type: lake, path: s3://demo-event-lake/events}
destination: {type: s3, bucket: later-bucket, prefix: acme/wait}
schedule: {every: 24h, timezone: UTC}
one_time: {enabled: false}
access: {check_every: 2s, alert_after: [0s, 4s], grace: 10m}
alerts: {webhook: {conn_id: export_webhook}}
"""
STOP_SPEC = """\
export_id: live_stop
account_id: acme
source: {type: lake, path: s3://demo-event-lake/events}
destination: {type: s3, bucket: never-bucket, prefix: acme/stop}
schedule: {every: 24h, timezone: UTC, retry_delay: 10s}
one_time: {enabled: false}
access: {check_every: 10s, alert_after: [0s], grace: 25s, deferrable: false, airflow_api_conn_id: no_rest_api}
alerts: {webhook: {conn_id: export_webhook}}
"""


@pytest.fixture(scope="module")
def webhooks() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def airflow(
    s3_server: LoopbackS3,
    lake3: Path,
    tmp_path_factory: pytest.TempPathFactory,
    webhooks: WebhookReceiver,
    postgres: Postgres,
) -> Iterator[LiveAirflow]:
    urllib.request.urlopen(urllib.request.Request(f"{s3_server.endpoint_url}/moto-api/reset", method="POST"))
    s3 = s3_server.client()
    upload_lake(s3, lake3)
    s3.create_bucket(Bucket="demo-exports")  # type: ignore[attr-defined]
    root = tmp_path_factory.mktemp("live")
    dags = root / "dags"
    (dags / "exports").mkdir(parents=True)
    shutil.copy(REPO / "example_dags" / "exports_from_yaml.py", dags)
    shutil.copy(REPO / "example_dags" / "example_window_consumer.py", dags)
    (dags / "exports" / "live_events.yaml").write_text(LIVE_SPEC)
    (dags / "exports" / "live_wait.yaml").write_text(WAIT_SPEC)
    (dags / "exports" / "live_stop.yaml").write_text(STOP_SPEC)
    (dags / "exports" / "broken.yaml").write_text("export_id: broken\naccount_id: acme\nexport_id: again\n")
    extra = {
        "AIRFLOW_CONN_EXPORT_WEBHOOK": json.dumps(
            {"conn_type": "http", "host": webhooks.url, "password": "whsec"}
        ),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
    }
    postgres.create_database("airflow_live")
    with live_airflow(root / "home", dags, extra, postgres.url("airflow_live")) as live:
        # Backfills need a database Airflow supports under concurrent writers (not SQLite).
        assert {"dag_run", "backfill"} <= postgres.tables("airflow_live")
        live.wait_for_dag(DAG_ID)
        live.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        live.wait_for_dag(CONSUMER_ID)
        live.request("PATCH", f"/api/v2/dags/{CONSUMER_ID}", {"is_paused": False})
        yield live


def backfill(live: LiveAirflow, start: str, end: str, reprocess: str) -> dict[str, Any]:
    body = {
        "dag_id": DAG_ID,
        "from_date": start,
        "to_date": end,
        "max_active_runs": 2,
        "reprocess_behavior": reprocess,
        "run_backwards": False,
    }
    created = live.request("POST", "/api/v2/backfills", body)

    def finished() -> Any:
        state = live.request("GET", f"/api/v2/backfills/{created['id']}")
        return state if state.get("completed_at") else None

    return dict(live.wait_for(f"backfill {start}..{end}", finished, timeout=420))


def bucket(s3: Any) -> dict[str, dict[str, Any]]:
    listed = s3.list_objects_v2(Bucket="demo-exports", Prefix=PREFIX).get("Contents", [])
    return {item["Key"]: item for item in listed if "2025-03" in item["Key"]}


def manifests(s3: Any, objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for key in objects:
        if "/_manifests/" in key:
            manifest = json.loads(s3.get_object(Bucket="demo-exports", Key=key)["Body"].read())
            assert manifest["window"]["start"] not in found, f"two manifests for {manifest['window']}"
            found[manifest["window"]["start"]] = manifest
    return found


def reconcile(s3: Any, lake: Path, found: dict[str, dict[str, Any]]) -> int:
    total = 0
    for manifest in found.values():
        start, end = (pendulum.parse(manifest["window"][k]) for k in ("start", "end"))
        records = []
        for entry in manifest["files"]:
            data = gzip.decompress(s3.get_object(Bucket="demo-exports", Key=entry["key"])["Body"].read())
            records.extend(json.loads(line) for line in data.decode().splitlines())
        assert sorted(records, key=sort_key) == expected_records(lake, start, end), manifest["window"]
        total += len(records)
    return total


def window_starts(*pairs: tuple[int, int]) -> list[str]:
    return [pendulum.datetime(2025, 3, day, hour, tz="UTC").isoformat() for day, hour in pairs]


def export_center(airflow: LiveAirflow) -> dict[str, dict[str, Any]]:
    """The Export center's JSON, by export id, as the signed-in admin sees it."""
    return {row["export_id"]: row for row in airflow.request("GET", "/export-center/api/exports")}


def test_the_export_center_lists_every_export_and_refuses_strangers(airflow: LiveAirflow) -> None:
    for path in (
        "/export-center/",
        "/export-center/api/exports",
        "/export-center/exports/export__live_events",
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(airflow.base_url + path, timeout=30)
        assert refused.value.code == 401, path
    rows = export_center(airflow)
    assert set(rows) == {"live_events", "live_wait", "live_stop"}, "the broken definition is not an export"
    events = rows["live_events"]
    assert events["status"] == "Pending" and events["last_delivered"] is None, "no window has run yet"
    assert (events["account_id"], events["format"]) == ("acme", "jsonl")
    assert events["destination"] == "s3://demo-exports/acme/live"
    assert events["schedule"] == "every 12 hours from 00:00 UTC"


def test_backfills_from_the_rest_api_export_exactly_the_grid_windows_once(
    airflow: LiveAirflow, s3_server: LoopbackS3, lake3: Path
) -> None:
    s3: Any = s3_server.client()
    dry = airflow.request(
        "POST",
        "/api/v2/backfills/dry_run",
        {"dag_id": DAG_ID, "from_date": "2025-03-01T00:00:00Z", "to_date": "2025-03-02T00:00:00Z"},
    )
    planned = sorted(pendulum.parse(run["logical_date"]).isoformat() for run in dry["backfills"])
    assert planned == window_starts((1, 0), (1, 12), (2, 0))

    first = backfill(airflow, "2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z", "none")
    runs = [r for r in airflow.dag_runs(DAG_ID) if r["run_type"] == "backfill"]
    logical_dates = sorted(pendulum.parse(r["logical_date"]).isoformat() for r in runs)
    assert logical_dates == window_starts((1, 0), (1, 12), (2, 0))
    assert {r["state"] for r in runs} == {"success"}, runs
    # Airflow names backfill runs after the window's end; the note names the window itself
    assert sorted(r["note"] for r in runs) == [
        "Window 2025-03-01 00:00 → 2025-03-01 12:00 (UTC)",
        "Window 2025-03-01 12:00 → 2025-03-02 00:00 (UTC)",
        "Window 2025-03-02 00:00 → 2025-03-02 12:00 (UTC)",
    ]
    objects = bucket(s3)
    found = manifests(s3, objects)
    assert sorted(found) == window_starts((1, 0), (1, 12), (2, 0))
    data_keys = {k for k in objects if "/_manifests/" not in k}
    assert data_keys == {entry["key"] for m in found.values() for entry in m["files"]}
    assert reconcile(s3, lake3, found) == len(
        expected_records(lake3, pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 2, 12))
    )
    before = {k: objects[k]["ETag"] for k in data_keys}
    assert first["reprocess_behavior"] == "none"

    # overlapping, reprocessing the completed windows of 2 March: same keys, same bytes, nothing extra
    backfill(airflow, "2025-03-02T00:00:00Z", "2025-03-03T00:00:00Z", "completed")
    objects = bucket(s3)
    found = manifests(s3, objects)
    assert sorted(found) == window_starts((1, 0), (1, 12), (2, 0), (2, 12), (3, 0))
    data_keys = {k for k in objects if "/_manifests/" not in k}
    assert data_keys == {entry["key"] for m in found.values() for entry in m["files"]}
    assert {k: objects[k]["ETag"] for k in before} == before
    assert reconcile(s3, lake3, found) == len(
        expected_records(lake3, pendulum.datetime(2025, 3, 1), pendulum.datetime(2025, 3, 3, 12))
    )
    march_2 = window_starts((2, 0))[0]
    reprocessed = [
        r for r in airflow.dag_runs(DAG_ID) if pendulum.parse(r["logical_date"]).isoformat() == march_2
    ]
    assert len(reprocessed) == 1 and reprocessed[0]["state"] == "success"
    assert pendulum.parse(reprocessed[0]["start_date"]) > pendulum.parse(first["completed_at"])

    # backfills never start the recurring schedule: the next scheduled window is today's, not March 2025's
    dag = airflow.request("GET", f"/api/v2/dags/{DAG_ID}")
    next_start = pendulum.parse(dag["next_dagrun_data_interval_start"])
    assert next_start >= pendulum.now("UTC").start_of("day").subtract(days=1)
    assert dag["timetable_description"] == "every 12 hours from 00:00 UTC"


def test_the_example_consumer_runs_once_per_delivered_window_and_loads_it(airflow: LiveAirflow) -> None:
    """Every committed window is one asset event; the consumer runs per event and loads the files."""
    asset = next(a for a in airflow.request("GET", "/api/v2/assets")["assets"] if a["name"] == DAG_ID)
    events = airflow.request("GET", f"/api/v2/assets/events?asset_id={asset['id']}&limit=100")["asset_events"]
    # the first test's backfills: three windows, then three more of which 2 March 00:00 again
    assert sorted(e["extra"]["window_start"] for e in events) == sorted(
        [*window_starts((1, 0), (1, 12), (2, 0)), *window_starts((2, 0), (2, 12), (3, 0))]
    ), "one event per committed window, a re-exported window again"
    for event in events:
        extra = event["extra"]
        assert extra["manifest_key"].startswith("acme/live/_manifests/live_events/")
        assert extra["records"] > 0 and extra["files"] > 0 and extra["bytes"] > 0

    def consumed() -> Any:
        runs = [r for r in airflow.dag_runs(CONSUMER_ID) if r["state"] in ("success", "failed")]
        return runs if len(runs) >= len(events) else None

    runs = airflow.wait_for("a consumer run per delivered window", consumed, timeout=240)
    assert {r["state"] for r in runs} == {"success"}, runs
    assert len(runs) == len(events), "never two windows in one run, never a window twice in one run"
    loaded = []
    for run in runs:
        reply = airflow.request(
            "GET",
            f"/api/v2/dags/{CONSUMER_ID}/dagRuns/{run['dag_run_id']}/taskInstances/"
            "load_delivered_windows/xcomEntries/return_value",
        )
        value = reply["value"]
        [window] = json.loads(value) if isinstance(value, str) else value
        loaded.append(window)
        if AIRFLOW_VERSION >= (3, 2):  # the run is the window's partition
            assert run["partition_key"] == f"{window['window_start']}/{window['window_end']}"
    by_window = {(e["extra"]["window_start"], e["extra"]["records"]) for e in events}
    assert {(w["window_start"], w["records"]) for w in loaded} == by_window


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / ".test-artifacts"))


@contextlib.contextmanager
def logged_in_page(airflow: LiveAirflow) -> Iterator[Any]:
    """A headless Chromium page logged into the live Airflow UI as ``admin``."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is missing: .ci/test.sh installs the Debian package 'chromium'"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, timezone_id="UTC")
            page.goto(airflow.base_url + "/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", airflow.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            yield page
        finally:
            browser.close()


def test_a_backfill_started_from_the_airflow_ui_exports_its_window(
    airflow: LiveAirflow, s3_server: LoopbackS3, lake3: Path
) -> None:
    before = {b["id"] for b in airflow.request("GET", f"/api/v2/backfills?dag_id={DAG_ID}")["backfills"]}
    with logged_in_page(airflow) as page:
        page.goto(f"{airflow.base_url}/dags/{DAG_ID}")
        page.get_by_role("button", name="Trigger").first.click()
        page.get_by_text("Backfill", exact=True).first.click()
        dialog = page.locator("[role=dialog]:has-text('Run Backfill')").last
        for index in (0, 1):  # From and To: the one 12:00 window of 3 March
            dialog.locator("[data-testid=datetime-input]").nth(index).click()
            picker = page.locator("[data-scope=popover][data-part=content][data-state=open]").last
            picker.locator("input[placeholder='YYYY/MM/DD']").fill("2025/03/03")
            picker.locator("input[placeholder='HH:mm']").fill("12:00")
            picker.locator("input[placeholder='HH:mm']").press("Enter")
            if picker.is_visible():
                page.keyboard.press("Escape")
        dialog.get_by_text("1 run will be triggered").wait_for()
        page.screenshot(path=str(ARTIFACTS / "backfill-dialog.png"))
        dialog.get_by_role("button", name="Run Backfill").click()
        dialog.wait_for(state="hidden", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "after-backfill.png"))

    def created() -> Any:
        backfills = airflow.request("GET", f"/api/v2/backfills?dag_id={DAG_ID}")["backfills"]
        new = [b for b in backfills if b["id"] not in before]
        return new[0] if new and new[0].get("completed_at") else None

    done = airflow.wait_for("the backfill started in the UI", created, timeout=300)
    assert pendulum.parse(done["from_date"]) == pendulum.datetime(2025, 3, 3, 12)
    s3: Any = s3_server.client()
    found = manifests(s3, bucket(s3))
    window = window_starts((3, 12))[0]
    assert window in found
    assert reconcile(s3, lake3, {window: found[window]}) == len(
        expected_records(lake3, pendulum.datetime(2025, 3, 3, 12), pendulum.datetime(2025, 3, 4))
    )


def test_a_broken_definition_is_shown_as_its_own_dag_and_hides_no_other(airflow: LiveAirflow) -> None:
    placeholder = airflow.wait_for_dag("export__invalid__broken")
    assert (
        "broken.yaml" in placeholder["description"]
        and "duplicate key 'export_id'" in placeholder["description"]
    )
    assert "invalid-definition" in {tag["name"] for tag in placeholder["tags"]}
    errors = airflow.request("GET", "/api/v2/importErrors")["import_errors"]
    assert errors == [], "the loader file itself imports; only the broken definition is marked"
    assert airflow.request("GET", f"/api/v2/dags/{DAG_ID}")["is_paused"] is False, "the other exports run"


def task_logs(airflow: LiveAirflow, dag_id: str) -> list[str]:
    return [
        path.read_text(errors="replace") for path in (airflow.home / "logs").glob(f"dag_id={dag_id}/**/*.log")
    ]


def task_log_tails(airflow: LiveAirflow, dag_id: str) -> str:
    """The end of every task log of ``dag_id`` and its one-time DAG, for a failing wait's message."""
    paths = sorted(path for path in (airflow.home / "logs").rglob("*.log") if f"dag_id={dag_id}" in str(path))
    return "task logs:\n" + "\n".join(
        f"{path}:\n{path.read_text(errors='replace')[-1500:]}" for path in paths
    )


def test_the_recurring_and_the_one_time_export_of_one_window_take_turns(
    airflow: LiveAirflow, s3_server: LoopbackS3, lake3: Path
) -> None:
    """Both DAGs export 2 March 12:00 at the same time: one waits for the other, both succeed, once."""
    spec = ExportSpec.from_mapping(yaml.safe_load(LIVE_SPEC))
    window = Window(pendulum.datetime(2025, 3, 2, 12), pendulum.datetime(2025, 3, 3))
    lease_key = layout_for(spec, window).lease_key()
    # A stand-in writer holds the window until both runs are inside their export task.
    stand_in = WindowLease(destination_for(spec.destination), lease_key, window.label,
                           LeaseHolder.here("the test's stand-in writer"))  # fmt: skip
    one_time_dag = f"{DAG_ID}__one_time"
    with stand_in:
        day = {"start": "2025-03-02", "end": "2025-03-02"}
        one_time = airflow.request(
            "POST", f"/api/v2/dags/{one_time_dag}/dagRuns", {"logical_date": None, "conf": day}
        )
        recurring = airflow.request("POST", "/api/v2/backfills", {
            "dag_id": DAG_ID, "from_date": "2025-03-02T12:00:00Z", "to_date": "2025-03-02T12:00:00Z",
            "reprocess_behavior": "completed", "max_active_runs": 1, "run_backwards": False})  # fmt: skip

        def both_waiting() -> bool:
            state = airflow.request("GET", f"/api/v2/dags/{one_time_dag}/dagRuns/{one_time['dag_run_id']}")
            assert state["state"] != "failed", _task_states(airflow, one_time_dag, one_time["dag_run_id"])
            return all(
                any(
                    "the test's stand-in writer" in log and "waiting for it" in log
                    for log in task_logs(airflow, d)
                )
                for d in (DAG_ID, one_time_dag)
            )

        try:
            airflow.wait_for("both DAGs to wait for the window's lease", both_waiting, timeout=240)
        except AssertionError as error:
            raise AssertionError(f"{str(error)[:3000]}\n{task_log_tails(airflow, DAG_ID)}") from None

    def finished() -> Any:
        run = airflow.request("GET", f"/api/v2/dags/{one_time_dag}/dagRuns/{one_time['dag_run_id']}")
        backfill = airflow.request("GET", f"/api/v2/backfills/{recurring['id']}")
        return (
            (run, backfill)
            if run["state"] in ("success", "failed") and backfill.get("completed_at")
            else None
        )

    run, _ = airflow.wait_for("both exports of the window", finished, timeout=300)
    assert run["state"] == "success"
    assert run["note"] == "One-time export from 2025-03-02 through 2025-03-02"
    backfill_runs = [r for r in airflow.dag_runs(DAG_ID) if r["run_type"] == "backfill"
                     and pendulum.parse(r["logical_date"]) == window.start]  # fmt: skip
    assert [r["state"] for r in backfill_runs] == ["success"]
    s3: Any = s3_server.client()
    objects = bucket(s3)
    found = manifests(s3, objects)  # one manifest per window, or it fails
    assert not [key for key in objects if "/_leases/" in key or "/_commits/" in key]
    data_keys = {k for k in objects if "/_" not in k}
    assert data_keys == {entry["key"] for m in found.values() for entry in m["files"]}, "no duplicates"
    day = {start: found[start] for start in window_starts((2, 0), (2, 12))}
    assert reconcile(s3, lake3, day) == len(
        expected_records(lake3, pendulum.datetime(2025, 3, 2), pendulum.datetime(2025, 3, 3))
    )


def test_the_one_time_trigger_form_and_an_export_log_read_well_in_the_ui(airflow: LiveAirflow) -> None:
    """Screenshots for a person to look at, with the texts they must show checked."""
    runs = [r for r in airflow.dag_runs(DAG_ID) if r["run_type"] == "backfill" and r["state"] == "success"]
    assert runs, "an earlier test backfills the export"
    run = runs[0]
    with logged_in_page(airflow) as page:
        page.goto(f"{airflow.base_url}/dags/{DAG_ID}__one_time")
        page.get_by_role("button", name="Trigger").first.click()
        form = page.locator("[role=dialog]").last
        form.get_by_text("First day", exact=True).wait_for()
        form.get_by_text("Last day", exact=True).wait_for()
        form.get_by_text("The Logical date above is not used").wait_for()
        page.screenshot(path=str(ARTIFACTS / "one-time-trigger-form.png"))
        page.keyboard.press("Escape")

        page.goto(f"{airflow.base_url}/dags/{DAG_ID}/runs/{run['dag_run_id']}/tasks/export_window")
        page.get_by_text("exported in").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "export-task-log.png"))
        log_text = page.locator("body").inner_text()

        page.goto(f"{airflow.base_url}/dags/{DAG_ID}/runs/{run['dag_run_id']}")
        page.get_by_text(run["note"]).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "export-run-note.png"))
    assert "wrote " in log_text and "records into" in log_text and "manifest " in log_text


def _task_states(airflow: LiveAirflow, dag_id: str, run_id: str) -> dict[str, str]:
    reply = airflow.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    return {ti["task_id"]: ti.get("state") for ti in reply["task_instances"]}


def test_a_run_waits_for_its_bucket_in_the_triggerer_alerts_and_completes_once_fixed(
    airflow: LiveAirflow, s3_server: LoopbackS3, webhooks: WebhookReceiver
) -> None:
    dag_id = "export__live_wait"
    airflow.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    airflow.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": "2025-03-02T00:00:00Z"})
    alerts = webhooks.wait_for("waiting_for_access", count=2, export_id="live_wait", timeout=90)
    assert alerts[0].json["error"]["class"] == "BucketNotFound"
    assert "there is no bucket named 'later-bucket'" in alerts[0].json["error"]["message"]
    [run] = airflow.dag_runs(dag_id)
    assert _task_states(airflow, dag_id, run["dag_run_id"])["check_access"] == "deferred"
    from airflow_export_provider.cli.status import run_status

    assert run_status(run["state"], _task_states(airflow, dag_id, run["dag_run_id"])) == "waiting_for_access"

    # A restart of the scheduler and the triggerer while the run waits resends nothing:
    # the trigger starts again, and the wait remembers which alerts it has sent.
    airflow.restart("scheduler")
    airflow.restart("triggerer")
    time.sleep(20)
    assert airflow.dag_runs(dag_id)[0]["state"] == "running"

    s3: Any = s3_server.client()
    s3.create_bucket(Bucket="later-bucket")

    def finished() -> Any:
        [current] = airflow.dag_runs(dag_id)
        return current if current["state"] in ("success", "failed") else None

    done = airflow.wait_for("the waiting run to finish", finished, timeout=240)
    assert done["state"] == "success", _task_states(airflow, dag_id, run["dag_run_id"])
    completed = webhooks.wait_for("completed", export_id="live_wait")[0].json
    assert completed["window"]["start"] == done["data_interval_start"].replace("Z", "+00:00")
    assert webhooks.wait_for("started", export_id="live_wait")
    assert s3.list_objects_v2(Bucket="later-bucket", Prefix="acme/wait/_manifests/")["KeyCount"] == 1
    sent = [d.json for d in webhooks.deliveries if d.json.get("export_id") == "live_wait"]
    assert sorted(a["status"] for a in sent) == [
        "completed",
        "started",
        "waiting_for_access",
        "waiting_for_access",
    ]
    keys = [a["dedupe_key"] for a in sent]
    assert len(set(keys)) == len(keys), "every alert once, across the restart"


def test_access_never_fixed_stops_the_export_pauses_the_dag_and_fails_the_run(
    airflow: LiveAirflow,
    webhooks: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dag_id = "export__live_stop"
    airflow.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    airflow.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": "2025-03-02T00:00:00Z"})
    assert webhooks.wait_for("waiting_for_access", export_id="live_stop", timeout=90)
    stopped = webhooks.wait_for("stopped", export_id="live_stop", timeout=180)[0].json
    assert stopped["error"]["class"] == "BucketNotFound"

    def failed() -> Any:
        runs = airflow.dag_runs(dag_id)
        return runs[0] if runs and runs[0]["state"] == "failed" else None

    run = airflow.wait_for("the stopped run to fail", failed, timeout=120)
    states = _task_states(airflow, dag_id, run["dag_run_id"])
    assert states["check_access"] == "failed" and states["export_window"] == "upstream_failed"

    # Paused by the scheduler's listener as it failed the run: no REST connection exists.
    assert airflow.request("GET", f"/api/v2/dags/{dag_id}")["is_paused"] is True
    entries = airflow.request("GET", f"/api/v2/eventLogs?dag_id={dag_id}&event=paused")["event_logs"]
    [entry] = [e for e in entries if e["owner"] == "export-provider"]
    assert "export stopped: bucket does not exist for" in entry["extra"]
    from airflow_export_provider.cli.status import run_status

    assert run_status(run["state"], states) == "stopped"
    log = airflow.request(
        "GET",
        f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/check_access/logs/1?full_content=true",
    )
    text = json.dumps(log)
    assert "export stopped after waiting" in text and "the DAG is paused" in text
    assert "bucket does not exist" in text

    # What a user sees with `airflow-export status`, through the same REST API.
    from airflow_export_provider.cli import main

    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", airflow.env["AIRFLOW_CONN_AIRFLOW_API"])
    # This export names no REST connection of its own (it needs none to stop): pass one.
    spec_file = str(airflow.home.parent / "dags" / "exports" / "live_stop.yaml")
    assert main(["status", spec_file, "--api-conn-id", "airflow_api"]) == 0
    shown = capsys.readouterr().out
    assert "export__live_stop: paused" in shown
    [line] = [line for line in shown.splitlines() if run["dag_run_id"] in line]
    assert line.split()[:3] == ["2025-03-02T00:00:00Z", "stopped", "-"]


def test_the_export_center_shows_delivered_waiting_and_stopped_exports(airflow: LiveAirflow) -> None:
    """After the runs above: windows delivered with their numbers, and the stopped export."""
    rows = export_center(airflow)
    events, stopped = rows["live_events"], rows["live_stop"]
    assert events["status"] == "Running"
    last = events["last_delivered"]
    assert last["records"] > 0 and last["files"] > 0 and last["manifest"].startswith("s3://demo-exports/")
    backfilled = [w for w in events["windows"] if w["start"].startswith("2025-03")]
    assert len(backfilled) >= 6 and {w["state"] for w in backfilled} == {"delivered"}
    assert events["one_time"]["status"] == "Done"
    assert stopped["status"] == "Stopped" and stopped["paused"] is True
    assert stopped["windows"][0]["state"] == "stopped"
    assert stopped["alerts"] == ["stopped: access was not fixed in time (window 2025-03-02 00:00)"]
    with logged_in_page(airflow) as page:
        page.goto(f"{airflow.base_url}/export-center/")
        page.get_by_text("3 exports").wait_for()
        for export_id, status in (("live_events", "Running"), ("live_stop", "Stopped")):
            row = page.locator(f"tr[data-export={export_id}]")
            assert status in row.inner_text(), row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "export-center.png"), full_page=True)
        page.goto(f"{airflow.base_url}/export-center/exports/export__live_events")
        page.get_by_text("Latest windows").wait_for()
        page.get_by_text(
            "read through aws_default"
        ).wait_for()  # the manifest, through the export's connection
        assert page.locator("table.manifest tbody tr").count() == last["files"]
        page.screenshot(path=str(ARTIFACTS / "export-center-timeline.png"), full_page=True)
        page.goto(f"{airflow.base_url}/")
        page.get_by_text("Export center").first.click()
        page.wait_for_timeout(2_000)
        page.screenshot(path=str(ARTIFACTS / "export-center-in-the-ui.png"))
