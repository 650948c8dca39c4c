"""The SPEC section 1 problem a job solves: a factory version plus open orders, at a time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.domain import Conflict, Invalid
from app.services import factory as factory_svc
from app.services import orders as orders_svc
from app.services import pins as pins_svc
from app.services.floor import apply_floor_state
from app.tables import FactoryVersion
from solver.planning.section6 import admit_fixed
from solver.problem import load_plannable

log = logging.getLogger("rackplan.problems")


def build_problem(
    session: Session,
    factory: FactoryVersion,
    horizon_start: datetime,
    objective: str,
    order_ids: Sequence[str] | None = None,
    name: str | None = None,
    pins: pins_svc.Report | None = None,
    *,
    keep_pins: bool = True,
) -> dict[str, Any]:
    """The problem document for the open orders and held quotes (all, or `order_ids`),
    starting at `horizon_start` floored to the minute, with the floor's state up to then as
    facts (`app.services.floor`) and, unless not `keep_pins`, the pins (`app.services.pins`;
    what became of each is written into `pins` when given)."""
    rows = orders_svc.open_orders(session, order_ids, now=horizon_start)
    if order_ids is not None:
        missing = sorted(set(order_ids) - {r.id for r in rows})
        if missing:
            raise Invalid(
                f"orders not open or unknown: {', '.join(missing[:10])}",
                [{"field": "orders", "id": m, "message": f"order '{m}' is unknown or cancelled"}
                 for m in missing],
            )
    if not rows:
        raise Conflict("there are no open orders to plan")
    start = floor_minute(horizon_start)
    problem = {
        "name": name or f"plan-{stamp(start)}",
        "horizon_start": stamp(start),
        **factory.data,
        "orders": [orders_svc.spec_dict(r) for r in rows],
        "objective": objective,
    }
    # what happened on the floor up to the horizon's start is a fact of the plan
    problem, notes = apply_floor_state(session, problem, horizon_start)
    # racks the floor has started at a site are facts: the quotas admit them
    problem, relaxed = admit_fixed(problem)
    for note in [*notes, *relaxed]:
        log.warning("%s", note)
    if not keep_pins:
        return problem
    # the planners' pins: fixed steps and allowed sites, each kept or reported
    problem, report = pins_svc.apply_pins(problem, pins_svc.list_pins(session), order_ids)
    for d in report["dropped"]:
        log.warning("pin %s not kept: %s", d["pin"], d["reason"])
    if pins is not None:
        pins.update(report)
    return problem


def current_problem(session: Session, now: datetime, *, keep_pins: bool = True,
                    pins: pins_svc.Report | None = None) -> dict[str, Any] | None:
    """What a solve of every open order on the latest factory would plan from `now`, or
    None when there is nothing to plan (no factory, or no open orders)."""
    fv = factory_svc.latest(session)
    if fv is None:
        return None
    try:
        return build_problem(session, fv, now, "tardiness", pins=pins, keep_pins=keep_pins)
    except Conflict:
        return None


def plannable(problem: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The problem without the orders it cannot build, and those orders as the schedule's
    `unplanned` entries (`solver.problem.load_plannable`: any other fault, or no order
    left to plan, raises `ProblemError` naming every fault)."""
    got = load_plannable(problem, plan_stale=True)
    unplanned = got.unplanned_dicts()
    if not unplanned:
        return problem, []
    out = {u["order"] for u in unplanned}
    rest = {**problem, "orders": [o for o in problem["orders"] if o["id"] not in out]}
    if "fixed" in problem:
        rest["fixed"] = [f for f in problem["fixed"] if f["order"] not in out]
    for u in unplanned:
        log.warning("left out of the plan: %s", u["reason"])
    return rest, unplanned
