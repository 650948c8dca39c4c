"""Schedule exports: CSV and XLSX, one row per step plus per-order delivery."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.db import reading
from app.deps import AppState, Reader
from app.errors import problem_responses
from app.services import exports as svc

router = APIRouter(prefix="/schedules", tags=["exports"])

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ERRORS = problem_responses(404, 409)
_CSV_EXAMPLE = (
    "order,unit,step,product,site,resource,timezone,start_local,end_local,start_utc,end_utc,"
    "duration_min\nSO-1002,1,assembly,GB200-NVL72,HOU,HOU-ASM-01,America/Chicago,"
    "2026-11-30T18:00:00-06:00,2026-12-01T02:00:00-06:00,2026-12-01T00:00:00Z,"
    "2026-12-01T08:00:00Z,480\n"
)


def _attachment(body: bytes, media_type: str, name: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/{job_id}/export.csv",
    operation_id="exportScheduleCsv",
    response_class=Response,
    responses={200: {"description": "one row per step", "content": {CSV: {
        "schema": {"type": "string"}, "example": _CSV_EXAMPLE}}}, **_ERRORS},
)
def export_csv(job_id: str, state: AppState, _: Reader) -> Response:
    """The schedule as CSV: one row per step with order, unit, step, product, site,
    resource, local times (ISO with the site's offset; zone in `timezone`), UTC times and
    duration in minutes."""
    with reading(state.sessions) as s:
        problem, schedule = svc.load_schedule(s, job_id)
    return _attachment(svc.to_csv(problem, schedule), CSV, svc.filename(job_id, "csv"))


@router.get(
    "/{job_id}/export.xlsx",
    operation_id="exportScheduleXlsx",
    response_class=Response,
    responses={200: {"description": "sheets `steps` and `orders`", "content": {XLSX: {
        "schema": {"type": "string", "format": "binary"}}}}, **_ERRORS},
)
def export_xlsx(job_id: str, state: AppState, _: Reader) -> Response:
    """The schedule as an Excel workbook: sheet `steps` (one row per step, as in the CSV,
    times as date-time cells) and sheet `orders` (due, delivery, tardiness in minutes, on
    time, sites, and `late_because`: why a late order is late, in one line)."""
    with reading(state.sessions) as s:
        problem, schedule = svc.load_schedule(s, job_id)
    return _attachment(svc.to_xlsx(problem, schedule), XLSX, svc.filename(job_id, "xlsx"))
