"""`GET /exceptions`: what needs a planner's eye in the published plan."""

from __future__ import annotations

from fastapi import APIRouter

from app.db import reading
from app.deps import AppState, Reader
from app.schemas.exceptions import ExceptionsOut
from app.services import exceptions as svc

router = APIRouter(tags=["schedules"])


@router.get("/exceptions", operation_id="listExceptions", response_model=ExceptionsOut)
def exceptions(state: AppState, _: Reader) -> ExceptionsOut:
    """One list of what needs a planner's eye, from the published plan: late orders (most
    weighted minutes first), orders left out of the plan (`unplanned`, with the reason),
    orders at risk (delivered less than `RACKPLAN_AT_RISK_HOURS` before their due), the
    frozen steps the last reschedule released (with the reason), and resources idle for
    more than a day of open time while orders that could use them are late. Each entry
    links to the order, the plan or its Gantt. Nothing published: no entries but the
    released steps."""
    with reading(state.sessions) as s:
        return ExceptionsOut.model_validate(svc.exceptions(s, state.settings.at_risk_hours))
