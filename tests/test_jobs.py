"""The job life cycle (app.services.jobs) and the worker's code (app.worker), run in this
process on SQLite and PostgreSQL; tests/test_api_schedules.py runs real worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import worker
from app.db import make_engine, session_factory, transaction
from app.errors import ApiError
from app.services import jobs
from app.services.seed import seed_if_empty
from app.tables import Base, Job, JobStatus, Publication
from solver.problem import ProblemError, load_problem
from solver.validate import validate

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SMALL = ["SO-1006", "SO-1009"]  # one rack each: solved in milliseconds


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database with the schema and the sample factory and orders."""
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        seed_if_empty(s, NOW)
    yield factory
    engine.dispose()


def submit(sessions: sessionmaker[Session], orders: list[str] | None = SMALL,
           time_limit: float = 2.0) -> str:
    """Queue a job for `orders` of the sample; its id."""
    with transaction(sessions) as s:
        job = jobs.submit(
            s, now=NOW, objective=None, time_limit=time_limit, default_time_limit=30,
            max_time_limit=60, orders=orders, horizon_start=None, seed=0, workers=1,
        )
        return job.id


def load(sessions: sessionmaker[Session], job_id: str) -> Job:
    with transaction(sessions) as s:
        return jobs.get_job(s, job_id)


def solved(sessions: sessionmaker[Session], orders: list[str] | None = SMALL) -> str:
    """A job claimed and solved by the worker's code in this process; its id."""
    job_id = submit(sessions, orders)
    assert jobs.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.DONE
    return job_id


def test_job_ids_sort_by_creation() -> None:
    """Job ids are 32 characters and sort in the order they were made."""
    ids = [jobs.new_job_id() for _ in range(50)]
    assert all(len(i) == 32 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_exit_reason_names_the_signal_or_code() -> None:
    """A dead worker's reason names the signal (SIGKILL hints at memory) or exit code."""
    assert jobs.exit_reason(-signal.SIGKILL) == (
        "the worker process was killed by SIGKILL (out of memory?)")
    assert jobs.exit_reason(-signal.SIGTERM) == "the worker process was killed by SIGTERM"
    assert jobs.exit_reason(3) == "the worker process exited with code 3"
    assert "without storing a result" in jobs.exit_reason(0)


def test_submit_fixes_the_exact_problem(sessions: sessionmaker[Session]) -> None:
    """The stored problem is the current factory plus exactly the chosen open orders."""
    job = load(sessions, submit(sessions))
    assert job.status == JobStatus.QUEUED
    assert [o["id"] for o in job.problem["orders"]] == sorted(SMALL)
    assert job.problem["horizon_start"] == "2026-11-30T00:00:00Z"
    assert job.factory_version == 1
    assert job.params == {"objective": "tardiness", "time_limit": 2.0, "workers": 1,
                          "seed": 0, "orders": SMALL,
                          "horizon_start": "2026-11-30T00:00:00Z"}
    load_problem(job.problem)  # checks


def test_create_job_refuses_a_bad_problem(sessions: sessionmaker[Session]) -> None:
    """A problem that does not check raises ProblemError naming the fault; nothing is written."""
    good = load(sessions, submit(sessions)).problem
    bad = {**good, "orders": [{**good["orders"][0], "product": "NOPE"}]}
    with pytest.raises(ProblemError) as err, transaction(sessions) as s:
        jobs.create_job(s, bad, 1, {"time_limit": 1, "workers": 1, "seed": 0})
    assert any("product 'NOPE' is unknown" in e for e in err.value.errors)
    with transaction(sessions) as s:
        assert len(list(s.scalars(select(Job)))) == 1  # only the good one


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
    assert jobs.claim(sessions, job_id)
    with transaction(sessions) as s:
        jobs.cancel(s, job_id, NOW)
    assert worker.run(sessions, job_id) == JobStatus.CANCELLED
    job = load(sessions, job_id)
    assert job.schedule is not None and job.valid
    assert job.schedule["status"] in ("FEASIBLE", "OPTIMAL")
    assert validate(load_problem(job.problem), job.schedule) == []
    assert job.schedule["solve_seconds"] < 10
    assert jobs.publishable(job)


def test_cancel_queued_is_immediate_and_finished_is_409(
    sessions: sessionmaker[Session],
) -> None:
    """A queued job is cancelled at once and can no longer be claimed; cancelling it again
    is 409 naming the job."""
    job_id = submit(sessions)
    with transaction(sessions) as s:
        assert jobs.cancel(s, job_id, NOW).status == JobStatus.CANCELLED
    assert not jobs.claim(sessions, job_id)
    with pytest.raises(ApiError) as err, transaction(sessions) as s:
        jobs.cancel(s, job_id, NOW)
    assert err.value.status == 409 and job_id in err.value.detail


def test_solver_exception_fails_the_job_without_a_traceback(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the solver fails the job with a plain message (the traceback only in the log)."""

    def boom(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(worker, "solve", boom)
    job_id = submit(sessions)
    assert jobs.claim(sessions, job_id)
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
    assert jobs.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.FAILED
    error = load(sessions, job_id).error
    assert error is not None and error.startswith("the problem cannot be solved: ")


def test_infeasible_result_is_done_but_not_publishable(sessions: sessionmaker[Session]) -> None:
    """An INFEASIBLE answer is stored (done, with reasons) but cannot be published."""
    job_id = submit(sessions, ["SO-1006"])
    with transaction(sessions) as s:
        job = jobs.get_job(s, job_id)
        # test fixed before assembly on the same unit: contradicts the routing order
        job.problem = {**job.problem, "fixed": [
            {"order": "SO-1006", "unit": 1, "op": "assembly", "resource": "HOU-ASM-01",
             "start": "2026-12-02T12:00:00Z", "end": "2026-12-02T21:00:00Z"},
            {"order": "SO-1006", "unit": 1, "op": "test", "resource": "HOU-TST-01",
             "start": "2026-12-01T12:00:00Z", "end": "2026-12-01T16:00:00Z"},
        ]}
    assert jobs.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.DONE
    job = load(sessions, job_id)
    assert job.schedule is not None and job.schedule["status"] == "INFEASIBLE"
    assert job.schedule["reasons"] and job.valid  # a well-formed "no schedule" answer
    assert not jobs.publishable(job)
    with pytest.raises(ApiError) as err:
        jobs.publish(sessions, job_id, None, NOW)
    assert err.value.status == 409 and "INFEASIBLE" in err.value.detail


def test_result_of_a_job_no_longer_running_is_dropped(sessions: sessionmaker[Session]) -> None:
    """A worker finishing after its job was failed (shutdown) does not overwrite it."""
    job_id = submit(sessions)
    assert jobs.claim(sessions, job_id)
    assert jobs.fail_running(sessions, [job_id], jobs.SHUTDOWN_REASON) == [job_id]
    assert worker.run(sessions, job_id) is None
    assert jobs.store_result(sessions, job_id, {"status": "OPTIMAL"}, [], None) is None
    job = load(sessions, job_id)
    assert job.status == JobStatus.FAILED and job.schedule is None
    assert job.error == jobs.SHUTDOWN_REASON


def test_recovery_fails_running_jobs_and_keeps_queued(sessions: sessionmaker[Session]) -> None:
    """At start, running jobs are failed as interrupted; queued ones stay queued."""
    running, queued = submit(sessions), submit(sessions)
    assert jobs.claim(sessions, running)
    assert jobs.recover_interrupted(sessions) == [running]
    assert load(sessions, running).status == JobStatus.FAILED
    assert load(sessions, running).error == jobs.RESTART_REASON
    assert load(sessions, queued).status == JobStatus.QUEUED


def test_publish_refuses_a_job_that_is_not_finished(sessions: sessionmaker[Session]) -> None:
    """Publishing a queued job is 409 naming its status; nothing is written."""
    job_id = submit(sessions)
    with pytest.raises(ApiError) as err:
        jobs.publish(sessions, job_id, None, NOW)
    assert err.value.status == 409 and "queued" in err.value.detail
    with transaction(sessions) as s:
        assert jobs.latest_publication(s) is None


def test_racing_publishes_with_the_same_if_match_one_wins(
    sessions: sessionmaker[Session],
) -> None:
    """Publishes racing with the same If-Match: exactly one succeeds each round, the others
    get 412, and every success is recorded."""
    job_id = solved(sessions)
    first = jobs.publish(sessions, job_id, None, NOW)
    current = jobs.etag(first)
    lock = threading.Lock()
    for _ in range(4):
        barrier = threading.Barrier(3)
        results: list[Publication | ApiError] = []

        def go(tag: str = current, b: threading.Barrier = barrier,
               out: list[Publication | ApiError] = results) -> None:
            b.wait()
            try:
                r: Publication | ApiError = jobs.publish(sessions, job_id, tag, NOW)
            except ApiError as exc:
                r = exc
            with lock:
                out.append(r)

        threads = [threading.Thread(target=go) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wins = [r for r in results if isinstance(r, Publication)]
        losses = [r for r in results if isinstance(r, ApiError)]
        assert len(wins) == 1 and [e.status for e in losses] == [412, 412]
        current = jobs.etag(wins[0])
    with transaction(sessions) as s:
        pubs = list(s.scalars(select(Publication).order_by(Publication.id)))
        assert len(pubs) == 5
        assert jobs.etag(pubs[-1]) == current


def test_if_match_star_and_weak_tags(sessions: sessionmaker[Session]) -> None:
    """If-Match '*' needs something published; weak and listed tags match by id."""
    job_id = solved(sessions)
    with pytest.raises(ApiError) as err:
        jobs.publish(sessions, job_id, "*", NOW)
    assert err.value.status == 412 and "nothing is published" in err.value.detail
    p1 = jobs.publish(sessions, job_id, None, NOW)
    p2 = jobs.publish(sessions, job_id, "*", NOW)
    p3 = jobs.publish(sessions, job_id, f'"999", W/"{p2.id}"', NOW)
    assert p1.id < p2.id < p3.id


def test_orphaned_worker_stops_and_fails_its_job(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker whose server process is gone (re-parented) stops the search at once and
    fails its job instead of solving on unattended."""
    parents = iter([4242])  # the server's pid when the worker starts; later it is gone

    monkeypatch.setattr(worker.os, "getppid", lambda: next(parents, 1))
    job_id = submit(sessions, None, time_limit=30)
    assert jobs.claim(sessions, job_id)
    t0 = time.monotonic()
    assert worker.run(sessions, job_id) == JobStatus.FAILED
    assert time.monotonic() - t0 < 15
    job = load(sessions, job_id)
    assert job.error == worker.ORPHANED and job.schedule is None


def test_solve_processes_run_at_a_lower_cpu_priority(tmp_path: Path) -> None:
    """The runner's worker process (and so the solver's helpers, which inherit it) runs
    `nice` steps below the server: API calls keep the cores while a solve runs."""
    url = f"sqlite:///{tmp_path / 'nice.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        seed_if_empty(s, NOW)
    job_id = submit(factory, None, time_limit=20)
    runner = jobs.JobRunner(factory, url, 1, log_json=False, poll=0.1, nice=3)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: set[int] = set()
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and base + 3 not in seen:
            pid = runner.pids().get(job_id)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    seen.add(os.getpriority(os.PRIO_PROCESS, pid))
            time.sleep(0.05)
    finally:
        runner.stop()
        engine.dispose()
    assert base + 3 in seen
    assert seen <= {base, base + 3}  # before the worker lowers it, and after


def test_no_nice_keeps_the_priority() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    worker.lower_priority(0)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
