"""The floor's state as facts of a problem: what ran is fixed, down is unavailable.

- a completed step is fixed at its reported times (rounded out to whole minutes);
- a running step is fixed on its resource from its start until start + its duration on
  that resource, or until now when it is already overdue;
- a resource reported down is unavailable from `start` until its `end`, or, with no end
  reported, until it is reported up (for the whole horizon);
- an order whose parts arrived (`order_released`) is released at that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import ceil_minute, floor_minute, parse_stamp, stamp
from app.db import chunked
from app.tables import OrderRelease, ResourceDowntime, StepState

# a window "until it is reported up" reaches past any horizon a plan looks at
OPEN_ENDED = timedelta(days=3 * 365)


def _duration(problem: dict[str, Any], product: str, op: str, resource: str) -> int | None:
    """Minutes of `op` of `product` on `resource`, or None when the routing has no such op."""
    prod = next((p for p in problem["products"] if p["id"] == product), None)
    step = next((s for s in (prod or {}).get("routing", []) if s["op"] == op), None)
    if step is None:
        return None
    for alt in step.get("alternatives") or []:
        if alt["resource"] == resource:
            return int(alt["duration_min"])
    d = step.get("duration_min")
    return int(d) if d is not None else None


def apply_floor_state(
    session: Session, problem: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[str]]:
    """A copy of `problem` with the floor's facts (module docstring), and a note per
    floor fact that no longer fits the orders (a unit or step the order no longer has)."""
    out = {**problem, "resources": [dict(r) for r in problem["resources"]],
           "orders": [dict(o) for o in problem["orders"]]}
    notes: list[str] = []
    orders = {o["id"]: o for o in out["orders"]}
    fixed: list[dict[str, Any]] = list(problem.get("fixed", []))
    now_up = ceil_minute(now)
    ids = list(orders)
    states = [st for chunk in chunked(ids) for st in session.scalars(
        select(StepState).where(StepState.order_id.in_(chunk))
        .order_by(StepState.order_id, StepState.unit, StepState.started_at))]
    for st in states:
        o = orders[st.order_id]
        minutes = _duration(out, o["product"], st.op, st.resource)
        if st.unit > o["quantity"] or minutes is None:
            notes.append(f"floor state of {st.order_id}/{st.unit}/{st.op} ignored: the order "
                         "no longer has that unit or step")
            continue
        start = floor_minute(parse_stamp(st.started_at))
        if st.completed_at is not None:
            end = max(ceil_minute(parse_stamp(st.completed_at)), start + timedelta(minutes=1))
        else:
            end = max(start + timedelta(minutes=minutes), now_up)
        fixed.append({"order": st.order_id, "unit": st.unit, "op": st.op,
                      "resource": st.resource, "start": stamp(start), "end": stamp(end)})
    if fixed:
        out["fixed"] = fixed

    res = {r["id"]: r for r in out["resources"]}
    # windows that ended over a day ago are history: left in the database, not read
    since = floor_minute(now) - timedelta(days=1)
    recent = stamp(since)
    for d in session.scalars(
        select(ResourceDowntime)
        .where(ResourceDowntime.end.is_(None) | (ResourceDowntime.end > recent))
        .order_by(ResourceDowntime.id)
    ):
        r = res.get(d.resource)
        if r is None:
            continue
        # what lies before the plan's start does not matter to it (and an old start would
        # put the problem's times out of range)
        start = max(floor_minute(parse_stamp(d.start)), since)
        end = (ceil_minute(parse_stamp(d.end)) if d.end is not None
               else ceil_minute(now) + OPEN_ENDED)
        if end <= start:
            continue
        r["downtime"] = [*r.get("downtime", []), {"start": stamp(start), "end": stamp(end)}]

    for chunk in chunked(ids):
        for rel in session.scalars(
                select(OrderRelease).where(OrderRelease.order_id.in_(chunk))):
            orders[rel.order_id]["release"] = stamp(floor_minute(parse_stamp(rel.released_at)))
    return out, notes

