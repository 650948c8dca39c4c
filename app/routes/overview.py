"""`GET /overview`: what the front page shows, in one read."""

from __future__ import annotations

from fastapi import APIRouter

from app.db import reading
from app.deps import AppState, Reader
from app.schemas.overview import Overview
from app.services import overview as svc

router = APIRouter(tags=["schedules"])


@router.get("/overview", operation_id="getOverview", response_model=Overview)
def overview(state: AppState, _: Reader) -> Overview:
    """What the front page shows: the published plan (the one the floor follows) and the
    newest valid plan not published yet, solves under way with their progress, the ten
    newest jobs with kind, name, objective and KPIs, and how the sample's dates were
    shifted when it was loaded."""
    with reading(state.sessions) as s:
        return Overview.model_validate(svc.overview(s))
