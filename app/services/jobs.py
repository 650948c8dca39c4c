"""Solve jobs as the API and the CLI see them: submit (the exact problem fixed now), read,
list, cancel, and publish a finished job's schedule.

A job's state lives in the `jobs` table: queued -> running -> done | failed | cancelled.
The supervisor (`app.supervisor`) starts queued jobs in worker processes; what they write
while a job runs is `app.services.job_state`.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session, defer, sessionmaker

from app.clock import stamp, utc_now
from app.db import transaction
from app.domain import Conflict, Invalid, NotFound, PreconditionFailed, QueueFull
from app.services import factory as factory_svc
from app.services import orders as orders_svc
from app.services.job_state import starting_progress
from app.services.pins import Report as PinReport
from app.services.pins import empty_report
from app.services.problems import build_problem, plannable
from app.tables import Job, JobKind, JobStatus, Order, OrderStatus, Publication
from solver.problem import Objective, load_problem
from solver.validate import validate

PLAN_STATUSES = ("OPTIMAL", "FEASIBLE")


def new_job_id() -> str:
    """32 hex digits: nanoseconds since 1970 then random, so ids sort by creation."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


# ---- submit, read, cancel -----------------------------------------------------------------


def create_job(
    session: Session,
    problem: dict[str, Any],
    factory_version: int,
    params: dict[str, Any],
    kind: JobKind = JobKind.SOLVE,
    *,
    queued: bool = True,
) -> Job:
    """Queue a job for `problem` (a SPEC section 1 document), checked first: a bad
    problem raises `ProblemError` naming every fault and nothing is written.

    `params` needs `time_limit`, `workers` and `seed`; the caller wakes the supervisor after
    the transaction commits. With `queued=False` the job starts out running, for a caller
    that runs it in its own process (`rackplan reschedule`)."""
    load_problem(problem)
    job = Job(
        id=new_job_id(), kind=kind, status=JobStatus.QUEUED, created_at=stamp(utc_now()),
        params=params, factory_version=factory_version, problem=problem,
        cancel_requested=False, valid=False,
    )
    if not queued:  # the caller runs it itself: the supervisor must not claim it
        job.status = JobStatus.RUNNING
        job.started_at = job.heartbeat_at = job.created_at
        job.progress = starting_progress()
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
    max_queued: int | None = None,
) -> Job:
    """Build the exact problem now (latest factory version + open orders) and queue it;
    `QueueFull` when `max_queued` jobs are queued already."""
    limit = _check_limit(time_limit, default_time_limit, max_time_limit)
    _check_queue(session, max_queued, default_time_limit)
    fv = factory_svc.require_latest(session)
    start = horizon_start or now
    obj = objective or Objective.TARDINESS
    pins = empty_report()
    problem, unplanned = plannable(
        build_problem(session, fv, start, obj.value, orders, name, pins=pins))
    params = {
        "objective": obj.value, "time_limit": limit, "workers": workers, "seed": seed,
        "orders": list(orders) if orders is not None else None,
        "horizon_start": problem["horizon_start"], **_pins_param(pins),
    }
    if unplanned:  # the orders left out, with why (the worker puts them in the schedule)
        params["unplanned"] = unplanned
    return create_job(session, problem, fv.version, params)


def _pins_param(pins: PinReport) -> dict[str, Any]:
    """What became of the pins in the job's problem (`app.services.pins`), when any
    applied to it."""
    return {"pins": pins} if any(pins.values()) else {}


def _check_queue(session: Session, max_queued: int | None, time_limit: float) -> None:
    """Refuse a new job while `max_queued` jobs wait (before the problem is built)."""
    if max_queued is None:
        return
    queued = session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED)
    ) or 0
    if queued >= max_queued:
        retry = max(1, min(300, math.ceil(time_limit)))
        msg = (f"{queued} solve jobs are queued, the most the server allows "
               f"(max_queued_jobs {max_queued}); try again in {retry} s or cancel one")
        raise QueueFull(msg, retry_after=retry,
                        faults=[{"field": "status", "message": f"{queued} jobs queued"}])


def _check_limit(time_limit: float | None, default: float, maximum: float) -> float:
    limit = default if time_limit is None else time_limit
    if limit > maximum:
        msg = f"time_limit {limit:g} s exceeds the server's maximum of {maximum:g} s"
        raise Invalid(msg, [{"field": "time_limit", "message": msg}])
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
    max_queued: int | None = None,
) -> Job:
    """Queue a reschedule (`solver.reschedule`): every open order from `now` with the floor
    state, starting from the published schedule (`params["reference"]`, its job; None
    when nothing is published: the worker then plans from scratch). The objective is the
    published plan's. `QueueFull` when `max_queued` jobs are queued already."""
    limit = _check_limit(time_limit, default_time_limit, max_time_limit)
    if queued:
        _check_queue(session, max_queued, default_time_limit)
    fv = factory_svc.require_latest(session)
    pub = latest_publication(session)
    objective = Objective.TARDINESS.value
    if pub is not None:
        ref = session.scalar(select(Job.params).where(Job.id == pub.job_id))
        objective = str((ref or {}).get("objective") or objective)
    pins = empty_report()
    problem, unplanned = plannable(build_problem(session, fv, now, objective, pins=pins))
    problem["name"] = f"reschedule-{problem['horizon_start']}"
    params = {
        "objective": objective, "time_limit": limit, "workers": workers, "seed": seed,
        "orders": None, "horizon_start": problem["horizon_start"],
        "reference": pub.job_id if pub else None, "publication": pub.id if pub else None,
        "frozen_hours": frozen_hours, **_pins_param(pins),
    }
    if unplanned:
        params["unplanned"] = unplanned
    return create_job(session, problem, fv.version, params, kind=JobKind.RESCHEDULE,
                      queued=queued)


def get_job(session: Session, job_id: str, *, for_update: bool = False) -> Job:
    """One job; NotFound when unknown."""
    job = session.get(Job, job_id, with_for_update=for_update)
    if job is None:
        raise NotFound(f"schedule job '{job_id}' does not exist",
                       faults=[{"id": job_id, "message": "no such job"}])
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
    the best schedule so far and ends it `cancelled`); a finished one is a Conflict."""
    job = get_job(session, job_id, for_update=True)
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.cancel_requested = True
        job.finished_at = stamp(now)
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested = True
    else:
        raise Conflict(
            f"schedule job '{job_id}' is already {job.status}: only a queued or running job "
            "can be cancelled",
            faults=[{"id": job_id, "field": "status", "message": f"job is {job.status}"}],
        )
    session.flush()
    return job


def publishable(job: Job) -> bool:
    """Finished (done, or cancelled with a schedule) with a validated plan."""
    return (
        job.status in (JobStatus.DONE, JobStatus.CANCELLED)
        and job.kind != JobKind.SCENARIO
        and job.schedule is not None
        and job.schedule.get("status") in PLAN_STATUSES
        and job.valid
    )


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


def _quote_held(session: Session, job: Job, now: datetime) -> bool:
    """A quote plan's order is stored and planned at `now`: open, or quoted and held."""
    row = session.get(Order, str((job.params or {}).get("quote")))
    return row is not None and (row.status == OrderStatus.OPEN or orders_svc.held(row, now))


def latest_publication(session: Session) -> Publication | None:
    """What the floor follows: the newest publication, or None."""
    return session.scalars(select(Publication).order_by(Publication.id.desc()).limit(1)).first()


def _lock_publications(session: Session) -> None:
    """Serialise publishes: PostgreSQL takes a self-conflicting table lock (reads go on);
    SQLite transactions already hold the write lock from BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE publications IN SHARE ROW EXCLUSIVE MODE"))


def _refuse(job_id: str, message: str) -> Conflict:
    return Conflict(f"schedule job '{job_id}' cannot be published: {message}",
                    title="Not publishable", faults=[{"id": job_id, "message": message}])


def publish(
    sessions: sessionmaker[Session], job_id: str, if_match: str | None, now: datetime,
    *, if_none: bool = False,
) -> Publication:
    """Publish a job's schedule: only a finished job whose schedule is a plan that passes
    the validator (checked again here). With `if_match`, only while the publication it
    names is still the current one; with `if_none`, only while nothing is published
    (PreconditionFailed otherwise); check and insert are atomic."""
    with transaction(sessions) as s:
        job = get_job(s, job_id)
        if job.status not in (JobStatus.DONE, JobStatus.CANCELLED):
            raise _refuse(job_id, f"the job is {job.status}; only a finished job can be")
        if job.kind == JobKind.SCENARIO:  # a what-if: only applying a variant makes it real
            raise _refuse(job_id, "it is a scenario's what-if plan; apply the variant "
                          "(POST /scenarios/{id}/variants/{n}/apply) and plan again")
        if job.schedule is None:
            raise _refuse(job_id, "the job has no schedule")
        status = job.schedule.get("status")
        if status not in PLAN_STATUSES:
            reasons = job.schedule.get("reasons") or []
            why = f": {reasons[0]}" if reasons and isinstance(reasons[0], str) else ""
            raise _refuse(job_id, f"the schedule is {status}, not a plan{why}")
        if not job.valid:
            raise _refuse(job_id, job.error or "the schedule did not pass the validator")
        if job.kind == JobKind.QUOTE and not _quote_held(s, job, now):
            raise _refuse(job_id, f"its quote '{job.params.get('quote')}' is not an order: "
                                  "it was not reserved, or its hold has expired")
        problem_data, schedule = job.problem, job.schedule
    # the validator again, outside the lock: the stored documents must still agree
    faults = validate(load_problem(problem_data), schedule)
    if faults:
        raise _refuse(job_id, "the schedule fails the validator: " + "; ".join(faults[:5]))
    with transaction(sessions) as s:
        _lock_publications(s)
        current = latest_publication(s)
        if if_none and current is not None:
            raise PreconditionFailed(
                f"a schedule has been published meanwhile ({etag(current)})",
                title="Precondition Failed",
                faults=[{"field": "If-None-Match", "message": f"{etag(current)} is current"}],
            )
        if if_match is not None and not _etag_matches(if_match, current):
            now_is = f"the current one is {etag(current)}" if current else "nothing is published"
            raise PreconditionFailed(
                f"If-Match {if_match} does not name the current publication: {now_is}",
                title="Precondition Failed",
                faults=[{"field": "If-Match", "message": now_is}],
            )
        pub = Publication(job_id=job_id, published_at=stamp(now))
        s.add(pub)
        s.flush()
        return pub
