"""Factory versions: every change is a new version; schedules record the one they used."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.domain import Conflict
from app.schemas.factory import FactoryIn
from app.tables import FactoryVersion
from solver.problem import Limits, load_problem


def check_factory(data: dict[str, Any], now: datetime, limits: Limits | None = None) -> None:
    """Raise `ProblemError` naming every fault of a factory model (as SPEC section 1; its
    downtime and holidays within the window of `limits` around `now`)."""
    load_problem({**data, "horizon_start": stamp(floor_minute(now)),
                  "orders": []}, limits)


def normal_times(value: Any) -> Any:
    """`value` (a model's python dump) with every time as a UTC stamp and every date as
    `YYYY-MM-DD`: the one form stored times have."""
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: normal_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal_times(v) for v in value]
    return value


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
    session: Session, data: dict[str, Any], now: datetime, limits: Limits | None = None
) -> tuple[FactoryVersion, bool]:
    """Store `data` as a new version unless it equals the current one: (version, created).

    The model is stored in its normal form (defaults written out, unset fields left out,
    times in UTC), so the same factory compares equal however it was sent or seeded."""
    check_factory(data, now, limits)  # raises ProblemError naming every fault
    data = normal_times(FactoryIn.model_validate(data).model_dump(exclude_none=True))
    current = latest(session)
    if current is not None and current.data == data:
        return current, False
    fv = FactoryVersion(created_at=stamp(now), data=data)
    session.add(fv)
    session.flush()
    return fv, True
