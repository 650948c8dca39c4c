"""The diff between the schedules of two jobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain import Conflict, DomainError, NotFound
from app.tables import Job
from solver.diff import diff

USABLE = ("OPTIMAL", "FEASIBLE")


def _schedule(session: Session, field: str, job_id: str) -> dict[str, Any]:
    """Job `job_id`'s schedule: NotFound when the job does not exist, Conflict when it has
    none."""
    job = None if "\x00" in job_id else session.get(Job, job_id)
    if job is None:
        raise NotFound(f"schedule job '{job_id}' ({field}) does not exist",
                       faults=[{"field": field, "id": job_id, "message": "unknown job"}])
    schedule = job.schedule
    if schedule is None or schedule.get("status") not in USABLE:
        why = (f"it is {job.status}" if schedule is None
               else f"the result is {schedule.get('status', 'empty')}")
        raise Conflict(f"schedule job '{job_id}' ({field}) has no schedule to compare: {why}",
                       faults=[{"field": field, "id": job_id, "message": why}])
    return schedule


def schedule_diff(session: Session, a: str, b: str) -> dict[str, Any]:
    """What changed from job `a`'s schedule to job `b`'s (`solver.diff.diff`), with both
    ids; every missing job is named (NotFound), else every job without a schedule
    (Conflict)."""
    refusals: list[DomainError] = []
    schedules: list[dict[str, Any]] = []
    for field, job_id in (("a", a), ("b", b)):
        try:
            schedules.append(_schedule(session, field, job_id))
        except (NotFound, Conflict) as e:
            refusals.append(e)
    if refusals:
        missing = [e for e in refusals if isinstance(e, NotFound)]
        named = missing or refusals
        kind = NotFound if missing else Conflict
        raise kind("; ".join(e.detail for e in named),
                   faults=[f for e in named for f in e.faults])
    return {"a": a, "b": b, **diff(schedules[0], schedules[1])}
