"""Two `rackplan serve` processes and a cron `rackplan reschedule` on one PostgreSQL
database: starting (and restarting) a server fails no job of a live process; the job of a
server killed outright is failed by the live one once its lease runs out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import NOW, _pg_database

from app.services import job_state

ROOT = Path(__file__).resolve().parents[1]
LEASE = 5  # seconds: RACKPLAN_JOB_LEASE_SECONDS of every process here
MAIN = "from app.cli import main; raise SystemExit(main())"
# B claims its own job at once: the limit counts every running job of the database (A's
# and the cron's), and at A's limit of 1 A takes no other while its own runs
OWN_ROOM = {"RACKPLAN_MAX_SOLVES": "5"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own."""
    yield from _pg_database()


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "RACKPLAN_DATABASE_URL": url, "RACKPLAN_NOW": NOW,
            "RACKPLAN_API_KEYS": "", "RACKPLAN_LOAD_SAMPLE": "true",
            "RACKPLAN_PLAN_SAMPLE": "false", "RACKPLAN_JOB_LEASE_SECONDS": str(LEASE),
            "RACKPLAN_LOG_JSON": "false", "PYTHONPATH": str(ROOT)}


class Server:
    """`rackplan serve` on a free loopback port, in a process group of its own."""

    def __init__(self, url: str, log: Path, *, args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MAIN, "serve", "--port", str(self.port), *args],
            env={**_env(url), **(env or {})}, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=log.open("ab"), start_new_session=True,
        )

    def ready(self, timeout: float = 60) -> Server:
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            assert self.proc.poll() is None, f"the server exited ({self.proc.returncode})"
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not become ready")

    def solve(self, time_limit: float) -> str:
        r = httpx.post(f"{self.base}/schedules", json={"time_limit": time_limit, "workers": 1},
                       timeout=30)
        assert r.status_code == 202, r.text
        job_id: str = r.json()["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        r = httpx.get(f"{self.base}/schedules/{job_id}", timeout=30)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def wait(self, job_id: str, statuses: tuple[str, ...], timeout: float = 60
             ) -> dict[str, Any]:
        """Until the job's status is one of `statuses` (running: and its worker beats)."""
        t_end = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            beating = job["status"] != "running" or (job["progress"] or {}).get("elapsed", 0) > 0
            if job["status"] in statuses and beating:
                return job
            assert time.monotonic() < t_end, f"job {job_id} still {job['status']}"
            time.sleep(0.2)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as a restart does."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def kill(self) -> None:
        """The server and its workers killed outright (SIGKILL to the process group)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


def test_server_starts_fail_no_live_job(pg_url: str, tmp_path: Path) -> None:
    """Server A solves; a cron reschedule runs; server B starts, is killed outright with
    a job running, and starts again: A's job and the reschedule end done (the reschedule
    exits 0), and B's orphaned job is failed as interrupted by the live A."""
    log = tmp_path / "servers.log"
    a = Server(pg_url, log).ready()
    servers = [a]
    cron: subprocess.Popen[bytes] | None = None
    try:
        mine = a.solve(time_limit=9)
        a.wait(mine, ("running",))
        cron = subprocess.Popen([sys.executable, "-c", MAIN, "reschedule", "--time-limit", "8"],
                                env=_env(pg_url), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        b = Server(pg_url, log, env=OWN_ROOM)
        servers.append(b)
        b.ready()
        assert a.job(mine)["status"] == "running"  # B's start left A's job alone
        theirs = b.solve(time_limit=30)
        b.wait(theirs, ("running",))
        b.kill()  # the server and its worker gone at once: the job keeps saying running
        b2 = Server(pg_url, log, env=OWN_ROOM)
        servers.append(b2)
        b2.ready()  # a start right after: the dead job's lease has not run out yet
        assert a.job(mine)["status"] in ("running", "done")
        dead = a.wait(theirs, ("failed",), timeout=LEASE * 5)
        assert dead["error"] == job_state.RESTART_REASON
        done = a.wait(mine, ("done", "failed", "cancelled"), timeout=60)
        assert done["status"] == "done" and done["publishable"], done.get("error")
        _, err = cron.communicate(timeout=60)
        assert cron.returncode == 0, err.decode()
        failed = httpx.get(f"{a.base}/schedules?status=failed", timeout=30).json()
        assert [j["id"] for j in failed["items"]] == [theirs]
        assert httpx.get(f"{a.base}/schedules?status=running", timeout=30).json()["total"] == 0
    finally:
        if cron is not None and cron.poll() is None:
            cron.kill()
            cron.wait()
        for s in servers:
            s.stop()
