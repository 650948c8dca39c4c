"""The API docs, offline: Swagger UI (`/docs`) and ReDoc (`/redoc`) from the files the
`fastapi-offline` package ships (swagger-ui-dist and ReDoc's standalone bundle), started by
our own scripts (`app/static/swagger-init.js`, `redoc-init.js`) so that no page needs an
inline script or a CDN. Both read `/openapi.json`; Swagger UI sends the API key the pages
keep (localStorage) with its "Try it out" requests.

The docs pages have their own Content-Security-Policy (`DOCS_CSP`): only this service's
scripts, plus the inline styles and the blob: worker the two bundles use.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.domain import NotFound
from app.routes.pages import templates

router = APIRouter()

ASSETS: Traversable = files("fastapi_offline").joinpath("static")
ASSET_NAME = re.compile(r"^(swagger-ui-bundle\.js|swagger-ui\.css|redoc\.standalone\.js|"
                        r"favicon\.png)$")
MEDIA = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
# the bundles never change within one installed version: cached for a day
CACHE = {"Cache-Control": "public, max-age=86400"}
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "worker-src blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _docs_page(request: Request, name: str) -> HTMLResponse:
    return templates.TemplateResponse(request, name, headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": DOCS_CSP})


@router.get("/docs", include_in_schema=False)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over `/openapi.json`, offline."""
    return _docs_page(request, "docs.html")


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over `/openapi.json`, offline."""
    return _docs_page(request, "redoc.html")


@router.get("/docs-assets/{name}", include_in_schema=False)
def docs_asset(name: str) -> Response:
    """One of the docs bundles shipped by `fastapi-offline`."""
    if ASSET_NAME.match(name) is None:
        raise NotFound(f"no docs asset named '{name}'")
    body = ASSETS.joinpath(name).read_bytes()
    return Response(body, media_type=MEDIA[name.rsplit(".", 1)[1]], headers=CACHE)
