"""Solve jobs: submit, the life cycle in the database, the runner that starts worker
processes, cancellation and publishing.

A job's state lives in the `jobs` table: queued -> running -> done | failed | cancelled.
The `JobRunner` (a thread owned by the app's lifespan) claims queued jobs, at most
`max_solves` at once, and runs each in its own process (`app.worker.run_job`, 'spawn'
context); solving never happens in the API process. A worker that dies leaves its job
`running`; the runner notices the exit and marks the job failed with the reason.
"""

from __future__ import annotations

import logging
import multiprocessing
import secrets
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.orm import Session, defer, sessionmaker

from app.clock import stamp
from app.db import transaction
from app.errors import ApiError
from app.services import factory as factory_svc
from app.services.problems import build_problem
from app.tables import Job, JobStatus, Publication
from solver.problem import Objective, load_problem
from solver.validate import validate

log = logging.getLogger("rackplan.jobs")

FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
PLAN_STATUSES = ("OPTIMAL", "FEASIBLE")
RESTART_REASON = "interrupted by a server restart"
SHUTDOWN_REASON = "interrupted: the server shut down while the job was running"
RESCHEDULE = "reschedule"  # Job.kind of a reschedule (else "solve")


def utc_now() -> datetime:
    """The wall clock: job times record when the server did things, even in replays."""
    return datetime.now(UTC)


def new_job_id() -> str:
    """32 hex digits: nanoseconds since 1970 then random, so ids sort by creation."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


# ---- submit, read, cancel -----------------------------------------------------------------


def create_job(
    session: Session,
    problem: dict[str, Any],
    factory_version: int,
    params: dict[str, Any],
    kind: str = "solve",
    *,
    queued: bool = True,
) -> Job:
    """Queue a job for `problem` (a SPEC section 1 document), checked first: a bad
    problem raises `ProblemError` naming every fault and nothing is written.

    `params` needs `time_limit`, `workers` and `seed`; the caller wakes the runner after
    the transaction commits. With `queued=False` the job starts out running, for a caller
    that runs it in its own process (`rackplan reschedule`)."""
    load_problem(problem)
    job = Job(
        id=new_job_id(), kind=kind, status=JobStatus.QUEUED, created_at=stamp(utc_now()),
        params=params, factory_version=factory_version, problem=problem,
        cancel_requested=False, valid=False,
    )
    if not queued:  # the caller runs it itself: no runner may claim it
        job.status = JobStatus.RUNNING
        job.started_at = job.created_at
        job.progress = {"elapsed": 0.0, "objective": None, "bound": None, "phase": "starting"}
    session.add(job)
    session.flush()
    return job


def submit(
    session: Session,
    *,
    now: datetime,
    objective: Objective | None,
    time_limit: float | None,
    default_time_limit: float,
    max_time_limit: float,
    orders: Sequence[str] | None,
    horizon_start: datetime | None,
    seed: int,
    workers: int,
    name: str | None = None,
) -> Job:
    """Build the exact problem now (latest factory version + open orders) and queue it."""
    limit = _check_limit(time_limit, default_time_limit, max_time_limit)
    fv = factory_svc.require_latest(session)
    start = horizon_start or now
    obj = objective or Objective.TARDINESS
    problem = build_problem(session, fv, start, obj.value, orders, name)
    params = {
        "objective": obj.value, "time_limit": limit, "workers": workers, "seed": seed,
        "orders": list(orders) if orders is not None else None,
        "horizon_start": problem["horizon_start"],
    }
    return create_job(session, problem, fv.version, params)


def _check_limit(time_limit: float | None, default: float, maximum: float) -> float:
    limit = default if time_limit is None else time_limit
    if limit > maximum:
        msg = f"time_limit {limit:g} s exceeds the server's maximum of {maximum:g} s"
        raise ApiError(422, msg, errors=[{"field": "time_limit", "message": msg}])
    return limit


def submit_reschedule(
    session: Session,
    *,
    now: datetime,
    time_limit: float | None,
    default_time_limit: float,
    max_time_limit: float,
    frozen_hours: float,
    seed: int,
    workers: int,
    queued: bool = True,
) -> Job:
    """Queue a reschedule (`solver.reschedule`): every open order from `now` with the floor
    state, starting from the published schedule (`params["reference"]`, its job; None
    when nothing is published: the worker then plans from scratch). The objective is the
    published plan's."""
    limit = _check_limit(time_limit, default_time_limit, max_time_limit)
    fv = factory_svc.require_latest(session)
    pub = latest_publication(session)
    objective = Objective.TARDINESS.value
    if pub is not None:
        ref = session.scalar(select(Job.params).where(Job.id == pub.job_id))
        objective = str((ref or {}).get("objective") or objective)
    problem = build_problem(session, fv, now, objective)
    problem["name"] = f"reschedule-{problem['horizon_start']}"
    params = {
        "objective": objective, "time_limit": limit, "workers": workers, "seed": seed,
        "orders": None, "horizon_start": problem["horizon_start"],
        "reference": pub.job_id if pub else None, "publication": pub.id if pub else None,
        "frozen_hours": frozen_hours,
    }
    return create_job(session, problem, fv.version, params, kind=RESCHEDULE, queued=queued)


def get_job(session: Session, job_id: str, *, for_update: bool = False) -> Job:
    """One job; ApiError 404 when unknown."""
    job = session.get(Job, job_id, with_for_update=for_update)
    if job is None:
        raise ApiError(404, f"schedule job '{job_id}' does not exist",
                       errors=[{"id": job_id, "message": "no such job"}])
    return job


def query(status: JobStatus | None = None) -> Select[Job]:
    """Jobs newest first, without loading problems and schedules."""
    q = select(Job).options(defer(Job.problem), defer(Job.schedule))
    if status is not None:
        q = q.where(Job.status == status)
    return q.order_by(Job.created_at.desc(), Job.id.desc())


def page(
    session: Session, status: JobStatus | None, limit: int, offset: int
) -> tuple[list[Job], int]:
    """One page of jobs (newest first) and the total count."""
    count = select(func.count()).select_from(Job)
    if status is not None:
        count = count.where(Job.status == status)
    total = session.scalar(count) or 0
    return list(session.scalars(query(status).limit(limit).offset(offset))), total


def cancel(session: Session, job_id: str, now: datetime) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (its worker keeps
    the best schedule so far and ends it `cancelled`); a finished one gives 409."""
    job = get_job(session, job_id, for_update=True)
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.cancel_requested = True
        job.finished_at = stamp(now)
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested = True
    else:
        raise ApiError(
            409, f"schedule job '{job_id}' is already {job.status}: only a queued or running "
                 "job can be cancelled",
            errors=[{"id": job_id, "field": "status", "message": f"job is {job.status}"}],
        )
    session.flush()
    return job


def publishable(job: Job) -> bool:
    """Finished (done, or cancelled with a schedule) with a validated plan."""
    return (
        job.status in (JobStatus.DONE, JobStatus.CANCELLED)
        and job.schedule is not None
        and job.schedule.get("status") in PLAN_STATUSES
        and job.valid
    )


# ---- what the worker and the runner write -------------------------------------------------


def claim(sessions: sessionmaker[Session], job_id: str) -> bool:
    """Move a queued job to running; False when it is no longer queued (e.g. cancelled)."""
    with transaction(sessions) as s:
        got = s.scalar(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=stamp(utc_now()),
                    progress={"elapsed": 0.0, "objective": None, "bound": None,
                              "phase": "starting"})
            .returning(Job.id)
        )
    return got is not None


def fail_running(sessions: sessionmaker[Session], job_ids: Sequence[str] | None,
                 reason: str) -> list[str]:
    """Mark running jobs (those of `job_ids`, or all) failed with `reason`; the ids marked."""
    with transaction(sessions) as s:
        q = select(Job).where(Job.status == JobStatus.RUNNING).with_for_update()
        if job_ids is not None:
            if not job_ids:
                return []
            q = q.where(Job.id.in_(list(job_ids)))
        marked = []
        for job in s.scalars(q):
            job.status = JobStatus.FAILED
            job.error = reason
            job.finished_at = stamp(utc_now())
            marked.append(job.id)
    return marked


def recover_interrupted(sessions: sessionmaker[Session]) -> list[str]:
    """At start: jobs a previous server left running are failed (their workers are gone);
    queued ones stay queued and run."""
    marked = fail_running(sessions, None, RESTART_REASON)
    if marked:
        log.warning("marked %d interrupted job(s) failed: %s", len(marked), ", ".join(marked))
    return marked


def write_progress(
    sessions: sessionmaker[Session], job_id: str, progress: dict[str, Any] | None
) -> bool:
    """Store progress (when given) and read back whether a cancel was requested."""
    with transaction(sessions) as s:
        if progress is not None:
            s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                      .values(progress=progress))
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


def fail(sessions: sessionmaker[Session], job_id: str, message: str) -> bool:
    """Mark one running job failed with `message`; False when it was not running."""
    return bool(fail_running(sessions, [job_id], message))


# ---- publishing ---------------------------------------------------------------------------


def etag(pub: Publication) -> str:
    """The ETag of a publication: its id, quoted."""
    return f'"{pub.id}"'


def _etag_matches(if_match: str, current: Publication | None) -> bool:
    """RFC 9110 If-Match against the current publication ('*' = anything is published)."""
    if current is None:
        return False
    for tag in (t.strip() for t in if_match.split(",")):
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == str(current.id):
            return True
    return False


def latest_publication(session: Session) -> Publication | None:
    """What the floor follows: the newest publication, or None."""
    return session.scalars(select(Publication).order_by(Publication.id.desc()).limit(1)).first()


def _lock_publications(session: Session) -> None:
    """Serialise publishes: PostgreSQL takes a self-conflicting table lock (reads go on);
    SQLite transactions already hold the write lock from BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE publications IN SHARE ROW EXCLUSIVE MODE"))


def _refuse(job_id: str, message: str) -> ApiError:
    return ApiError(409, f"schedule job '{job_id}' cannot be published: {message}",
                    title="Not publishable", errors=[{"id": job_id, "message": message}])


def publish(
    sessions: sessionmaker[Session], job_id: str, if_match: str | None, now: datetime,
    *, if_none: bool = False,
) -> Publication:
    """Publish a job's schedule: only a finished job whose schedule is a plan that passes
    the validator (checked again here). With `if_match`, only while the publication it
    names is still the current one; with `if_none`, only while nothing is published (412
    otherwise); check and insert are atomic."""
    with transaction(sessions) as s:
        job = get_job(s, job_id)
        if job.status not in (JobStatus.DONE, JobStatus.CANCELLED):
            raise _refuse(job_id, f"the job is {job.status}; only a finished job can be")
        if job.schedule is None:
            raise _refuse(job_id, "the job has no schedule")
        status = job.schedule.get("status")
        if status not in PLAN_STATUSES:
            reasons = job.schedule.get("reasons") or []
            why = f": {reasons[0]}" if reasons and isinstance(reasons[0], str) else ""
            raise _refuse(job_id, f"the schedule is {status}, not a plan{why}")
        if not job.valid:
            raise _refuse(job_id, job.error or "the schedule did not pass the validator")
        problem_data, schedule = job.problem, job.schedule
    # the validator again, outside the lock: the stored documents must still agree
    faults = validate(load_problem(problem_data), schedule)
    if faults:
        raise _refuse(job_id, "the schedule fails the validator: " + "; ".join(faults[:5]))
    with transaction(sessions) as s:
        _lock_publications(s)
        current = latest_publication(s)
        if if_none and current is not None:
            raise ApiError(
                412, f"a schedule has been published meanwhile ({etag(current)})",
                title="Precondition Failed",
                errors=[{"field": "If-None-Match", "message": f"{etag(current)} is current"}],
            )
        if if_match is not None and not _etag_matches(if_match, current):
            now_is = f"the current one is {etag(current)}" if current else "nothing is published"
            raise ApiError(
                412, f"If-Match {if_match} does not name the current publication: {now_is}",
                title="Precondition Failed",
                errors=[{"field": "If-Match", "message": now_is}],
            )
        pub = Publication(job_id=job_id, published_at=stamp(now))
        s.add(pub)
        s.flush()
        return pub


# ---- the runner ---------------------------------------------------------------------------


def _worker_main(database_url: str, job_id: str, log_json: bool, nice: int = 0) -> None:
    """The worker process's entry point (imported there, so the API process never loads the
    solver's CP-SAT backend)."""
    from app.worker import run_job

    run_job(database_url, job_id, log_json=log_json, nice=nice)


def exit_reason(exitcode: int | None) -> str:
    """Why a worker process ended without storing a result, from its exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{hint}"
    if exitcode:
        return f"the worker process exited with code {exitcode}"
    return "the worker process ended without storing a result"


@dataclass
class _Worker:
    job_id: str
    process: multiprocessing.process.BaseProcess


class JobRunner:
    """Starts queued jobs in worker processes, at most `max_solves` at once, and notices
    workers that die. `wake()` after queueing a job starts it at once; the database is
    also polled (jobs queued by another server process)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        database_url: str,
        max_solves: int,
        *,
        log_json: bool = True,
        poll: float = 2.0,
        nice: int = 0,
    ) -> None:
        self.sessions = sessions
        self.log_json = log_json
        self.nice = nice  # added to each worker process's niceness (`app.worker.run_job`)
        self.database_url = database_url
        self.max_solves = max_solves
        self.poll = poll
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the runner thread."""
        self._thread = threading.Thread(target=self._loop, name="rackplan-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for queued jobs now."""
        self._wake.set()

    def pids(self) -> dict[str, int | None]:
        """The running worker processes: job id -> pid."""
        with self._lock:
            return {w.job_id: w.process.pid for w in self._workers.values()}

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._reap()
                self._start_queued()
            except Exception:
                log.exception("job runner step failed; retrying")
            with self._lock:
                busy = bool(self._workers)
            self._wake.wait(0.2 if busy else self.poll)

    def _reap(self) -> None:
        """Collect ended workers; a job still running after its worker ended failed."""
        with self._lock:
            ended = [w for w in self._workers.values() if not w.process.is_alive()]
            for w in ended:
                del self._workers[w.job_id]
        for w in ended:
            w.process.join()
            code = w.process.exitcode
            w.process.close()
            if fail(self.sessions, w.job_id, exit_reason(code)):
                log.error("job %s: worker ended with exit code %s without a result",
                          w.job_id, code)

    def _start_queued(self) -> None:
        with self._lock:
            free = self.max_solves - len(self._workers)
        if free <= 0:
            return
        with transaction(self.sessions) as s:
            ids = list(s.scalars(
                select(Job.id).where(Job.status == JobStatus.QUEUED)
                .order_by(Job.created_at, Job.id).limit(free)
            ))
        for job_id in ids:
            if self._stopping.is_set() or not claim(self.sessions, job_id):
                continue
            proc = self._ctx.Process(
                target=_worker_main,
                args=(self.database_url, job_id, self.log_json, self.nice),
                name=f"rackplan-job-{job_id}", daemon=True,
            )
            try:
                proc.start()
            except Exception as exc:
                log.exception("job %s: could not start a worker process", job_id)
                fail(self.sessions, job_id,
                     f"could not start a worker process: {type(exc).__name__}")
                continue
            with self._lock:
                self._workers[job_id] = _Worker(job_id, proc)
            log.info("job %s: started worker pid %s", job_id, proc.pid)

    def stop(self, grace: float = 5.0) -> list[str]:
        """Stop the runner; running workers are terminated and their jobs failed with
        SHUTDOWN_REASON (a later start would otherwise find them running). The job ids."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for w in workers:
            w.process.terminate()
        for w in workers:
            w.process.join(grace)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.process.close()
        marked = fail_running(self.sessions, [w.job_id for w in workers], SHUTDOWN_REASON)
        if marked:
            log.warning("shutdown: stopped %d running job(s): %s", len(marked), ", ".join(marked))
        return marked
