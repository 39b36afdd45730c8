"""The CLI finds connections where Airflow's CLI does: a connection made with `airflow connections add`.

Each verb runs as a user would run it, in its own process, with the connection only in the
metadata database (no ``AIRFLOW_CONN_*`` variable for it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_export_provider.testing.loopback_s3 import LoopbackS3

pytestmark = pytest.mark.system
BUCKET = "stored-connection-bucket"


def airflow_export(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("airflow-export")), *args]
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW_CONN_")}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@pytest.fixture()
def stored_connection(airflow_db: Path, s3_server: LoopbackS3) -> str:
    """An ``aws`` connection to the loopback S3, stored in the metadata DB under a fresh id."""
    conn_id = "aws_in_the_database"
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW_CONN_")}
    subprocess.run([airflow, "connections", "delete", conn_id], capture_output=True, env=env, check=False)
    added = subprocess.run(
        [airflow, "connections", "add", conn_id, "--conn-json", s3_server.connection_uri()],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr[-2000:]
    return conn_id


def definition(tmp_path: Path, lake: Path, conn_id: str, **changes: Any) -> Path:
    spec = {
        "export_id": "stored_conn",
        "account_id": "acme",
        "source": {"type": "lake", "path": str(lake)},
        "destination": {"type": "s3", "bucket": BUCKET, "aws_conn_id": conn_id},
        "schedule": {"every": "24h"},
        **changes,
    }
    path = tmp_path / "stored_conn.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_check_and_run_use_a_connection_that_lives_only_in_the_metadata_db(
    tmp_path: Path, lake: Path, s3: Any, stored_connection: str
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    spec = definition(tmp_path, lake, stored_connection)

    checked = airflow_export("check", str(spec))
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "access ok" in checked.stdout

    ran = airflow_export("run", str(spec), "--start", "2025-03-01", "--end", "2025-03-02")
    assert ran.returncode == 0, ran.stderr[-2000:]
    manifest = s3.get_object(Bucket=BUCKET, Key="_manifests/stored_conn/2025-03-01/1740787200-0.json")
    assert json.loads(manifest["Body"].read())["totals"]["records"] == 20_000


def test_a_connection_found_nowhere_is_one_line_naming_where_it_was_looked_for(
    tmp_path: Path, lake: Path, airflow_db: Path
) -> None:
    spec = definition(tmp_path, lake, "aws_default", access={"airflow_api_conn_id": "no_such_api"})
    status = airflow_export("status", str(spec))
    assert status.returncode == 1
    lines = status.stderr.strip().splitlines()
    assert lines[-1].startswith("airflow-export: The conn_id `no_such_api` isn't defined: looked in")
    assert "metadata DB (sqlite)" in lines[-1]
    assert "Traceback" not in status.stderr

    debug = airflow_export("--debug", "status", str(spec))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_an_unreadable_definition_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("export_id: [unclosed\n")
    for verb in (
        ["check", str(broken)],
        ["preview", str(broken)],
        ["run", str(broken), "--start", "2025-03-01", "--end", "2025-03-02"],
    ):
        done = airflow_export(*verb)
        assert done.returncode != 0, verb
        assert "Traceback" not in done.stderr, (verb, done.stderr[-2000:])
        assert done.stderr.startswith("airflow-export: invalid export spec in "), (verb, done.stderr)
        assert "not valid YAML at line 2" in done.stderr
