"""The browser pages: the front page, the Gantt view of one schedule, the orders page, the
comparison of two plans and the exceptions, with their own assets (no CDN).

Each page is a Jinja2 template in `app/templates/` that extends `layout.html` (the head
and the navigation), rendered with autoescape on.

The HTML pages hold no data (they are served without a key); everything they show comes
from the API (`/overview`, `/schedules/{id}/gantt`, `/orders`, ...), fetched with the key
the planner typed (kept in the browser's localStorage).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.domain import NotFound

router = APIRouter()

STATIC = Path(__file__).resolve().parents[1] / "static"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(js|css|svg|ico|csv)$")
MEDIA = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml",
         "ico": "image/x-icon", "csv": "text/csv"}
NO_STORE = {"Cache-Control": "no-cache"}


templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
    lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
))


def _page(request: Request, name: str) -> HTMLResponse:
    return templates.TemplateResponse(request, name, headers=NO_STORE)


@router.get("/", include_in_schema=False)
def front_page(request: Request) -> HTMLResponse:
    """The front page: the latest plan's Gantt, solve progress, actions."""
    return _page(request, "index.html")


@router.get("/schedules/{job_id}/view", include_in_schema=False)
def gantt_view(request: Request, job_id: str) -> HTMLResponse:
    """The Gantt page of one schedule (it fetches `/schedules/{job_id}/gantt`)."""
    return _page(request, "view.html")


@router.get("/ui/orders", include_in_schema=False)
def orders_page(request: Request) -> HTMLResponse:
    """The orders page: the orders with their status, and the order-file upload."""
    return _page(request, "orders.html")


@router.get("/ui/compare", include_in_schema=False)
def compare_page(request: Request) -> HTMLResponse:
    """Two plans side by side: `?a=<before>&b=<after>` (it fetches the diff and both
    plans); without them, a choice of two plans."""
    return _page(request, "compare.html")


@router.get("/ui/exceptions", include_in_schema=False)
def exceptions_page(request: Request) -> HTMLResponse:
    """What needs a planner's eye in the published plan (it fetches `/exceptions`)."""
    return _page(request, "exceptions.html")


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    """One of the pages' own scripts and style sheets."""
    m = ASSET_NAME.match(name)
    path = STATIC / name
    if m is None or not path.is_file():
        raise NotFound(f"no asset named '{name}'")
    return FileResponse(path, media_type=MEDIA[m.group(1)], headers=NO_STORE)
