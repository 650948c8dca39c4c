"""`/healthz` (the process answers) and `/readyz` (the database answers)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import AppState
from app.domain import Unavailable

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="getHealth")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="getReadiness")
def readyz(state: AppState) -> dict[str, str]:
    """The database is reachable (503 when not)."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unreachable: {type(exc).__name__}") from None
    return {"status": "ready", "database": state.engine.dialect.name}
