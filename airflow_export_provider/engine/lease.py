"""One writer per window: a lease object made and kept with S3 conditional writes.

The recurring DAG, the one-time DAG, backfills and the CLI are separate runs, so Airflow
lets several of them export one window at once. Before it reads anything, a run takes the
window's lease (``_leases/<export>/<date>/<ts>-<instance>.lease``):

- **take**: ``PutObject`` with ``If-None-Match: *``: of two runs that try at once,
  exactly one succeeds;
- **wait**: a run that finds a live lease polls, logging who holds it, until the lease is
  released or ``wait_seconds`` pass (then it fails with that message; Airflow retries);
- **take over**: a lease past its expiry, or held by a process that is certainly gone
  (same machine and process namespace, pid not alive), is replaced with ``If-Match`` on
  the ETag that was read, so again only one taker wins;
- **keep**: a heartbeat thread renews the lease (``If-Match`` on its own last ETag) every
  ``ttl / 5``; if a renewal finds the lease taken over, the run is told at its next
  :meth:`WindowLease.check` and commits nothing;
- **release**: ``DeleteObject`` with ``If-Match``, so a run never removes a lease it lost.

Expiry uses the clocks of the machines involved: keep them within a minute of each other
(NTP) and the 5-minute default is safe.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pendulum

from airflow_export_provider.engine.destinations.base import ConcurrentUpdate, Destination
from airflow_export_provider.engine.logs import human_duration
from airflow_export_provider.exceptions import ExportError

LEASE_VERSION = 1
LEASE_SECONDS = 300.0
WAIT_SECONDS = 3600.0
POLL_SECONDS = 2.0
WAITING_LOG_EVERY_SECONDS = 30.0
logger = logging.getLogger(__name__)


class WindowBusy(ExportError):
    """Another run held the window's lease for longer than this run was willing to wait."""


class LeaseLost(ExportError):
    """The run's lease expired and another run took the window over: it must not commit."""


def _process_space() -> str:
    """What must match for a pid to mean the same process: the boot and the pid namespace."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        return ""  # not Linux: never conclude that a holder is dead from its pid
    return f"{boot}/{namespace}"


@dataclass(frozen=True)
class LeaseHolder:
    """Who writes a window: shown to a waiting run, checked when taking over."""

    run_id: str
    host: str
    pid: int
    process_space: str
    label: str

    @classmethod
    def here(cls, label: str, run_id: str | None = None) -> LeaseHolder:
        """This process; ``run_id`` names a run that spans tasks (a sharded window's plan), else a new one."""
        run = run_id or uuid.uuid4().hex
        return cls(run, socket.gethostname(), os.getpid(), _process_space(), label)

    def describe(self) -> str:
        return f"{self.label} (run {self.run_id[:8]}, host {self.host}, pid {self.pid})"

    def is_certainly_gone(self) -> bool:
        """True only when this holder's process ran on this machine, in this namespace, and has ended."""
        if not self.process_space or self.process_space != _process_space():
            return False
        if self.pid == os.getpid():
            return False  # this process is alive; another thread of it holds the lease
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _is_zombie(self.pid)


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped by its parent still answers ``kill(pid, 0)``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@dataclass(frozen=True)
class _Lease:
    holder: LeaseHolder
    window: str
    acquired: float
    expires: float

    def to_bytes(self) -> bytes:
        document = {"lease_version": LEASE_VERSION, "window": self.window, **asdict(self.holder),
                    "acquired": _iso(self.acquired), "expires": _iso(self.expires),
                    "expires_epoch": self.expires, "acquired_epoch": self.acquired}  # fmt: skip
        return json.dumps(document, indent=1).encode()

    @classmethod
    def parse(cls, data: bytes) -> _Lease | None:
        """None for a document this version cannot read: it is treated as expired."""
        try:
            document: dict[str, Any] = json.loads(data)
            holder = LeaseHolder(str(document["run_id"]), str(document["host"]), int(document["pid"]),
                                 str(document["process_space"]), str(document["label"]))  # fmt: skip
            return cls(holder, str(document["window"]), float(document["acquired_epoch"]),
                       float(document["expires_epoch"]))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None


def _iso(epoch: float) -> str:
    return pendulum.from_timestamp(epoch).isoformat()


class WindowLease:
    """The lease of one window (one instance of it), as a context manager: take on enter, release on exit."""

    def __init__(
        self,
        destination: Destination,
        key: str,
        window: str,
        holder: LeaseHolder,
        *,
        ttl: float = LEASE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        log: logging.Logger | Any = logger,
    ) -> None:
        self._destination = destination
        self._key = key
        self._window = window
        self.holder = holder
        self._ttl = ttl
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._log = log
        self._version: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._lost: str | None = None
        self._heartbeat: threading.Thread | None = None
        self.waited_seconds = 0.0
        self.taken_over_from: LeaseHolder | None = None

    def __enter__(self) -> WindowLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _write(self, version: str | None) -> str:
        """Write this run's lease, expiring ``ttl`` from now, if the lease is still at ``version``."""
        now = time.time()
        document = _Lease(self.holder, self._window, now, now + self._ttl).to_bytes()
        return self._destination.put_if(self._key, document, "application/json", version)

    def acquire(self) -> None:
        started = time.monotonic()
        last_said, last_holder = -WAITING_LOG_EVERY_SECONDS, ""
        while True:
            data, version = self._destination.get_versioned(self._key)
            current = None if data is None else _Lease.parse(data)
            try:
                if data is None:
                    self._version = self._write(None)
                    break
                reason = self._why_replaceable(current)
                if reason is not None:
                    self._version = self._write(version)
                    self.taken_over_from = None if current is None else current.holder
                    self._log.warning("window %s: took over the lease: %s", self._window, reason)
                    break
            except ConcurrentUpdate:
                continue  # another run changed the lease between the read and the write: look again
            assert current is not None
            waited = time.monotonic() - started
            if waited >= self._wait:
                raise WindowBusy(
                    f"window {self._window} is being exported by {current.holder.describe()} since "
                    f"{_iso(current.acquired)} (lease renewed until {_iso(current.expires)}); gave up after "
                    f"waiting {human_duration(waited)}. Let that run finish (or stop it), then retry this one"
                )
            if waited - last_said >= WAITING_LOG_EVERY_SECONDS or current.holder.run_id != last_holder:
                last_said, last_holder = waited, current.holder.run_id
                self._log.info(
                    "window %s: %s is exporting this window (lease until %s); waiting for it, %s so far",
                    self._window, current.holder.describe(), _iso(current.expires), human_duration(waited),
                )  # fmt: skip
            time.sleep(self._poll)
        self.waited_seconds = time.monotonic() - started
        self._heartbeat = threading.Thread(target=self._keep, name="export-lease", daemon=True)
        self._heartbeat.start()

    def _why_replaceable(self, current: _Lease | None) -> str | None:
        if current is None:
            return "the lease document was unreadable"
        if current.expires < time.time():
            return f"{current.holder.describe()} let it expire at {_iso(current.expires)}"
        if current.holder.is_certainly_gone():
            return f"{current.holder.describe()} is no longer running on this machine"
        return None

    def _keep(self) -> None:
        while not self._stop.wait(self._ttl / 5):
            try:
                self.renew()
            except LeaseLost:
                return
            except Exception as error:  # a passing network fault: the next beat tries again
                self._log.warning(
                    "window %s: could not renew the lease (%s); trying again", self._window, error
                )

    def renew(self) -> None:
        """Extend the lease now; :class:`LeaseLost` if another run has taken it over."""
        with self._lock:
            if self._lost is not None:
                raise LeaseLost(self._lost)
            try:
                self._version = self._write(self._version)
            except ConcurrentUpdate:
                self._lost = (
                    f"window {self._window}: this run's lease ({self._destination.url(self._key)}) was "
                    "taken over by another run after it expired; this run publishes nothing"
                )
                raise LeaseLost(self._lost) from None

    def check(self) -> None:
        """Before a step that changes what readers see: still the holder, with a full lease ahead."""
        self.renew()

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        with self._lock:
            if self._lost is not None or self._version is None:
                return
            try:
                self._destination.delete_if(self._key, self._version)
            except ConcurrentUpdate:
                self._log.warning(
                    "window %s: the lease was taken over before this run released it", self._window
                )
            except Exception as error:  # it expires on its own; the run's own outcome matters more
                self._log.warning("window %s: could not release the lease (%s); it expires in %.0f s",
                                  self._window, error, self._ttl)  # fmt: skip
            self._version = None
