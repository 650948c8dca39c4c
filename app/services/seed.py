"""The sample factory and orders: package data (`app/sample/`), read through
`importlib.resources` so that an installed rackplan has them too."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from importlib.resources import files
from importlib.resources.abc import Traversable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services import factory as factory_svc
from app.services import orders as orders_svc
from app.tables import FactoryVersion
from solver.problem import load_problem

log = logging.getLogger("rackplan.seed")

SAMPLE_DIR: Traversable = files("app").joinpath("sample")
SAMPLE = SAMPLE_DIR.joinpath("sample.json")
# what `rackplan sample` writes: the sample problem and the example order files
SAMPLE_FILES = ("sample.json", "sample-orders.csv", "sample-orders.xlsx")


def sample_file(name: str) -> Traversable:
    """One of `SAMPLE_FILES` inside the installed package."""
    return SAMPLE_DIR.joinpath(name)


def seed_if_empty(session: Session, now: datetime, path: Traversable = SAMPLE) -> bool:
    """Load `path` (a SPEC problem) as factory version 1 and its orders when the database
    has no factory yet; True when it did."""
    if session.scalars(select(FactoryVersion.version).limit(1)).first() is not None:
        return False
    data = json.loads(path.read_text(encoding="utf-8"))
    problem = load_problem(data)
    factory = {k: data[k] for k in ("sites", "resources", "products")}
    factory_svc.put_factory(session, factory, now)
    orders_svc.upsert(session, problem.orders, now)
    log.info("loaded the sample factory and %d orders from %s", len(problem.orders), path.name)
    return True
