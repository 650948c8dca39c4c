"""The job state writes (app.services.job_state): claim, progress and the cancel flag,
result, failure and recovery, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jobdb import NOW, load, seeded, submit
from sqlalchemy.orm import Session, sessionmaker

from app import supervisor, worker
from app.db import transaction
from app.services import job_state, jobs
from app.tables import JobStatus


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database with the schema and the sample factory and orders."""
    with seeded(db_url) as factory:
        yield factory


def test_result_of_a_job_no_longer_running_is_dropped(sessions: sessionmaker[Session]) -> None:
    """A worker finishing after its job was failed (shutdown) does not overwrite it."""
    job_id = submit(sessions)
    assert job_state.claim(sessions, job_id)
    assert job_state.fail_running(sessions, [job_id], supervisor.SHUTDOWN_REASON) == [job_id]
    assert worker.run(sessions, job_id) is None
    assert job_state.store_result(sessions, job_id, {"status": "OPTIMAL"}, [], None) is None
    job = load(sessions, job_id)
    assert job.status == JobStatus.FAILED and job.schedule is None
    assert job.error == supervisor.SHUTDOWN_REASON


def test_recovery_fails_running_jobs_and_keeps_queued(sessions: sessionmaker[Session]) -> None:
    """Running jobs whose lease ran out are failed as interrupted; queued ones stay queued."""
    running, queued = submit(sessions), submit(sessions)
    assert job_state.claim(sessions, running)
    assert job_state.recover_interrupted(sessions, lease=-1) == [running]
    assert load(sessions, running).status == JobStatus.FAILED
    assert load(sessions, running).error == job_state.RESTART_REASON
    assert load(sessions, queued).status == JobStatus.QUEUED


def _age(sessions: sessionmaker[Session], job_id: str, seconds: int) -> None:
    """Set the job's lease `seconds` into the past (as a process that stopped beating)."""
    from datetime import timedelta

    from app.clock import stamp, utc_now
    from app.tables import Job

    with transaction(sessions) as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.heartbeat_at = stamp(utc_now() - timedelta(seconds=seconds))


def test_recovery_keeps_jobs_whose_lease_is_alive(sessions: sessionmaker[Session]) -> None:
    """A running job with a fresh heartbeat (another live process's) is not failed; one
    whose heartbeat is older than the lease is; a renewed lease keeps a job; `keep` spares
    the caller's own jobs even when their lease is old."""
    alive, dead, mine = submit(sessions), submit(sessions), submit(sessions)
    for job_id in (alive, dead, mine):
        assert job_state.claim(sessions, job_id)
    _age(sessions, dead, 120)
    _age(sessions, mine, 120)
    _age(sessions, alive, 120)
    job_state.renew(sessions, alive)
    assert job_state.recover_interrupted(sessions, lease=30, keep=[mine]) == [dead]
    assert load(sessions, alive).status == JobStatus.RUNNING
    assert load(sessions, mine).status == JobStatus.RUNNING
    assert load(sessions, dead).status == JobStatus.FAILED
    _age(sessions, alive, 120)
    assert job_state.write_progress(sessions, alive, {"phase": "x"}) is False  # renews
    assert job_state.recover_interrupted(sessions, lease=30) == [mine]


def test_a_job_is_claimed_once_and_oldest_first(sessions: sessionmaker[Session]) -> None:
    """Queued jobs come oldest first, a cancelled one never; a claim moves one to running
    with starting progress, and a second claim of it (or of a cancelled job) is refused."""
    first, second, third = submit(sessions), submit(sessions), submit(sessions)
    with transaction(sessions) as s:
        jobs.cancel(s, third, NOW)
    assert job_state.claim(sessions, first)
    assert not job_state.claim(sessions, first)
    assert not job_state.claim(sessions, third)
    job = load(sessions, first)
    assert job.status == JobStatus.RUNNING and job.started_at is not None
    assert job.progress == job_state.starting_progress()
    assert job_state.claim_next(sessions, 5) == second
    assert job_state.claim_next(sessions, 5) is None  # the cancelled one is not taken


def test_progress_is_written_while_running_and_reports_a_cancel(
    sessions: sessionmaker[Session],
) -> None:
    """write_progress stores the figures of a running job and answers whether a cancel
    was asked for."""
    job_id = submit(sessions)
    assert job_state.claim(sessions, job_id)
    figures = {"elapsed": 1.5, "objective": 42, "bound": 7, "phase": "cp-sat"}
    assert job_state.write_progress(sessions, job_id, figures) is False
    assert load(sessions, job_id).progress == figures
    with transaction(sessions) as s:
        jobs.cancel(s, job_id, NOW)
    assert job_state.write_progress(sessions, job_id, None) is True
    assert load(sessions, job_id).progress == figures


def test_a_result_is_stored_with_its_verdict(sessions: sessionmaker[Session]) -> None:
    """store_result writes the schedule and status done; faults make it not valid with the
    first faults in the error."""
    job_id = submit(sessions)
    assert job_state.claim(sessions, job_id)
    status = job_state.store_result(sessions, job_id, {"status": "FEASIBLE"},
                                    ["rule 3: overlap"], None)
    assert status == JobStatus.DONE
    job = load(sessions, job_id)
    assert job.schedule == {"status": "FEASIBLE"} and not job.valid
    assert job.error == "the schedule failed validation: rule 3: overlap"
    assert not job_state.fail(sessions, job_id, "too late")  # no longer running
