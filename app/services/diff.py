"""The diff between the schedules of two jobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.errors import ApiError
from app.tables import Job
from solver.diff import diff

USABLE = ("OPTIMAL", "FEASIBLE")


def _schedule(session: Session, field: str, job_id: str) -> dict[str, Any]:
    """Job `job_id`'s schedule: 404 when the job does not exist, 409 when it has none."""
    job = None if "\x00" in job_id else session.get(Job, job_id)
    if job is None:
        raise ApiError(404, f"schedule job '{job_id}' ({field}) does not exist",
                       errors=[{"field": field, "id": job_id, "message": "unknown job"}])
    schedule = job.schedule
    if schedule is None or schedule.get("status") not in USABLE:
        why = (f"it is {job.status}" if schedule is None
               else f"the result is {schedule.get('status', 'empty')}")
        raise ApiError(409, f"schedule job '{job_id}' ({field}) has no schedule to compare: "
                       f"{why}", errors=[{"field": field, "id": job_id, "message": why}])
    return schedule


def schedule_diff(session: Session, a: str, b: str) -> dict[str, Any]:
    """What changed from job `a`'s schedule to job `b`'s (`solver.diff.diff`), with both
    ids; every missing job or schedule is named (404 before 409)."""
    faults: list[ApiError] = []
    schedules: list[dict[str, Any]] = []
    for field, job_id in (("a", a), ("b", b)):
        try:
            schedules.append(_schedule(session, field, job_id))
        except ApiError as e:
            faults.append(e)
    if faults:
        worst = min(e.status for e in faults)
        named = [e for e in faults if e.status == worst]
        raise ApiError(worst, "; ".join(e.detail for e in named),
                       errors=[x for e in named for x in e.errors])
    return {"a": a, "b": b, **diff(schedules[0], schedules[1])}
