"""`GET /schedules/{job_id}/gantt`: a schedule's Gantt rows and bars, filtered, with the
sites' calendars and power profiles, the bars' floor states, now and the frozen window
(what the Gantt pages draw)."""

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
    horizon and the sites' calendars (open windows, shift starts, local midnights) and
    power profiles (running kW against the cap in force). Each bar has its state on the
    floor now (planned, running, done, from the floor events) and whether the solve held
    it fixed; each row its utilisation; the answer has the service's now and the frozen
    window the next reschedule keeps (`frozen_hours` from now)."""
    start, end = svc.parse_when("from", from_), svc.parse_when("to", to)
    for name, t in (("from", start), ("to", end)):
        values.check_time(name, t, state.settings, state.settings.clock())
    f = svc.GanttFilter(
        sites=svc.split_values(site), resources=svc.split_values(resource),
        orders=svc.split_values(order), start=start, end=end,
    )
    data = svc.load(state.sessions, svc.cache_of(state.extra), job_id)
    clock = svc.Clock(now=state.settings.clock(), frozen_hours=state.settings.frozen_hours)
    svc.check_filter(data, f)  # a bad filter is refused before the floor is read
    items = svc.floor_items(state.sessions, data)
    return Response(svc.render(data, f, items, clock), media_type="application/json")
