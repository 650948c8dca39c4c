"""`GET /overview`: what the front page shows, in one read."""

from __future__ import annotations

from fastapi import APIRouter

from app.db import reading
from app.deps import AppState, Reader
from app.schemas.gantt import Overview
from app.services import gantt as svc

router = APIRouter(tags=["schedules"])


@router.get("/overview", operation_id="getOverview", response_model=Overview)
def overview(state: AppState, _: Reader) -> Overview:
    """What the front page shows: the newest done schedule, solves under way with their
    progress, the published job and the ten newest jobs."""
    with reading(state.sessions) as s:
        return Overview.model_validate(svc.overview(s))
