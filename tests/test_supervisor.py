"""The supervisor (app.supervisor): worker processes started from the queue, at most
`max_solves` at once, at a lower CPU priority; a dead worker's job failed with the reason;
shutdown fails the running jobs and leaves the queued ones."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest
from jobdb import load, seeded, submit
from sqlalchemy.orm import Session, sessionmaker

from app import supervisor
from app.tables import JobStatus
from solver.problem import load_problem
from solver.validate import validate


@contextlib.contextmanager
def running(sessions: sessionmaker[Session], url: str, max_solves: int = 1, nice: int = 0
            ) -> Iterator[supervisor.JobRunner]:
    """A started supervisor on `url`, stopped on exit."""
    runner = supervisor.JobRunner(sessions, url, max_solves, log_json=False, poll=0.1,
                                  nice=nice)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def until(what: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until `what()` holds (fail after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_exit_reason_names_the_signal_or_code() -> None:
    """A dead worker's reason names the signal (SIGKILL hints at memory) or exit code."""
    assert supervisor.exit_reason(-signal.SIGKILL) == (
        "the worker process was killed by SIGKILL (out of memory?)")
    assert supervisor.exit_reason(-signal.SIGTERM) == "the worker process was killed by SIGTERM"
    assert supervisor.exit_reason(3) == "the worker process exited with code 3"
    assert "without storing a result" in supervisor.exit_reason(0)


def test_a_queued_job_is_solved_in_a_worker_process(db_url: str) -> None:
    """A job queued and woken for runs in a worker process and ends done with a validated
    schedule; the supervisor then holds no worker."""
    with seeded(db_url) as sessions, running(sessions, db_url) as runner:
        job_id = submit(sessions)
        runner.wake()
        until(lambda: load(sessions, job_id).status == JobStatus.DONE)
        job = load(sessions, job_id)
        assert job.valid and job.schedule is not None
        assert validate(load_problem(job.problem), job.schedule) == []
        until(lambda: runner.pids() == {})


def test_at_most_max_solves_run_and_stop_fails_the_running_ones(sqlite_url: str) -> None:
    """With max_solves=1 one of two queued jobs runs; stopping the supervisor ends its
    worker process and fails its job (server shut down), the other stays queued."""
    with seeded(sqlite_url) as sessions:
        first = submit(sessions, None, time_limit=60)
        second = submit(sessions, None, time_limit=60)
        runner = supervisor.JobRunner(sessions, sqlite_url, 1, log_json=False, poll=0.1)
        runner.start()
        try:
            until(lambda: load(sessions, first).status == JobStatus.RUNNING
                  and runner.pids().get(first) is not None)
            time.sleep(0.5)  # a second worker would have been started by now
            assert list(runner.pids()) == [first]
            assert load(sessions, second).status == JobStatus.QUEUED
        finally:
            pid = runner.pids().get(first)
            assert runner.stop() == [first]
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        job = load(sessions, first)
        assert job.status == JobStatus.FAILED and job.error == supervisor.SHUTDOWN_REASON
        assert load(sessions, second).status == JobStatus.QUEUED


def test_a_killed_worker_fails_its_job_naming_the_signal(sqlite_url: str) -> None:
    """A worker process killed mid-solve leaves no job running: the supervisor fails it
    with the signal's name."""
    with seeded(sqlite_url) as sessions, running(sessions, sqlite_url) as runner:
        job_id = submit(sessions, None, time_limit=60)
        runner.wake()
        until(lambda: runner.pids().get(job_id) is not None)
        pid = runner.pids()[job_id]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        until(lambda: load(sessions, job_id).status == JobStatus.FAILED)
        assert load(sessions, job_id).error == supervisor.exit_reason(-signal.SIGKILL)


def test_solve_processes_run_at_a_lower_cpu_priority(sqlite_url: str) -> None:
    """The worker process (and so the solver's helpers, which inherit it) runs `nice`
    steps below the server: API calls keep the cores while a solve runs."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: set[int] = set()
    with seeded(sqlite_url) as sessions:
        job_id = submit(sessions, None, time_limit=20)
        with running(sessions, sqlite_url, nice=3) as runner:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and base + 3 not in seen:
                pid = runner.pids().get(job_id)
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        seen.add(os.getpriority(os.PRIO_PROCESS, pid))
                time.sleep(0.05)
    assert base + 3 in seen
    assert seen <= {base, base + 3}  # before the worker lowers it, and after
