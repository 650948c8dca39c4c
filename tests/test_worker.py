"""The worker's code (app.worker), run in this process on SQLite and PostgreSQL:
solve, validate and store; cancel, failures and an orphaned worker."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jobdb import NOW, SMALL, load, seeded, solved, submit
from sqlalchemy.orm import Session, sessionmaker

from app import worker
from app.db import transaction
from app.services import job_state, jobs
from app.tables import JobStatus
from solver.problem import load_problem
from solver.validate import validate


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database with the schema and the sample factory and orders."""
    with seeded(db_url) as factory:
        yield factory


def test_worker_stores_a_validated_schedule(sessions: sessionmaker[Session]) -> None:
    """The worker's run ends `done` with a schedule the validator accepts, and progress."""
    job = load(sessions, solved(sessions))
    assert job.status == JobStatus.DONE and job.valid and job.error is None
    assert job.schedule is not None and job.schedule["status"] == "OPTIMAL"
    assert validate(load_problem(job.problem), job.schedule) == []
    assert {i["order"] for i in job.schedule["items"]} == set(SMALL)
    assert job.progress is not None and job.progress["phase"] == "done"
    assert job.progress["solve_log"] == job.schedule["solve_log"]
    assert job.schedule["solve_log"][0]["phase"] == "dispatch"
    assert job.started_at is not None and job.finished_at is not None
    assert jobs.publishable(job)


def test_cancel_before_the_worker_starts_keeps_a_schedule(
    sessions: sessionmaker[Session],
) -> None:
    """A cancel seen as the worker starts stops the search; the job ends cancelled with
    the best (validated) schedule so far."""
    job_id = submit(sessions, None, time_limit=30)  # the whole sample: not solved at once
    assert job_state.claim(sessions, job_id)
    with transaction(sessions) as s:
        jobs.cancel(s, job_id, NOW)
    assert worker.run(sessions, job_id) == JobStatus.CANCELLED
    job = load(sessions, job_id)
    assert job.schedule is not None and job.valid
    assert job.schedule["status"] in ("FEASIBLE", "OPTIMAL")
    assert validate(load_problem(job.problem), job.schedule) == []
    assert job.schedule["solve_seconds"] < 10
    assert jobs.publishable(job)


def test_solver_exception_fails_the_job_without_a_traceback(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the solver fails the job with a plain message (the traceback only in the log)."""

    def boom(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(worker, "solve", boom)
    job_id = submit(sessions)
    assert job_state.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.FAILED
    job = load(sessions, job_id)
    assert job.status == JobStatus.FAILED and job.error == worker.INTERNAL_ERROR
    assert job.schedule is None and job.finished_at is not None


def test_unsolvable_problem_fails_with_the_solver_message(
    sessions: sessionmaker[Session],
) -> None:
    """A problem the solver refuses (a step that fits no window) fails naming why."""
    job_id = submit(sessions)
    with transaction(sessions) as s:
        job = jobs.get_job(s, job_id)
        problem = dict(job.problem)
        problem["resources"] = [
            {**r, "downtime": [{"start": "2026-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}]}
            if r["kind"] == "assembly" else r for r in problem["resources"]
        ]
        job.problem = problem
    assert job_state.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.FAILED
    error = load(sessions, job_id).error
    assert error is not None and error.startswith("the problem cannot be solved: ")


def test_orphaned_worker_stops_and_fails_its_job(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker whose server process is gone (re-parented) stops the search at once and
    fails its job instead of solving on unattended."""
    parents = iter([4242])  # the server's pid when the worker starts; later it is gone

    monkeypatch.setattr(worker.os, "getppid", lambda: next(parents, 1))
    job_id = submit(sessions, None, time_limit=30)
    assert job_state.claim(sessions, job_id)
    t0 = time.monotonic()
    assert worker.run(sessions, job_id) == JobStatus.FAILED
    assert time.monotonic() - t0 < 15
    job = load(sessions, job_id)
    assert job.error == worker.ORPHANED and job.schedule is None


def test_no_nice_keeps_the_priority() -> None:
    """Without a nice step the process keeps its CPU priority."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    worker.lower_priority(0)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
