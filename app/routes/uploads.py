"""`POST /orders/upload`: order files (CSV, XLSX) checked as a whole, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.routing import APIRoute

from app.deps import AppState, OrderWriter
from app.services import uploads as svc
from app.services.uploads import UploadResult

MULTIPART_SLACK = 64 * 1024  # room for the multipart envelope around the file itself


class _BoundedBodyRoute(APIRoute):
    """Answers 413 from the Content-Length header alone, before a too-large body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            limit: int = request.app.state.rackplan.settings.max_upload_bytes
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit + MULTIPART_SLACK:
                raise svc.too_large(limit)
            return await handler(request)

        return bounded


router = APIRouter(tags=["orders"], route_class=_BoundedBodyRoute)

_PROBLEM: dict[str, Any] = {"schema": {
    "type": "object", "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    }}}
_ROW_FAULTS = {
    "type": "about:blank", "title": "Invalid order file", "status": 422,
    "detail": "2 faults in 2 rows; nothing was read: row 3, column quantity ('0'): must be "
              "at least 1; row 5, column product ('GB400'): not a product of the factory "
              "(GB200-NVL72, GB300-NVL72, NVSW-SPINE)",
    "instance": "/orders/upload",
    "errors": [
        {"row": 3, "column": "quantity", "value": "0", "message": "must be at least 1"},
        {"row": 5, "column": "product", "value": "GB400",
         "message": "not a product of the factory (GB200-NVL72, GB300-NVL72, NVSW-SPINE)"},
    ],
}
_CSV_EXAMPLE = (
    "id,customer,product,quantity,due,release,weight,destination,allowed_sites\n"
    "SO-2001,Stratus AI,GB300-NVL72,4,2026-12-18T17:00:00-06:00,2026-12-02,3,us-central,"
    "HOU;CMH\n"
    "SO-2002,,NVSW-SPINE,8,2026-12-21,,,us-east,\n"
)


def _problem(description: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI error answer: problem+json, with an example when given."""
    media: dict[str, Any] = {**_PROBLEM, **({"example": example} if example else {})}
    return {"description": description, "content": {"application/problem+json": media}}


_DESCRIPTION = f"""
Upload planners' orders as a file: **CSV** (UTF-8, comma-separated) or **Excel .xlsx**
(the first sheet). One order per row under a header row; column names are matched without
regard to case or surrounding spaces, and an unknown column is refused.

| column | required | value |
|---|---|---|
| `id` | yes | order id, unique in the file |
| `product` | yes | a product id of the factory |
| `quantity` | yes | whole number >= 1 |
| `due` | yes | ISO 8601 date-time with offset (`2026-12-20T06:00:00Z`), or without one / a \
plain date (00:00), then read in `timezone`; an Excel date cell is read the same way |
| `customer` | no | text |
| `release` | no | a date-time as for `due`, not after it |
| `weight` | no | number > 0, default 1 |
| `destination` | no | a destination of some site's `transit_min` |
| `allowed_sites` | no | site ids separated by `;` (empty: all) |

Orders are inserted or updated by id in one transaction: a file with any bad row is
refused as a whole (422, `errors` lists every fault with `row` — the header is row 1 —,
`column`, `value` and `message`), and the same file twice changes nothing. A cancelled
order in the file is reopened. `dry_run=true` checks and answers what would change, and
writes nothing.

Example CSV:

```
{_CSV_EXAMPLE}```
"""


@router.post(
    "/orders/upload",
    operation_id="uploadOrders",
    response_model=UploadResult,
    summary="Upload an order file (CSV or XLSX)",
    description=_DESCRIPTION,
    responses={
        200: {"content": {"application/json": {"example": {
            "created": ["SO-2001"], "updated": ["SO-2002"], "unchanged": [],
            "rows": 2, "format": "csv", "dry_run": False}}}},
        401: _problem("no valid X-API-Key"),
        403: _problem("the key's role may not write orders"),
        409: _problem("no factory model yet"),
        413: _problem("the file is larger than the set limit (RACKPLAN_MAX_UPLOAD_BYTES)"),
        415: _problem("the file is neither CSV nor XLSX"),
        422: _problem("bad rows (every one listed), an unreadable file or a bad `timezone`",
                      _ROW_FAULTS),
    },
)
def upload_orders(
    file: Annotated[UploadFile, File(description="the order file: .csv (UTF-8) or .xlsx")],
    state: AppState,
    _: OrderWriter,
    dry_run: Annotated[bool, Query(description="only check; write nothing")] = False,
    timezone: Annotated[str, Query(
        description="IANA time zone for date-times without an offset and plain dates",
        examples=["America/Chicago"])] = "UTC",
) -> UploadResult:
    """Insert or update the orders of a CSV or XLSX file, all or nothing."""
    content = svc.read_limited(file.file, state.settings.max_upload_bytes)
    return svc.import_orders(
        state.sessions, content, filename=file.filename, content_type=file.content_type,
        timezone=timezone, dry_run=dry_run, now=state.settings.clock(),
        limits=state.settings.limits(), max_faults=state.settings.max_faults,
    )
