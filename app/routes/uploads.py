"""`POST /orders/upload`: order files (CSV, XLSX) checked as a whole, all or nothing.

The body's size is bounded while it streams (`app.http_guard`); the file's own size, and
the size it is once read, here and in the reader."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from starlette.datastructures import UploadFile as StarletteUploadFile

from app.deps import AppState, OrderWriter
from app.domain import Fault, Invalid
from app.services import uploads as svc
from app.services.uploads import UploadResult
from solver.formats.orders import FileLimits

router = APIRouter(tags=["orders"])


async def one_file(request: Request) -> None:
    """Refuse a form holding more than the one file, or a file under another name than
    `file` (never drop one silently). The body's size was bounded while it was read."""
    form = await request.form()  # already parsed for the route: the same form
    files = [(name, v) for name, v in form.multi_items() if isinstance(v, StarletteUploadFile)]
    named = sum(1 for name, _ in files if name == "file")
    extra = [name for name, _ in files if name != "file"] + ["file"] * (named - 1)
    if named and extra:  # (no `file` at all: the route's own check names it)
        faults: list[Fault] = [
            {"field": name, "message": "an upload takes one file, in the field 'file'"}
            for name in extra]
        raise Invalid(f"the form holds {len(files)} files: an upload takes one, in the "
                      "field 'file'", faults)


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
        413: _problem("the file is larger than the set limits (RACKPLAN_MAX_UPLOAD_BYTES; "
                      "rows, columns, a workbook unzipped: RACKPLAN_MAX_UPLOAD_ROWS, "
                      "_COLUMNS, _UNZIPPED_BYTES)"),
        415: _problem("the file is neither CSV nor XLSX"),
        422: _problem("bad rows (every one listed), an unreadable file, a bad `timezone` or "
                      "a second file in the form",
                      _ROW_FAULTS),
    },
)
def upload_orders(
    file: Annotated[UploadFile, File(description="the order file: .csv (UTF-8) or .xlsx")],
    state: AppState,
    _: OrderWriter,
    __: Annotated[None, Depends(one_file)],
    dry_run: Annotated[bool, Query(description="only check; write nothing")] = False,
    timezone: Annotated[str, Query(
        description="IANA time zone for date-times without an offset and plain dates",
        examples=["America/Chicago"])] = "UTC",
) -> UploadResult:
    """Insert or update the orders of a CSV or XLSX file, all or nothing."""
    settings = state.settings
    content = svc.read_limited(file.file, settings.max_upload_bytes)
    limits = FileLimits(rows=settings.max_upload_rows, columns=settings.max_upload_columns,
                        unzipped_bytes=settings.max_upload_unzipped_bytes)
    return svc.import_orders(
        state.sessions, content, filename=file.filename, content_type=file.content_type,
        timezone=timezone, dry_run=dry_run, now=settings.clock(),
        limits=settings.limits(), max_faults=settings.max_faults, file_limits=limits,
    )
