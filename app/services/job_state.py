"""A job's state changes after it is queued, as the supervisor and the worker write them:
claim (queued -> running), progress and the cancel flag, the result (done | cancelled),
failure.

Each function is one short transaction of its own on `sessions`, so that a worker process
and the supervisor's thread can call it without holding a session between calls.

A running job holds a lease: `heartbeat_at`, renewed by the process running it with each
progress write (about once a second). Only a job whose lease has run out is failed by
another process (`recover_interrupted`): a job that merely says running may belong to
another live server or to a `rackplan reschedule`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import stamp, utc_now
from app.db import transaction
from app.tables import Job, JobStatus

log = logging.getLogger("rackplan.jobs")

RESTART_REASON = (
    "interrupted: the process running the job ended (its lease ran out: no heartbeat)"
)


def starting_progress() -> dict[str, Any]:
    """The progress of a job that has just started running."""
    return {"elapsed": 0.0, "objective": None, "bound": None, "phase": "starting"}


CLAIM_LOCK = 0x7261636B  # the PostgreSQL advisory lock key of `claim_next` ("rack")


def claim_next(sessions: sessionmaker[Session], max_running: int) -> str | None:
    """Move the oldest queued job to running when fewer than `max_running` jobs run in the
    whole database; its id, else None.

    The count and the claim are one transaction that no other claimer interleaves with: on
    PostgreSQL under a transaction-scoped advisory lock (the queued row itself is taken
    `FOR UPDATE SKIP LOCKED`, so a row another transaction holds, such as a cancel, is
    passed over rather than waited for); on SQLite the write transaction (`BEGIN
    IMMEDIATE`) serialises claimers already. So however many server and worker processes
    share the database, at most `max_running` jobs run at once."""
    with transaction(sessions) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
        running = s.scalar(select(func.count()).select_from(Job)
                           .where(Job.status == JobStatus.RUNNING)) or 0
        if running >= max_running:
            return None
        job = s.scalars(
            select(Job).where(Job.status == JobStatus.QUEUED)
            .order_by(Job.created_at, Job.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        now = stamp(utc_now())
        job.status = JobStatus.RUNNING
        job.started_at = now
        job.heartbeat_at = now
        job.progress = starting_progress()
        return job.id


def claim(sessions: sessionmaker[Session], job_id: str) -> bool:
    """Move a queued job to running; False when it is no longer queued (e.g. cancelled)."""
    with transaction(sessions) as s:
        got = s.scalar(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=stamp(utc_now()),
                    heartbeat_at=stamp(utc_now()), progress=starting_progress())
            .returning(Job.id)
        )
    return got is not None


def fail_running(sessions: sessionmaker[Session], job_ids: Sequence[str] | None,
                 reason: str, *, lease: float | None = None,
                 keep: Collection[str] = ()) -> list[str]:
    """Mark running jobs (those of `job_ids`, or all) failed with `reason`; the ids marked.
    With `lease`, only those whose lease (`heartbeat_at`, else `started_at`, else
    `created_at`) is older than `lease` seconds; never those of `keep` (jobs the caller
    knows to be alive)."""
    with transaction(sessions) as s:
        q = select(Job).where(Job.status == JobStatus.RUNNING).with_for_update()
        if job_ids is not None:
            if not job_ids:
                return []
            q = q.where(Job.id.in_(list(job_ids)))
        if lease is not None:
            cutoff = stamp(utc_now() - timedelta(seconds=lease))
            beat = func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
            q = q.where(beat < cutoff)
        if keep:
            q = q.where(Job.id.not_in(list(keep)))
        marked = []
        for job in s.scalars(q):
            job.status = JobStatus.FAILED
            job.error = reason
            job.finished_at = stamp(utc_now())
            marked.append(job.id)
    return marked


def fail(sessions: sessionmaker[Session], job_id: str, message: str) -> bool:
    """Mark one running job failed with `message`; False when it was not running."""
    return bool(fail_running(sessions, [job_id], message))


def recover_interrupted(sessions: sessionmaker[Session], lease: float,
                        keep: Collection[str] = ()) -> list[str]:
    """At start and then now and again: running jobs whose lease ran out more than `lease`
    seconds ago are failed (their process is gone: a previous server, a killed worker or
    `rackplan reschedule`); those of live processes keep running, queued ones stay queued.
    `keep`: the caller's own running jobs."""
    marked = fail_running(sessions, None, RESTART_REASON, lease=lease, keep=keep)
    if marked:
        log.warning("marked %d interrupted job(s) failed: %s", len(marked), ", ".join(marked))
    return marked


def renew(sessions: sessionmaker[Session], job_id: str | Collection[str]) -> None:
    """Renew the lease of a running job (or of several) now."""
    ids = [job_id] if isinstance(job_id, str) else list(job_id)
    if not ids:
        return
    with transaction(sessions) as s:
        s.execute(update(Job).where(Job.id.in_(ids), Job.status == JobStatus.RUNNING)
                  .values(heartbeat_at=stamp(utc_now())))


def write_progress(
    sessions: sessionmaker[Session], job_id: str, progress: dict[str, Any] | None
) -> bool:
    """Store progress (when given; it renews the job's lease too) and read back whether a
    cancel was requested."""
    with transaction(sessions) as s:
        if progress is not None:
            s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                      .values(progress=progress, heartbeat_at=stamp(utc_now())))
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def store_result(
    sessions: sessionmaker[Session],
    job_id: str,
    schedule: dict[str, Any],
    faults: Sequence[str],
    progress: dict[str, Any] | None,
    problem: dict[str, Any] | None = None,
) -> str | None:
    """Store a finished solve in one transaction: the schedule, the validator's verdict and
    the status (cancelled when a cancel was asked for, else done), and `problem` when the
    solve changed it (a reschedule's frozen steps), so that the job's problem is the one
    the schedule was checked against. None when the job is no longer running (e.g. failed
    by a shutdown), else the status written."""
    with transaction(sessions) as s:
        job = s.get(Job, job_id, with_for_update=True)
        if job is None or job.status != JobStatus.RUNNING:
            return None
        if problem is not None:
            job.problem = problem
        job.status = JobStatus.CANCELLED if job.cancel_requested else JobStatus.DONE
        job.schedule = schedule
        job.valid = not faults
        if faults:
            job.error = "the schedule failed validation: " + "; ".join(faults[:5])
        job.progress = progress
        job.finished_at = stamp(utc_now())
        return job.status


def end_without_schedule(
    sessions: sessionmaker[Session], job_id: str, status: str, message: str,
    progress: dict[str, Any] | None = None,
) -> str | None:
    """End a running job that has no schedule to show: `status` (cancelled or failed) with
    `message`; a job whose cancel was asked for ends cancelled whatever `status` says.
    None when the job is no longer running, else the status written."""
    with transaction(sessions) as s:
        job = s.get(Job, job_id, with_for_update=True)
        if job is None or job.status != JobStatus.RUNNING:
            return None
        job.status = JobStatus.CANCELLED if job.cancel_requested else status
        job.error = message
        if progress is not None:
            job.progress = progress
        job.finished_at = stamp(utc_now())
        return job.status
