"""A throwaway Redis (Debian's ``redis-server``) on loopback: the Celery cluster's broker.

Bound to 127.0.0.1 on a free port, no persistence, its files in a temp folder, wrapped
in ``timeout`` so it cannot outlive a killed test run, and stopped by PID.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from airflow_export_provider.testing.loopback_s3 import free_port

LIFETIME_SECONDS = 1800


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Start Redis; yield its URL (``redis://127.0.0.1:<port>/0``); stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (bash .ci/system_packages.sh installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        "timeout", "--signal=TERM", str(LIFETIME_SECONDS), binary, "--bind", "127.0.0.1", "--port", str(port),
        "--dir", str(folder), "--save", "", "--appendonly", "no", "--protected-mode", "yes",
    ]  # fmt: skip
    with (folder / "redis.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_ping(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_ping(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited ({process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(16).startswith(b"+PONG"):
                return
        time.sleep(0.2)
    raise RuntimeError("redis-server did not answer PING")
