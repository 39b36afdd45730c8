"""A real Airflow for system tests: scheduler, DAG processor, triggerer and API server on loopback.

Each part is a child process in its own session, wrapped in ``timeout`` so it cannot
outlive a killed test run, and stopped by PID. The metadata DB is a database in the
test session's throwaway PostgreSQL, never SQLite: on SQLite Airflow refuses a backfill
while another part writes (503 "Database is locked") and its clean-up of the half-made
backfill is best-effort, so a refused request could leave a backfill behind. Logs of
every part stay in a temp Airflow home and are printed when a wait fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_export_provider.testing.loopback_s3 import free_port

PARTS = ("api-server", "scheduler", "dag-processor", "triggerer")
LIFETIME_SECONDS = 1500
USER = "admin"


@dataclass
class LiveAirflow:
    home: Path
    base_url: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    part_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Environment of one part on top of ``env`` (a Celery worker's name and temp folder)."""
    _token: str | None = None

    def restart(self, part: str) -> None:
        """Stop one part (its whole process group) and start it again, as an operator's restart does."""
        stop_process_groups([self.processes[part]], grace_seconds=30)
        self.start(part)

    def start(self, part: str) -> None:
        with (self.home / f"{part}.log").open("ab") as log:
            self.processes[part] = subprocess.Popen(
                self.commands[part],
                env={**self.env, **self.part_env.get(part, {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    # -- REST API ---------------------------------------------------------------------------

    @property
    def password(self) -> str:
        passwords = json.loads((self.home / "passwords.json").read_text())
        return str(passwords[USER])

    def token(self) -> str:
        if self._token is None:
            reply = self.request(
                "POST", "/auth/token", {"username": USER, "password": self.password}, auth=False
            )
            self._token = str(reply["access_token"])
        return self._token

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            detail = error.read().decode()[:2000]
            raise AssertionError(f"{method} {path} -> {error.code}: {detail}") from None
        return json.loads(text) if text else None

    def wait_for(self, what: str, condition: Any, timeout: float = 300, every: float = 2) -> Any:
        """Poll ``condition()`` until it returns something truthy; on timeout show the logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"airflow {name} exited ({process.returncode}):\n{self.logs(name)}")
            time.sleep(every)
        shown = "\n".join(self.logs(part) for part in self.processes)
        raise AssertionError(f"timed out waiting for {what}\n{shown}")

    def logs(self, part: str, tail: int = 4000) -> str:
        path = self.home / f"{part}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {part} ---\n{text[-tail:]}"

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        reply = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=logical_date")
        return list(reply["dag_runs"])

    def wait_for_dag(self, dag_id: str) -> dict[str, Any]:
        def parsed() -> Any:
            with contextlib.suppress(AssertionError):
                return self.request("GET", f"/api/v2/dags/{dag_id}")
            return None

        return dict(self.wait_for(f"DAG {dag_id} to be parsed", parsed, timeout=180))


def airflow_env(
    home: Path, dags_folder: Path, port: int, extra: dict[str, str], database_url: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "60",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # Parse the DAG files once; the tests never change them.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
    )
    env.update(extra)
    return env


def celery_env(broker_url: str, database_url: str) -> dict[str, str]:
    """The CeleryExecutor with ``broker_url`` (Redis); results in the metadata DB, one task per worker.

    One task at a time per worker (and Airflow's prefetch of one): two tasks that are
    ready together run on two workers. Task hostnames come from each worker's name
    (``tests/worker_hostname.py``).
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.worker_hostname.hostname",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                     os.environ.get("PYTHONPATH")])),
    }  # fmt: skip


@contextlib.contextmanager
def live_airflow(
    home: Path,
    dags_folder: Path,
    extra_env: dict[str, str],
    database_url: str,
    *,
    celery_workers: tuple[str, ...] = (),
) -> Iterator[LiveAirflow]:
    """Migrate a fresh metadata DB at ``database_url`` (PostgreSQL), start every part, wait
    for health; stop everything by PID.

    With ``celery_workers`` (names), ``extra_env`` must configure the CeleryExecutor
    (:func:`celery_env`); each worker is a part ``worker-<name>`` with its own ``TMPDIR``,
    so a task can never read a file another task left on a worker's disk.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # A known admin password (the auth manager keeps an existing file), so that DAGs can be
    # given the ``airflow_api`` connection the access sensor pauses them through.
    password = secrets.token_urlsafe(16)
    (home / "passwords.json").write_text(json.dumps({USER: password}))
    api_conn = {"conn_type": "http", "host": f"http://127.0.0.1:{port}", "login": USER, "password": password}
    env = airflow_env(
        home, dags_folder, port, {"AIRFLOW_CONN_AIRFLOW_API": json.dumps(api_conn), **extra_env}, database_url
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrated = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
    if migrated.returncode:
        raise RuntimeError(f"airflow db migrate failed:\n{migrated.stderr[-3000:]}")
    live = LiveAirflow(home=home, base_url=f"http://127.0.0.1:{port}", env=env)
    parts = {part: [airflow, part] for part in PARTS}
    for name in celery_workers:
        worker = ["celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        parts[f"worker-{name}"] = [airflow, *worker]
        temp = home / f"tmp-{name}"
        temp.mkdir(exist_ok=True)
        live.part_env[f"worker-{name}"] = {"LIVE_WORKER_HOSTNAME": name, "TMPDIR": str(temp)}
    try:
        for part, command in parts.items():
            if shutil.which("timeout"):
                command = ["timeout", "--signal=TERM", str(LIFETIME_SECONDS), *command]
            live.commands[part] = command
            live.start(part)
        live.wait_for("the API server to answer", lambda: _healthy(live), timeout=120, every=1)
        yield live
    finally:
        stop_process_groups(list(live.processes.values()), grace_seconds=20)


def stop_process_groups(processes: list[subprocess.Popen[bytes]], grace_seconds: float) -> None:
    """SIGTERM every process group at once, then SIGKILL any still running after the grace period."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _healthy(live: LiveAirflow) -> bool:
    try:
        with urllib.request.urlopen(live.base_url + "/api/v2/monitor/health", timeout=2) as response:
            health = json.loads(response.read())
    except OSError:
        return False
    return bool(health.get("metadatabase", {}).get("status") == "healthy")
