"""Capacity reports for the API: of a problem sent in, of the current factory and open
orders, or of one plan's load (`solver.planning.report`).

The report is computed on request (the allocation's model within a few seconds, see
`ALLOCATION_SECONDS`); nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import reading
from app.domain import Conflict, Invalid, NotFound
from app.services import factory as factory_svc
from app.services.problems import build_problem, plannable
from app.tables import Job
from solver.planning.grid import bucket_minutes
from solver.planning.report import capacity_report
from solver.problem import ProblemError, load_problem

# the allocation's model in an API request: build and HiGHS together, at most
ALLOCATION_SECONDS = 10.0


def check_bucket(bucket: str) -> str:
    """The bucket as asked (day, week or whole minutes); Invalid naming ``bucket``."""
    try:
        bucket_minutes(bucket, "bucket")
    except ProblemError as exc:
        raise Invalid(exc.errors[0], [{"field": "bucket", "value": bucket,
                                       "message": exc.errors[0]}]) from None
    return bucket


def report(problem_data: dict[str, Any], schedule: dict[str, Any] | None, bucket: str,
           allocation_seconds: float = ALLOCATION_SECONDS) -> dict[str, Any]:
    """The report of a problem document (and a schedule of it). A problem that does not
    check raises `ProblemError` naming every fault."""
    check_bucket(bucket)
    problem = load_problem(problem_data)
    got = capacity_report(problem, schedule, bucket=bucket,
                          allocation_seconds=allocation_seconds)
    return got.to_dict()


def current_problem(session: Session, now: datetime) -> dict[str, Any]:
    """The current factory version with the open orders, from `now` (Conflict without a
    factory or open orders)."""
    fv = factory_svc.require_latest(session)
    # orders the factory cannot build are left out, as a solve leaves them out
    return plannable(build_problem(session, fv, now, "tardiness", None, name="capacity"))[0]


def of_job(sessions: sessionmaker[Session], job_id: str, bucket: str) -> dict[str, Any]:
    """The report of a job's plan: its problem and its schedule's load. NotFound for an
    unknown job, Conflict when it has no schedule yet."""
    check_bucket(bucket)
    with reading(sessions) as s:
        row = s.execute(select(Job.status, Job.problem, Job.schedule)
                        .where(Job.id == job_id)).first()
    if row is None:
        raise NotFound(f"schedule job '{job_id}' does not exist")
    status, problem, schedule = row
    if not schedule or not schedule.get("items"):
        raise Conflict(f"schedule job '{job_id}' is {status} and has no schedule yet")
    out = report(problem, schedule, bucket)
    out["job_id"] = job_id
    return out
