"""API processes and `rackplan worker` processes apart, on one PostgreSQL database (real
processes on loopback): `RACKPLAN_MAX_SOLVES` holds for the whole database, every job runs
exactly once, and a worker killed mid-job leaves that job failed with the reason while a
new worker takes the rest of the queue."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import _pg_database
from test_multiprocess_pg import LEASE, MAIN, ROOT, Server, _env

from app.services import job_state


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own."""
    yield from _pg_database()


class Worker:
    """`rackplan worker` in a process group of its own."""

    def __init__(self, url: str, log: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MAIN, "worker"], env={**_env(url), **env}, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=log.open("ab"), start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


def _wait_all(server: Server, ids: list[str], timeout: float) -> dict[str, dict[str, object]]:
    t_end = time.monotonic() + timeout
    while True:
        jobs = {j: server.job(j) for j in ids}
        if all(job["status"] in ("done", "failed", "cancelled") for job in jobs.values()):
            return jobs
        assert time.monotonic() < t_end, {j: job["status"] for j, job in jobs.items()}
        time.sleep(0.3)


def test_max_solves_holds_across_two_servers_and_a_worker(pg_url: str, tmp_path: Path) -> None:
    """Twenty jobs posted to two servers, with a worker beside them, all three running
    jobs, RACKPLAN_MAX_SOLVES=1: all done, each started once, never two at once."""
    logs = [tmp_path / f"p{i}.log" for i in range(3)]
    env = {"RACKPLAN_MAX_SOLVES": "1"}
    a = Server(pg_url, logs[0], env=env).ready()
    b = Server(pg_url, logs[1], env=env).ready()
    w = Worker(pg_url, logs[2], env)
    try:
        ids = [(a, b)[i % 2].solve(time_limit=0.2) for i in range(20)]
        jobs = _wait_all(a, ids, timeout=240)
        assert {j: job["status"] for j, job in jobs.items()} == dict.fromkeys(ids, "done")
        spans = sorted((str(job["started_at"]), str(job["finished_at"])) for job in jobs.values())
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two jobs ran at once: {spans}"
        text = "".join(p.read_text() for p in logs)
        started = re.findall(r"job (\w+): started worker pid", text)
        assert sorted(started) == sorted(ids)  # each job started once, by one process
        assert len({p for p in logs if "started worker pid" in p.read_text()}) >= 2
    finally:
        w.stop()
        for s in (a, b):
            s.stop()


def test_a_killed_worker_fails_its_job_and_a_new_one_takes_the_queue(
    pg_url: str, tmp_path: Path
) -> None:
    """A server that only queues, a worker killed outright mid-job: that job fails with
    the lease's reason, and a new worker runs the jobs still queued."""
    log = tmp_path / "p.log"
    env = {"RACKPLAN_MAX_SOLVES": "1", "RACKPLAN_RUN_JOBS": "false"}
    api = Server(pg_url, log, args=("--no-worker",)).ready()
    w1 = Worker(pg_url, log, env)
    w2: Worker | None = None
    try:
        first = api.solve(time_limit=30)
        rest = [api.solve(time_limit=0.2) for _ in range(3)]
        api.wait(first, ("running",))
        w1.kill()
        assert all(api.job(j)["status"] == "queued" for j in rest)
        w2 = Worker(pg_url, log, env)
        dead = api.wait(first, ("failed",), timeout=LEASE * 6)
        assert dead["error"] == job_state.RESTART_REASON
        jobs = _wait_all(api, rest, timeout=120)
        assert {j: job["status"] for j, job in jobs.items()} == dict.fromkeys(rest, "done")
    finally:
        for p in (w1, w2):
            if p is not None:
                p.stop()
        api.stop()


def test_a_server_that_only_queues_runs_nothing(pg_url: str, tmp_path: Path) -> None:
    """`serve --no-worker` queues a solve and leaves it queued."""
    api = Server(pg_url, tmp_path / "p.log", args=("--no-worker",)).ready()
    try:
        job = api.solve(time_limit=0.2)
        time.sleep(3)
        assert api.job(job)["status"] == "queued"
        assert httpx.get(f"{api.base}/readyz", timeout=10).status_code == 200
    finally:
        api.stop()
