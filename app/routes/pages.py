"""The browser pages: the front page and the Gantt view, with their own assets (no CDN),
plus the two reads they are drawn from: the Gantt data and the front page's overview.

The HTML pages hold no data (they are served without a key); everything they show comes
from the API, fetched with the key the planner typed (kept in the browser's localStorage).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse

from app.db import reading
from app.deps import AppState, Reader
from app.domain import NotFound
from app.schemas.gantt import GanttOut, Overview
from app.services import gantt as svc

router = APIRouter()

STATIC = Path(__file__).resolve().parents[1] / "static"
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(js|css|svg|ico|csv)$")
MEDIA = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml",
         "ico": "image/x-icon", "csv": "text/csv"}
NO_STORE = {"Cache-Control": "no-cache"}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown job"},
    409: {"description": "no schedule yet"},
    422: {"description": "a bad filter value, named in `errors`"},
}

FILTER_HELP = "repeat the parameter or separate ids with commas"


@router.get("/schedules/{job_id}/gantt", response_model=GanttOut, tags=["schedules"],
            responses=ERRORS)
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
    f = svc.GanttFilter(
        sites=svc.split_values(site), resources=svc.split_values(resource),
        orders=svc.split_values(order), start=svc.parse_when("from", from_),
        end=svc.parse_when("to", to),
    )
    data = svc.load(state.sessions, svc.cache_of(state.extra), job_id)
    return Response(svc.render(data, f), media_type="application/json")


@router.get("/overview", response_model=Overview, tags=["schedules"])
def overview(state: AppState, _: Reader) -> Overview:
    """What the front page shows: the newest done schedule, solves under way with their
    progress, the published job and the ten newest jobs."""
    with reading(state.sessions) as s:
        return Overview.model_validate(svc.overview(s))


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8",
                        headers=NO_STORE)


@router.get("/", include_in_schema=False)
def front_page() -> FileResponse:
    """The front page: the latest plan's Gantt, solve progress, actions."""
    return _page("index.html")


@router.get("/schedules/{job_id}/view", include_in_schema=False)
def gantt_view(job_id: str) -> FileResponse:
    """The Gantt page of one schedule (it fetches `/schedules/{job_id}/gantt`)."""
    return _page("view.html")


@router.get("/ui/orders", include_in_schema=False)
def orders_page() -> FileResponse:
    """The orders page: the orders with their status, and the order-file upload."""
    return _page("orders.html")


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    """One of the pages' own scripts and style sheets."""
    m = ASSET_NAME.match(name)
    path = STATIC / name
    if m is None or not path.is_file():
        raise NotFound(f"no asset named '{name}'")
    return FileResponse(path, media_type=MEDIA[m.group(1)], headers=NO_STORE)
