"""The capacity report: `POST /capacity` (a problem sent in, or the current factory and
open orders), `GET /schedules/{job_id}/capacity` (a plan's load), and the page that
draws it (`/ui/capacity`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse

from app.db import reading
from app.deps import AppState, Reader
from app.routes.pages import templates
from app.services import capacity as svc

router = APIRouter(tags=["capacity"])

BUCKET = Query(description="time buckets: day, week or a whole number of minutes",
               examples=["week"])
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad bucket or a problem that does not check, named in `errors`"},
}


@router.post("/capacity", operation_id="createCapacityReport", response_model=dict[str, Any],
             responses={**ERRORS, 409: {"description": "no factory or no open orders"}})
def capacity(
    state: AppState,
    _: Reader,
    problem: Annotated[dict[str, Any] | None, Body(
        description="a SPEC section 1 problem; none: the current factory and open orders")
    ] = None,
    bucket: Annotated[str, BUCKET] = "week",
) -> dict[str, Any]:
    """The capacity report (docs/planning.md): per site, resource group and bucket the
    available minutes, the allocation's load and utilisation, the power against the cap,
    the product families' shares, the bottleneck buckets and the orders late whatever
    the sequence. Computed now; nothing is stored."""
    svc.check_bucket(bucket)
    if problem is None:
        with reading(state.sessions) as s:
            problem = svc.current_problem(s, state.settings.clock())
    return svc.report(problem, None, bucket)


@router.get("/schedules/{job_id}/capacity", operation_id="getScheduleCapacity",
            response_model=dict[str, Any],
            responses={**ERRORS, 404: {"description": "unknown job"},
                       409: {"description": "no schedule yet"}})
def schedule_capacity(
    job_id: str, state: AppState, _: Reader, bucket: Annotated[str, BUCKET] = "week",
) -> dict[str, Any]:
    """The capacity report of one plan: its problem, with the load its schedule puts on
    each resource group and site's power, beside the allocation's."""
    return svc.of_job(state.sessions, job_id, bucket)


@router.get("/ui/capacity", include_in_schema=False)
def capacity_page(request: Request) -> HTMLResponse:
    """The capacity page of the current factory and open orders: heat maps of utilisation,
    sites by buckets (it posts to `/capacity`)."""
    return templates.TemplateResponse(request, "capacity.html",
                                      headers={"Cache-Control": "no-cache"})


@router.get("/schedules/{job_id}/capacity/view", include_in_schema=False)
def schedule_capacity_page(request: Request, job_id: str) -> HTMLResponse:
    """The capacity page of one plan (it fetches `/schedules/{job_id}/capacity`)."""
    return templates.TemplateResponse(request, "capacity.html",
                                      headers={"Cache-Control": "no-cache"})
