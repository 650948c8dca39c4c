"""The sample factory and orders: package data (`app/sample/`), read through
`importlib.resources` so that an installed rackplan has them too.

When the sample is loaded into the service its dates are moved by whole weeks so that it
starts near today (the file keeps its dates): the horizon start falls on today or within
the six days after, on the same weekday as in the file, so that shifts, weekends and
holidays meet the orders as they do in the file and the first plan looks like
`rackplan solve` of the file. The shift is recorded (`Meta` row `sample_shift`) and the
front page states it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services import factory as factory_svc
from app.services import orders as orders_svc
from app.services.overview import SAMPLE_SHIFT_KEY
from app.tables import FactoryVersion, Meta
from solver.problem import load_problem

log = logging.getLogger("rackplan.seed")

SAMPLE_DIR: Traversable = files("app").joinpath("sample")
SAMPLE = SAMPLE_DIR.joinpath("sample.json")
# what `rackplan sample` writes: the sample problem and the example order files
SAMPLE_FILES = ("sample.json", "sample-orders.csv", "sample-orders.xlsx")
# the dates `shift_dates` moves, as (list key, field) pairs of a SPEC problem
SHIFTED = ("horizon_start", "orders.due", "orders.release", "resources.downtime",
           "sites.holidays", "sites.power_windows")


def sample_file(name: str) -> Traversable:
    """One of `SAMPLE_FILES` inside the installed package."""
    return SAMPLE_DIR.joinpath(name)


def _parse(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _moved(text: str, days: int) -> str:
    """An ISO date or date-time `days` later, written as it was (Z kept)."""
    if len(text) == 10:
        return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
    t = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(days=days)
    out = t.isoformat()
    return out.replace("+00:00", "Z") if text.endswith("Z") else out


def shift_days(file_start: datetime, now: datetime) -> int:
    """Whole weeks (in days) that move `file_start` to today or the six days after."""
    behind = (now.astimezone(UTC).date() - file_start.astimezone(UTC).date()).days
    return -(-behind // 7) * 7


def shift_dates(data: dict[str, Any], days: int) -> dict[str, Any]:
    """A copy of the SPEC problem `data` with every date of `SHIFTED` `days` later."""
    out: dict[str, Any] = json.loads(json.dumps(data))
    if not days:
        return out
    out["horizon_start"] = _moved(out["horizon_start"], days)
    for order in out.get("orders", []):
        for key in ("due", "release"):
            if order.get(key):
                order[key] = _moved(order[key], days)
    for res in out.get("resources", []):
        for w in res.get("downtime", []) or []:
            w["start"], w["end"] = _moved(w["start"], days), _moved(w["end"], days)
    for site in out.get("sites", []):
        site["holidays"] = [_moved(d, days) for d in site.get("holidays", []) or []]
        for w in site.get("power_windows", []) or []:
            w["start"], w["end"] = _moved(w["start"], days), _moved(w["end"], days)
    return out


def seed_if_empty(session: Session, now: datetime, path: Traversable = SAMPLE
                  ) -> datetime | None:
    """Load `path` (a SPEC problem) as factory version 1 and its orders, its dates shifted
    to start near `now` (`shift_days`), when the database has no factory yet; the shifted
    horizon start when it did, else None."""
    if session.scalars(select(FactoryVersion.version).limit(1)).first() is not None:
        return None
    original = json.loads(path.read_text(encoding="utf-8"))
    file_start = _parse(original["horizon_start"])
    days = shift_days(file_start, now)
    data = shift_dates(original, days)
    problem = load_problem(data)
    factory = {k: data[k] for k in ("sites", "resources", "products")}
    factory_svc.put_factory(session, factory, now)
    orders_svc.upsert(session, problem.orders, now)
    start = _parse(data["horizon_start"])
    shift = {"days": days, "file_start": original["horizon_start"],
             "start": data["horizon_start"], "fields": list(SHIFTED)}
    row = session.get(Meta, SAMPLE_SHIFT_KEY)
    if row is None:
        session.add(Meta(key=SAMPLE_SHIFT_KEY, value=json.dumps(shift)))
    else:
        row.value = json.dumps(shift)
    log.info("loaded the sample factory and %d orders from %s, dates moved %d days",
             len(problem.orders), path.name, days)
    return start
