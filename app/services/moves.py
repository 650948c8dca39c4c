"""Moving one step of a plan: check the move against the rules, then repair the plan
around it.

`submit` checks the move as a pin is checked (`app.services.pins.Placer`: the step on an
eligible resource at an allowed site, the routing and release, and rules 6-8 beside the
plan's fixed steps in the validator's own words) and queues a reschedule job of the plan's
problem with the moved step fixed, from the plan as its reference and with nothing else
frozen: the search starts from the plan repaired to the move and pays for every other step
it moves (`solver.reschedule`). The worker validates the result like any other, and it is
a normal schedule. `wait` follows the job until it ends.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import floor_minute, parse_stamp, stamp
from app.db import reading
from app.domain import Conflict, Invalid
from app.services import jobs as jobs_svc
from app.services.pins import Placer, Refused
from app.tables import Job, JobKind, JobStatus, Pin, PinKind, StepState
from solver.problem import load_problem

DEFAULT_TIME_LIMIT = 2.0  # seconds for the repair: the planner waits for it
FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


def _refuse(field: str, message: str) -> Invalid:
    return Invalid(f"the move is refused: {message}", [{"field": field, "message": message}])


def submit(
    session: Session,
    job_id: str,
    *,
    order: str,
    unit: int,
    op: str,
    resource: str | None,
    start: datetime | None,
    now: datetime,
    time_limit: float | None,
    max_time_limit: float,
    seed: int,
    workers: int,
) -> Job:
    """Check the move of `order`/`unit`/`op` of job `job_id`'s plan to `resource` (default
    its own) from `start` (default its own) and queue the repair; `Invalid` naming the
    rule the move would break, `Conflict` when the job has no valid plan."""
    job = jobs_svc.get_job(session, job_id)
    if not jobs_svc.publishable(job):
        raise Conflict(f"schedule job '{job_id}' has no valid plan to move a step of",
                       faults=[{"id": job_id, "message": f"job is {job.status}"}])
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    if limit > max_time_limit:
        msg = f"time_limit {limit:g} s exceeds the server's maximum of {max_time_limit:g} s"
        raise Invalid(msg, [{"field": "time_limit", "message": msg}])
    step_id = f"{order}/{unit}/{op}"
    schedule = job.schedule or {}
    item = next((i for i in schedule.get("items") or [] if i.get("id") == step_id), None)
    if item is None:
        raise _refuse("op", f"{step_id} is not a step of this plan")
    rid = resource or str(item["group"])
    at = floor_minute(start) if start is not None else parse_stamp(str(item["start"]))
    if rid == item["group"] and stamp(at) == item["start"]:
        raise _refuse("start", f"{step_id} is on {rid} from {stamp(at)} already")
    fact = session.scalars(select(StepState).where(
        StepState.order_id == order, StepState.unit == unit, StepState.op == op)).first()
    if fact is not None:
        raise _refuse("op", f"the floor reports {step_id} started on {fact.resource} at "
                            f"{fact.started_at}: it stays where it runs")
    if at < floor_minute(now):
        raise _refuse("start", f"{stamp(at)} has passed (it is {stamp(now)} now)")
    data = job.problem
    key = (order, unit, op)
    fixed = [f for f in data.get("fixed") or [] if (f["order"], f["unit"], f["op"]) != key]
    placer = Placer(load_problem({**data, "fixed": fixed}))
    try:
        moved = placer.step_pin(Pin(kind=PinKind.STEP, order_id=order, unit=unit, op=op,
                                    resource=rid, start=stamp(at)))
    except Refused as exc:
        raise _refuse(exc.field, exc.message) from None
    assert moved is not None  # not a floor fact: the step was taken out of the fixed steps
    step = {"order": order, "unit": unit, "op": op, "resource": rid,
            "start": stamp(moved.start), "end": stamp(moved.end)}
    problem = {**data, "fixed": [*fixed, step],
               "name": f"{data.get('name') or 'plan'}, {step_id} moved"[:200]}
    params: dict[str, Any] = {
        "objective": job.params.get("objective") or problem.get("objective", "tardiness"),
        "time_limit": limit, "workers": workers, "seed": seed,
        "orders": job.params.get("orders"), "horizon_start": problem["horizon_start"],
        "reference": job.id, "publication": None, "frozen_hours": 0.0,
        "move": {"from": job.id, "step": step_id, "resource": rid,
                 "start": step["start"], "end": step["end"],
                 "was": {"resource": item["group"], "start": item["start"]}},
    }
    if "pins" in job.params:
        params["pins"] = job.params["pins"]
    return jobs_svc.create_job(session, problem, job.factory_version, params,
                               kind=JobKind.RESCHEDULE)


def wait(sessions: sessionmaker[Session], job_id: str, seconds: float) -> Job:
    """The job once it has finished, or as it is after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        with reading(sessions) as s:
            job = jobs_svc.get_job(s, job_id)
            s.expunge(job)
        if job.status in FINISHED or time.monotonic() >= deadline:
            return job
        time.sleep(0.2)


def why_not(job: Job) -> str | None:
    """Why a finished repair is not a plan the move can stand on, or None when it is."""
    if jobs_svc.publishable(job):
        return None
    if job.schedule is not None:
        reasons = [str(r) for r in job.schedule.get("reasons") or []]
        status = job.schedule.get("status")
        if status not in jobs_svc.PLAN_STATUSES:
            return f"no plan can be made around it ({status}" + (
                f": {'; '.join(reasons[:3])})" if reasons else ")")
    return job.error or f"the repair ended {job.status}"
