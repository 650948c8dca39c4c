"""`GET /schedules/{job_id}/gantt`: a schedule's Gantt rows and bars, filtered, with the
sites' calendars for the time axis (what the Gantt pages draw)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.deps import AppState, Reader
from app.schemas.gantt import GanttOut
from app.services import gantt as svc
from app.services import values

router = APIRouter(prefix="/schedules", tags=["schedules"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown job"},
    409: {"description": "no schedule yet"},
    422: {"description": "a bad filter value, named in `errors`"},
}
FILTER_HELP = "repeat the parameter or separate ids with commas"


@router.get("/{job_id}/gantt", operation_id="getScheduleGantt",
            response_model=GanttOut, responses=ERRORS)
def gantt(
    job_id: str,
    state: AppState,
    _: Reader,
    site: Annotated[list[str] | None, Query(description=f"site ids; {FILTER_HELP}")] = None,
    resource: Annotated[list[str] | None,
                        Query(description=f"resource ids; {FILTER_HELP}")] = None,
    order: Annotated[list[str] | None, Query(description=f"order ids; {FILTER_HELP}")] = None,
    from_: Annotated[str | None, Query(
        alias="from", description="bars ending after this ISO time with offset",
        examples=["2026-12-02T00:00:00Z"])] = None,
    to: Annotated[str | None, Query(
        description="bars starting before this ISO time with offset",
        examples=["2026-12-04T00:00:00Z"])] = None,
) -> Response:
    """The schedule's Gantt rows and bars, filtered by site, resource, order and a time
    window (bars overlapping [from, to)), with the orders' delivery and tardiness, the
    horizon and the sites' calendars (open windows, shift starts, local midnights)."""
    start, end = svc.parse_when("from", from_), svc.parse_when("to", to)
    for name, t in (("from", start), ("to", end)):
        values.check_time(name, t, state.settings, state.settings.clock())
    f = svc.GanttFilter(
        sites=svc.split_values(site), resources=svc.split_values(resource),
        orders=svc.split_values(order), start=start, end=end,
    )
    data = svc.load(state.sessions, svc.cache_of(state.extra), job_id)
    return Response(svc.render(data, f), media_type="application/json")
