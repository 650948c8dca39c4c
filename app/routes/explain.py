"""`GET /schedules/{job_id}/explain` and `GET /schedules/{job_id}/orders/{order_id}/explain`:
why a schedule's orders are late, and on request what would make them on time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.db import reading
from app.deps import AppState, Reader
from app.errors import problem_responses
from app.schemas.explain import OrderExplanationOut, ScheduleExplanationOut
from app.services import explain as svc

router = APIRouter(prefix="/schedules", tags=["schedules"])

_ERRORS = problem_responses(404, 409, 503)
WhatIf = Annotated[bool, Query(
    description="also try changes that would make the order on time (priority, another site, "
    "one more resource, a shift, more power), each checked by a re-solve of a few seconds")]


@router.get("/{job_id}/explain", operation_id="explainSchedule",
            response_model=ScheduleExplanationOut, responses=_ERRORS)
def explain_schedule(job_id: str, state: AppState, _: Reader,
                     what_if: WhatIf = False) -> JSONResponse:
    """Why each late order of the schedule is late, the summary first: per order the chain
    of waits of its latest rack with their causes (a busy resource and the orders holding
    it, the power cap, shifts, weekends, holidays, downtime, the release, transit, the
    site), its class (structural, priority, capacity, site, plan) and sentences. With
    `what_if=true`, up to three checked counterfactuals for each of the three orders of most
    weighted tardiness (a few seconds each)."""
    with reading(state.sessions) as s:
        problem, schedule = svc.load(s, job_id)
    return JSONResponse(svc.schedule_explanation(job_id, problem, schedule, what_if))


@router.get("/{job_id}/orders/{order_id}/explain", operation_id="explainScheduleOrder",
            response_model=OrderExplanationOut, responses=_ERRORS)
def explain_order(job_id: str, order_id: str, state: AppState, _: Reader,
                  what_if: WhatIf = False) -> JSONResponse:
    """One order of the schedule: on time (its delivery and due date), or why it is late;
    with `what_if=true`, up to three changes that would make it on time, each re-solved
    and validated, with the tardiness it leaves and the cost to the other orders."""
    with reading(state.sessions) as s:
        problem, schedule = svc.load(s, job_id)
    return JSONResponse(svc.order_explanation(job_id, problem, schedule, order_id, what_if))
