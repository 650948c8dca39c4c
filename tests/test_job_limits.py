"""Jobs that must not run away: the queue bound (429 with Retry-After), the time limit and
cancel from the job's start (compile and dispatch included), the worker's watchdog, and
workers and helper processes that end with their parent; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from jobdb import NOW, load, seeded, submit
from jobwait import wait
from sqlalchemy.orm import Session, sessionmaker

from app import worker
from app.db import transaction
from app.domain import QueueFull
from app.services import job_state, jobs
from app.tables import JobStatus
from solver import solve as solve_mod
from solver.compiled import Stopped, compile_problem
from solver.dispatch import dispatch
from solver.problem import load_problem
from solver.solve import HALTED, SolveParams, solve

ROOT = Path(__file__).resolve().parents[1]
MakeClient = Callable[..., AbstractContextManager[Any]]


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database with the schema and the sample factory and orders."""
    with seeded(db_url) as factory:
        yield factory


def _many_orders(n: int) -> dict[str, Any]:
    """The sample's factory with `n` one-rack orders of its first product."""
    import json

    from app.services.seed import SAMPLE  # the packaged sample (a SPEC problem)

    data = json.loads(SAMPLE.read_text())
    first = data["orders"][0]
    data["orders"] = [
        {**first, "id": f"BIG-{i:05d}", "quantity": 1} for i in range(n)
    ]
    data["fixed"] = []
    return data


# ---- the queue bound -----------------------------------------------------------------------


def test_submit_refuses_beyond_max_queued(sessions: sessionmaker[Session]) -> None:
    """With `max_queued` jobs queued a further submit is QueueFull (nothing written);
    a running job does not count."""
    first = submit(sessions)
    with transaction(sessions) as s, pytest.raises(QueueFull) as got:
        jobs.submit(s, now=NOW, objective=None, time_limit=2, default_time_limit=30,
                    max_time_limit=60, orders=None, horizon_start=None, seed=0, workers=1,
                    max_queued=1)
    assert got.value.retry_after == 30 and "max_queued_jobs 1" in got.value.detail
    with transaction(sessions) as s:
        assert jobs.page(s, None, 10, 0)[1] == 1
    assert job_state.claim(sessions, first)
    with transaction(sessions) as s:
        jobs.submit(s, now=NOW, objective=None, time_limit=2, default_time_limit=30,
                    max_time_limit=60, orders=None, horizon_start=None, seed=0, workers=1,
                    max_queued=1)


def test_claim_next_counts_every_running_job_of_the_database(
    sessions: sessionmaker[Session],
) -> None:
    """`claim_next` takes the oldest queued job only while fewer than the limit run in the
    database (whoever claimed them); a cancelled or running job is never taken."""
    a, b, c = submit(sessions), submit(sessions), submit(sessions)
    assert job_state.claim_next(sessions, 1) == a
    assert job_state.claim_next(sessions, 1) is None  # one runs: the limit holds
    assert job_state.claim_next(sessions, 2) == b
    assert job_state.claim_next(sessions, 2) is None
    job_state.fail(sessions, a, "gone")
    assert job_state.claim_next(sessions, 2) == c
    assert job_state.claim_next(sessions, 9) is None  # nothing queued


def test_a_full_queue_is_429_with_retry_after(make_client: MakeClient) -> None:
    """POST /schedules and /reschedule beyond max_queued_jobs: 429 problem+json with
    Retry-After, the job not created; cancelling a queued one makes room."""
    with make_client(max_queued_jobs=1, max_solves=1, default_time_limit=20) as client:
        running = client.post("/schedules", json={"time_limit": 60, "workers": 1}).json()
        wait(client, running["id"], ("running",))
        queued = client.post("/schedules", json={"time_limit": 1, "workers": 1})
        assert queued.status_code == 202
        for path in ("/schedules", "/reschedule"):
            r = client.post(path, json={"time_limit": 1})
            assert r.status_code == 429, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["retry-after"] == "20"
            assert "max_queued_jobs 1" in r.json()["detail"]
        assert client.get("/schedules").json()["total"] == 2
        assert client.delete(f"/schedules/{queued.json()['id']}").status_code == 200
        again = client.post("/schedules", json={"time_limit": 1, "workers": 1})
        assert again.status_code == 202
        for job_id in (running["id"], again.json()["id"]):
            client.delete(f"/schedules/{job_id}")


# ---- the time limit and cancel from the start ------------------------------------------------


def test_halt_stops_compile_and_dispatch() -> None:
    """`halt` stops compile (every few hundred orders) and a dispatch pass (every few
    hundred steps) with `Stopped`; solve answers UNKNOWN saying so, without a schedule."""
    problem = load_problem(_many_orders(600))
    with pytest.raises(Stopped):
        compile_problem(problem, halt=lambda: True)
    c = compile_problem(problem)
    with pytest.raises(Stopped):
        dispatch(c, halt=lambda: True)
    out = solve(problem, SolveParams(time_limit=5, workers=1, halt=lambda: True))
    assert out["status"] == "UNKNOWN" and not out.get("items")
    assert out["reasons"][0].startswith(HALTED) and "compiling" in out["reasons"][0]
    calls = iter(range(10**9))  # compile passes, then the first dispatch check halts
    out = solve(problem, SolveParams(time_limit=5, workers=1,
                                     halt=lambda: next(calls) >= 3))
    assert out["status"] == "UNKNOWN" and "first schedule" in out["reasons"][0]


def _slow_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first schedule that takes long and polls `halt` (as dispatch does)."""
    def slow(c: Any, rules: Any, seed: int = 0, tries: int = 0,
             halt: Callable[[], bool] | None = None) -> Any:
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end:
            if halt is not None and halt():
                raise Stopped
            time.sleep(0.01)
        raise AssertionError("the start was never halted")

    monkeypatch.setattr(solve_mod, "best_dispatch", slow)


def test_time_limit_holds_in_a_long_start(sessions: sessionmaker[Session],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A job whose first schedule takes longer than its time limit ends failed when the
    limit (counted from the job's start) and the grace run out, with a message that says
    so."""
    _slow_start(monkeypatch)
    job_id = submit(sessions, None, time_limit=1)
    assert job_state.claim(sessions, job_id)
    t0 = time.monotonic()
    assert worker.run(sessions, job_id, grace=0.5) == JobStatus.FAILED
    assert time.monotonic() - t0 < 5
    job = load(sessions, job_id)
    assert job.error is not None and job.schedule is None
    assert job.error.startswith("the time limit of 1 s ran out before the solver had a first")


def test_cancel_holds_in_a_long_start(sessions: sessionmaker[Session],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancel during a long first schedule ends the job cancelled within seconds, with
    no schedule and a message that says why."""
    _slow_start(monkeypatch)
    job_id = submit(sessions, None, time_limit=60)
    assert job_state.claim(sessions, job_id)
    with transaction(sessions) as s:
        jobs.cancel(s, job_id, NOW)
    t0 = time.monotonic()
    assert worker.run(sessions, job_id) == JobStatus.CANCELLED
    assert time.monotonic() - t0 < 6
    job = load(sessions, job_id)
    assert job.schedule is None and job.error is not None
    assert job.error.startswith("cancelled before the solver had a first schedule")


def test_watchdog_ends_a_start_that_ignores_its_time_limit(
    sessions: sessionmaker[Session],
) -> None:
    """A worker stuck past its time limit plus the grace (a step with no checks) is ended
    by its watchdog: the job failed saying so, the process exited (here: recorded)."""
    job_id = submit(sessions, None, time_limit=1)
    assert job_state.claim(sessions, job_id)
    hb = worker.Heartbeat(sessions, job_id, watch_parent=False, grace=0.25)
    exits: list[int] = []
    dog = worker.Watchdog(sessions, job_id, hb, exit_process=exits.append)
    dog.time_limit = 1.0
    hb.deadline = time.monotonic() + 1.0
    dog.start()
    deadline = time.monotonic() + 10
    while not exits and time.monotonic() < deadline:
        time.sleep(0.05)
    dog.close()
    assert exits == [1]
    job = load(sessions, job_id)
    assert job.status == JobStatus.FAILED and job.error is not None
    assert "did not stop within 0.5 s" in job.error and "starting" in job.error


# ---- ending with the parent ------------------------------------------------------------------


def _gone(pid: int) -> bool:
    """The process has ended (or is a zombie waiting for a reaper)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return True


def _until(what: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _parent(code: str) -> subprocess.Popen[str]:
    """A Python process running `code` (which prints a child's pid), from the repository."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_worker_ends_when_its_server_is_killed(db_url: str) -> None:
    """A worker process whose parent (the server) is killed with SIGKILL fails its job as
    orphaned and exits within seconds instead of solving on unattended."""
    with seeded(db_url) as sessions:
        job_id = submit(sessions, None, time_limit=60)
        assert job_state.claim(sessions, job_id)
        parent = _parent(f"""
            import multiprocessing, time
            from app.supervisor import _worker_main
            if __name__ == "__main__":
                ctx = multiprocessing.get_context("spawn")
                p = ctx.Process(target=_worker_main,
                                args=({db_url!r}, {job_id!r}, False, 0, 5.0))
                p.start()
                print(p.pid, flush=True)
                time.sleep(120)
        """)
        try:
            assert parent.stdout is not None
            pid = int(parent.stdout.readline())
            assert _until(lambda: (load(sessions, job_id).progress or {}).get("phase")
                          not in (None, "starting"), 60), "the worker never began its search"
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            assert _until(lambda: _gone(pid), 10), "the worker outlived its server"
        finally:
            parent.kill()
            parent.wait()
        job = load(sessions, job_id)
        assert job.status == JobStatus.FAILED and job.error == worker.ORPHANED


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_helper_ends_when_its_parent_dies() -> None:
    """A search helper process (busy, its stdin still open) ends within a second or two of
    its parent's death, not when its round is over."""
    parent = _parent("""
        import subprocess, sys, time
        child = subprocess.Popen(
            [sys.executable, "-c", "from solver.search.helper import child_channel; "
             "child_channel(); import time; time.sleep(120)"],
            stdin=subprocess.PIPE)
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        time.sleep(0.5)
        assert not _gone(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _until(lambda: _gone(pid), 5), "the helper outlived its parent"
    finally:
        parent.kill()
        parent.wait()
