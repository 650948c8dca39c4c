"""The job service (app.services.jobs): submit, read, cancel and publish, on SQLite and
PostgreSQL; tests/test_api_schedules.py drives it through the API."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from jobdb import NOW, SMALL, load, seeded, solved, submit
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import worker
from app.db import transaction
from app.domain import Conflict, DomainError, PreconditionFailed
from app.services import job_state, jobs
from app.tables import Job, JobStatus, Publication
from solver.problem import ProblemError, load_problem


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database with the schema and the sample factory and orders."""
    with seeded(db_url) as factory:
        yield factory


def test_job_ids_sort_by_creation() -> None:
    """Job ids are 32 characters and sort in the order they were made."""
    ids = [jobs.new_job_id() for _ in range(50)]
    assert all(len(i) == 32 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


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


def test_cancel_queued_is_immediate_and_finished_is_409(
    sessions: sessionmaker[Session],
) -> None:
    """A queued job is cancelled at once and can no longer be claimed; cancelling it again
    is a Conflict naming the job."""
    job_id = submit(sessions)
    with transaction(sessions) as s:
        assert jobs.cancel(s, job_id, NOW).status == JobStatus.CANCELLED
    assert not job_state.claim(sessions, job_id)
    with pytest.raises(Conflict) as err, transaction(sessions) as s:
        jobs.cancel(s, job_id, NOW)
    assert job_id in err.value.detail


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
    assert job_state.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.DONE
    job = load(sessions, job_id)
    assert job.schedule is not None and job.schedule["status"] == "INFEASIBLE"
    assert job.schedule["reasons"] and job.valid  # a well-formed "no schedule" answer
    assert not jobs.publishable(job)
    with pytest.raises(Conflict) as err:
        jobs.publish(sessions, job_id, None, NOW)
    assert "INFEASIBLE" in err.value.detail


def test_publish_refuses_a_job_that_is_not_finished(sessions: sessionmaker[Session]) -> None:
    """Publishing a queued job is a Conflict naming its status; nothing is written."""
    job_id = submit(sessions)
    with pytest.raises(Conflict) as err:
        jobs.publish(sessions, job_id, None, NOW)
    assert "queued" in err.value.detail
    with transaction(sessions) as s:
        assert jobs.latest_publication(s) is None


def test_racing_publishes_with_the_same_if_match_one_wins(
    sessions: sessionmaker[Session],
) -> None:
    """Publishes racing with the same If-Match: exactly one succeeds each round, the others
    fail their precondition, and every success is recorded."""
    job_id = solved(sessions)
    first = jobs.publish(sessions, job_id, None, NOW)
    current = jobs.etag(first)
    lock = threading.Lock()
    for _ in range(4):
        barrier = threading.Barrier(3)
        results: list[Publication | DomainError] = []

        def go(tag: str = current, b: threading.Barrier = barrier,
               out: list[Publication | DomainError] = results) -> None:
            b.wait()
            try:
                r: Publication | DomainError = jobs.publish(sessions, job_id, tag, NOW)
            except DomainError as exc:
                r = exc
            with lock:
                out.append(r)

        threads = [threading.Thread(target=go) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wins = [r for r in results if isinstance(r, Publication)]
        losses = [type(r) for r in results if not isinstance(r, Publication)]
        assert len(wins) == 1 and losses == [PreconditionFailed, PreconditionFailed]
        current = jobs.etag(wins[0])
    with transaction(sessions) as s:
        pubs = list(s.scalars(select(Publication).order_by(Publication.id)))
        assert len(pubs) == 5
        assert jobs.etag(pubs[-1]) == current


def test_if_match_star_and_weak_tags(sessions: sessionmaker[Session]) -> None:
    """If-Match '*' needs something published; weak and listed tags match by id."""
    job_id = solved(sessions)
    with pytest.raises(PreconditionFailed) as err:
        jobs.publish(sessions, job_id, "*", NOW)
    assert "nothing is published" in err.value.detail
    p1 = jobs.publish(sessions, job_id, None, NOW)
    p2 = jobs.publish(sessions, job_id, "*", NOW)
    p3 = jobs.publish(sessions, job_id, f'"999", W/"{p2.id}"', NOW)
    assert p1.id < p2.id < p3.id
