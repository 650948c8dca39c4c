"""Factory versions: every change is a new version; schedules record the one they used."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.domain import Conflict
from app.schemas.factory import FactoryIn
from app.tables import FactoryVersion
from solver.problem import load_problem


def check_factory(data: dict[str, Any], now: datetime) -> None:
    """Raise `ProblemError` naming every fault of a factory model (as SPEC section 1)."""
    load_problem({**data, "horizon_start": stamp(floor_minute(now)),
                  "orders": []})


def latest(session: Session) -> FactoryVersion | None:
    """The current factory version, or None on an empty database."""
    return session.scalars(
        select(FactoryVersion).order_by(FactoryVersion.version.desc()).limit(1)
    ).first()


def require_latest(session: Session) -> FactoryVersion:
    """The current factory version; Conflict when there is none yet."""
    fv = latest(session)
    if fv is None:
        raise Conflict("no factory model yet: PUT /factory first")
    return fv


def put_factory(
    session: Session, data: dict[str, Any], now: datetime
) -> tuple[FactoryVersion, bool]:
    """Store `data` as a new version unless it equals the current one: (version, created).

    The model is stored in its normal form (defaults written out, unset fields left out),
    so the same factory compares equal however it was sent or seeded."""
    check_factory(data, now)  # raises ProblemError naming every fault
    data = FactoryIn.model_validate(data).model_dump(mode="json", exclude_none=True)
    current = latest(session)
    if current is not None and current.data == data:
        return current, False
    fv = FactoryVersion(created_at=stamp(now), data=data)
    session.add(fv)
    session.flush()
    return fv, True
