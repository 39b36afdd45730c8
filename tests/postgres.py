"""A throwaway PostgreSQL server for tests: Debian's binaries, a cluster in a temp dir, 127.0.0.1.

``.ci/system_packages.sh`` installs the Debian ``postgresql`` package when it is missing;
this module only uses its binaries (``initdb``, ``postgres``), never the system cluster.
The server runs under ``timeout`` (bounded lifetime), listens on 127.0.0.1 on a free
port with trust authentication, keeps durability off (it is thrown away), and is
stopped by PID. PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` user the package created.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from airflow_export_provider.testing.loopback_s3 import free_port

LIFETIME_SECONDS = 1800


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    pid: int

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        import psycopg2

        with contextlib.closing(
            psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname="postgres")
        ) as db:
            db.autocommit = True
            with db.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')

    def tables(self, database: str) -> set[str]:
        import psycopg2

        with (
            contextlib.closing(
                psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=database)
            ) as db,
            db.cursor() as cursor,
        ):
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row[0] for row in cursor.fetchall()}


def _bin_dir() -> Path:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not versions:
        raise RuntimeError(
            "PostgreSQL binaries not found; run .ci/system_packages.sh (Debian package 'postgresql')"
        )
    return versions[-1].parent


def _as_owner(owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--"] if owner else []


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Postgres]:
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    owner = "postgres" if os.geteuid() == 0 else None
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    prefix = _as_owner(owner)
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    command = [*prefix, str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
               "-k", str(root), "-c", "fsync=off", "-c", "synchronous_commit=off",
               "-c", "full_page_writes=off", "-c", "max_connections=200"]  # fmt: skip
    if shutil.which("timeout"):
        command = ["timeout", "--signal=INT", str(LIFETIME_SECONDS), *command]
    log = (root / "postgres.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Postgres("127.0.0.1", port, "postgres", process.pid)
    try:
        _wait_until_ready(bin_dir, server, process, root)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(bin_dir: Path, server: Postgres, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"postgres exited ({process.returncode}):\n{(root / 'postgres.log').read_text()[-2000:]}"
            )
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", server.host, "-p", str(server.port), "-U", server.user],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"postgres did not accept connections on {server.host}:{server.port} within 30 s")
