"""`POST /reschedule`: replan the open orders from the floor's state, close to the plan
the floor follows (`solver.reschedule`), as a job like `POST /schedules`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from app.db import transaction
from app.deps import AppState, Planner
from app.errors import problem_responses
from app.routes.schedules import job_out
from app.schemas.reschedule import RescheduleRequest
from app.schemas.schedules import JobOut
from app.services import jobs as svc
from app.services import values

router = APIRouter(prefix="/reschedule", tags=["schedules"])


@router.post("", operation_id="createReschedule",
             status_code=202, response_model=JobOut, responses=problem_responses(409, 422, 429))
def reschedule(
    state: AppState,
    _: Planner,
    response: Response,
    body: Annotated[RescheduleRequest | None, Body()] = None,
) -> JobOut:
    """Queue a reschedule of every open order from now: completed and running steps and
    reported downtime are facts, the published steps starting within `frozen_hours` stay
    where they are, the rest may move at a cost (the plan stays close to the published
    one). 202 at once with the job (poll its `Location`); its schedule has a `reschedule`
    section (kept and released steps, the diff against the published schedule). With
    nothing published it plans from scratch (the section says so). 409: no factory or no
    open orders; 422: a bad field or a time limit over the maximum."""
    body = body or RescheduleRequest()
    st = state.settings
    workers = values.check_workers(body.workers, st)
    with transaction(state.sessions) as s:
        job = svc.submit_reschedule(
            s, now=st.clock(), time_limit=body.time_limit,
            default_time_limit=st.default_time_limit, max_time_limit=st.max_time_limit,
            frozen_hours=st.frozen_hours if body.frozen_hours is None else body.frozen_hours,
            seed=body.seed, workers=workers,
            max_queued=st.max_queued_jobs,
        )
        out = job_out(job, None)
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/schedules/{job.id}"
    return out
