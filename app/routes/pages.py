"""The browser pages: the front page, the Gantt view of one schedule and the orders page,
with their own assets (no CDN).

The HTML pages hold no data (they are served without a key); everything they show comes
from the API (`/overview`, `/schedules/{id}/gantt`, `/orders`, ...), fetched with the key
the planner typed (kept in the browser's localStorage).
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.domain import NotFound

router = APIRouter()

STATIC = Path(__file__).resolve().parents[1] / "static"
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(js|css|svg|ico|csv)$")
MEDIA = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml",
         "ico": "image/x-icon", "csv": "text/csv"}
NO_STORE = {"Cache-Control": "no-cache"}


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
