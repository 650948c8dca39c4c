"""`GET /schedules/{a}/diff/{b}`: what changed from one schedule to another."""

from __future__ import annotations

from fastapi import APIRouter

from app.db import reading
from app.deps import AppState, Reader
from app.errors import problem_responses
from app.schemas.diff import ScheduleDiff
from app.services import diff as svc

router = APIRouter(prefix="/schedules", tags=["schedules"])


@router.get("/{a}/diff/{b}", operation_id="diffSchedules",
            response_model=ScheduleDiff, responses=problem_responses(404, 409))
def schedule_diff(a: str, b: str, state: AppState, _: Reader) -> ScheduleDiff:
    """What changed from job `a`'s schedule to job `b`'s: steps moved (site change,
    else resource change at the same site, else time shift on the same resource), added
    and removed; orders whose delivery changed and by how many minutes; on-time orders and
    weighted tardiness of both. Times are compared as instants, so schedules with another
    horizon start compare correctly. 404 names a job that does not exist, 409 one without
    a schedule."""
    with reading(state.sessions) as s:
        return ScheduleDiff.model_validate(svc.schedule_diff(s, a, b))
