"""Floor events: checked against the factory, the orders and the floor state, applied in
list order, stored with the state they derive (step_states, resource_downtimes,
order_releases) in one transaction.

Downtime and steps: a step cannot start on a resource the floor has reported down at that
moment (a window with `start <= at < end`, or with no end yet). A `resource_down` over a
step already running on that resource is accepted all the same: the line going down is a
fact, and so is the rack on it; the running step stays running (the planner keeps it fixed,
and fixed steps are exempt from windows). A completion is never checked against downtime.

What no plan could keep is refused, naming the event: a step of a unit at another site
than the unit's steps so far (SPEC rule 4), and a `resource_down` that overlaps a window
already reported for the resource (one `resource_up` ends one `resource_down`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.db import chunked
from app.domain import Conflict, Fault, Invalid
from app.schemas.events import (
    EventBatchResult,
    FloorEvent,
    OrderReleased,
    ResourceDown,
    ResourceUp,
    StepCompleted,
    StepProgress,
    StepStarted,
    UnitProgress,
)
from app.services import factory as factory_svc
from app.tables import (
    Event,
    Order,
    OrderRelease,
    OrderStatus,
    ResourceDowntime,
    StepState,
)
from solver.problem import Problem, Product, eligible


class Refused(Exception):
    """One event is nonsense: the field at fault and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def payload(ev: FloorEvent) -> dict[str, Any]:
    """The event's content in normal form (times as UTC stamps), without id and type."""
    out: dict[str, Any] = {}
    for k, v in ev.model_dump(exclude={"event_id", "type"}).items():
        out[k] = stamp(v) if isinstance(v, datetime) else v
    return out


class _Floor:
    """The factory and database as one batch sees them, with the checks and writes."""

    def __init__(self, session: Session, factory: dict[str, Any], now: datetime,
                 skew: timedelta = timedelta(0)) -> None:
        self.s = session
        self.now = now
        self.skew = skew
        self.problem = Problem.model_validate(
            {**factory, "horizon_start": stamp(floor_minute(now)),
             "orders": []})
        self.resources = {r.id: r for r in self.problem.resources}

    # ---- lookups ------------------------------------------------------------------------
    def not_future(self, field: str, t: datetime) -> str:
        """`t` as a stamp; a time at most `skew` ahead of now (a fast MES clock) is now."""
        if t > self.now + self.skew:
            raise Refused(field, f"{stamp(t)} is in the future (now is {stamp(self.now)}, "
                                 f"with {self.skew.total_seconds():g} s for clock skew)")
        return stamp(min(t, self.now))

    def order(self, order_id: str) -> Order:
        row = self.s.get(Order, order_id)
        if row is None:
            raise Refused("order", f"order '{order_id}' does not exist")
        if row.status == OrderStatus.CANCELLED:
            raise Refused("order", f"order '{order_id}' is cancelled")
        if row.status == OrderStatus.QUOTED:
            raise Refused("order", f"order '{order_id}' is a quote, not an order yet: "
                                   f"confirm it first (POST /orders/{order_id}/confirm)")
        return row

    def step(self, ev: StepStarted | StepCompleted) -> tuple[Order, Product, int]:
        """The order, its product and the index of `ev.op` in the routing."""
        order = self.order(ev.order)
        if ev.unit > order.quantity:
            raise Refused("unit", f"unit {ev.unit} is not in 1..{order.quantity} "
                                  f"(order '{order.id}' has {order.quantity} units)")
        product = next((p for p in self.problem.products if p.id == order.product), None)
        if product is None:
            raise Refused("order", f"order '{order.id}': product '{order.product}' is not "
                                   "in the current factory")
        ops = [st.op for st in product.routing]
        if ev.op not in ops:
            raise Refused("op", f"op '{ev.op}' is not in the routing of {product.id} "
                                f"({', '.join(ops)})")
        return order, product, ops.index(ev.op)

    def resource(self, resource_id: str) -> None:
        if resource_id not in self.resources:
            raise Refused("resource", f"resource '{resource_id}' does not exist")

    def state(self, order_id: str, unit: int, op: str) -> StepState | None:
        return self.s.get(StepState, (order_id, unit, op))

    # ---- the events ---------------------------------------------------------------------
    def started(self, ev: StepStarted) -> None:
        order, product, i = self.step(ev)
        self.resource(ev.resource)
        step = product.routing[i]
        if ev.resource not in {r.id for r, _ in eligible(self.problem, product, step)}:
            raise Refused("resource", f"resource '{ev.resource}' cannot run {ev.op} of "
                                      f"{product.id}")
        site = self.resources[ev.resource].site
        if order.allowed_sites is not None and site not in order.allowed_sites:
            raise Refused("resource", f"resource '{ev.resource}' is at site {site}, not "
                                      f"allowed for order '{order.id}'")
        at = self.not_future("at", ev.at)
        if i > 0:
            prev = product.routing[i - 1].op
            before = self.state(order.id, ev.unit, prev)
            if before is None:
                raise Refused("op", f"unit {ev.unit} of '{order.id}': {ev.op} cannot start "
                                    f"before {prev} has started")
            if at < before.started_at:
                raise Refused("at", f"unit {ev.unit} of '{order.id}': {ev.op} cannot start "
                                    f"at {at}, before {prev} started ({before.started_at})")
        self.one_site(order.id, ev.unit, ev.op, ev.resource)
        now = self.state(order.id, ev.unit, ev.op)
        if now is not None:
            if now.resource != ev.resource:
                raise Refused("resource", f"unit {ev.unit} of '{order.id}': {ev.op} already "
                                          f"started on {now.resource} at {now.started_at}")
            return  # the same start reported again: the first report stands
        self.not_down(ev.resource, at)
        self.s.add(StepState(order_id=order.id, unit=ev.unit, op=ev.op, resource=ev.resource,
                             started_at=at, completed_at=None))
        self.s.flush()

    def one_site(self, order_id: str, unit: int, op: str, resource: str) -> None:
        """A unit's steps all run at one site (SPEC rule 4): a step cannot start at
        another site than the unit's steps that have started."""
        site = self.resources[resource].site
        for st in self.s.scalars(select(StepState).where(
                StepState.order_id == order_id, StepState.unit == unit,
                StepState.op != op)):
            other = self.resources.get(st.resource)
            if other is not None and other.site != site:
                raise Refused(
                    "resource",
                    f"unit {unit} of '{order_id}' runs at site {other.site} ({st.op} on "
                    f"'{st.resource}' since {st.started_at}); resource '{resource}' is at "
                    f"{site}: a unit's steps run at one site")

    def completed(self, ev: StepCompleted) -> None:
        order, _, _ = self.step(ev)
        at = self.not_future("at", ev.at)
        st = self.state(order.id, ev.unit, ev.op)
        if st is None:
            raise Refused("op", f"unit {ev.unit} of '{order.id}': {ev.op} was never started")
        if at < st.started_at:
            raise Refused("at", f"unit {ev.unit} of '{order.id}': {ev.op} cannot complete at "
                                f"{at}, before it started ({st.started_at})")
        if st.completed_at is not None and st.completed_at != at:
            raise Refused("at", f"unit {ev.unit} of '{order.id}': {ev.op} already completed "
                                f"at {st.completed_at}")
        st.completed_at = at
        self.s.flush()

    def open_downtime(self, resource: str, at: str) -> ResourceDowntime | None:
        """The downtime of `resource` covering `at` (`start <= at < end`), if any; earlier
        events of the batch are flushed, so they count."""
        return self.s.scalars(
            select(ResourceDowntime)
            .where(ResourceDowntime.resource == resource, ResourceDowntime.start <= at,
                   or_(ResourceDowntime.end.is_(None), ResourceDowntime.end > at))
            .order_by(ResourceDowntime.start).limit(1)).first()

    def overlapping_downtime(self, resource: str, start: str, end: str | None
                             ) -> ResourceDowntime | None:
        """A downtime of `resource` that overlaps the window `start`..`end` (None: open)."""
        q = select(ResourceDowntime).where(
            ResourceDowntime.resource == resource,
            or_(ResourceDowntime.end.is_(None), ResourceDowntime.end > start))
        if end is not None:
            q = q.where(ResourceDowntime.start < end)
        return self.s.scalars(q.order_by(ResourceDowntime.start).limit(1)).first()

    def not_down(self, resource: str, at: str) -> None:
        """A step cannot start on a resource reported down at that moment."""
        d = self.open_downtime(resource, at)
        if d is not None:
            until = f"until {d.end}" if d.end is not None else "no resource_up since"
            raise Refused("resource", f"resource '{resource}' is down at {at} (reported down "
                                      f"from {d.start}, {until})")

    def down(self, ev: ResourceDown) -> None:
        """Open a window; steps running on the resource stay running (a floor fact)."""
        self.resource(ev.resource)
        start = self.not_future("start", ev.start)
        end = stamp(ev.end) if ev.end is not None else None
        if end is not None and end <= start:
            raise Refused("end", f"end {end} is not after start {start}")
        current = self.overlapping_downtime(ev.resource, start, end)
        if current is not None:
            since = (f"already down since {current.start}" if current.end is None
                     else f"already reported down from {current.start} until {current.end}")
            raise Refused("start", f"resource '{ev.resource}' is {since}, which this window "
                                   "overlaps (one resource_up ends one resource_down)")
        self.s.add(ResourceDowntime(resource=ev.resource, start=start, end=end))
        self.s.flush()

    def up(self, ev: ResourceUp) -> None:
        self.resource(ev.resource)
        at = self.not_future("at", ev.at)
        current = self.open_downtime(ev.resource, at)
        if current is None:
            raise Refused("at", f"resource '{ev.resource}' is not down at {at} "
                                "(no matching resource_down)")
        current.end = at
        self.s.flush()

    def released(self, ev: OrderReleased) -> None:
        order = self.order(ev.order)
        at = self.not_future("at", ev.at)
        row = self.s.get(OrderRelease, order.id)
        if row is None:
            self.s.add(OrderRelease(order_id=order.id, released_at=at))
        else:
            row.released_at = at
        self.s.flush()

    def apply(self, ev: FloorEvent) -> None:
        if isinstance(ev, StepStarted):
            self.started(ev)
        elif isinstance(ev, StepCompleted):
            self.completed(ev)
        elif isinstance(ev, ResourceDown):
            self.down(ev)
        elif isinstance(ev, ResourceUp):
            self.up(ev)
        else:
            self.released(ev)


def _lock(session: Session) -> None:
    """Serialize event batches and factory changes (SQLite's BEGIN IMMEDIATE already does)."""
    factory_svc.lock_floor(session)


def record(session: Session, events: Sequence[FloorEvent], now: datetime, *,
           skew: timedelta = timedelta(0),
           faults: Sequence[Fault] = ()) -> EventBatchResult:
    """Check and apply `events` in list order, and refuse the batch naming every bad
    event: Conflict when the only faults are event_ids reused with other content, else
    Invalid (refused events; `faults`, the caller's own faults of events by `index`, e.g.
    their limits, counted in and those events skipped); nothing is written then. An event
    after a refused one is judged without it (a completion of a refused start is refused
    too). A stored event_id with the same content is ignored. `skew`: how far ahead of
    `now` an event's time may be."""
    _lock(session)
    fv = factory_svc.require_latest(session)
    floor = _Floor(session, fv.data, now, skew)
    accepted: list[str] = []
    ignored: list[str] = []
    refused: list[Fault] = list(faults)
    reused: list[Fault] = []
    skip = {f["index"] for f in faults if "index" in f}
    for i, ev in enumerate(events):
        if i in skip:
            continue
        content = payload(ev)
        seen = session.scalars(select(Event).where(Event.event_id == ev.event_id)).first()
        if seen is not None:
            if seen.type != ev.type or seen.payload != content:
                reused.append({"index": i, "event_id": ev.event_id, "field": f"[{i}].event_id",
                               "message": "already received with different content"})
            else:
                ignored.append(ev.event_id)
            continue
        try:
            floor.apply(ev)  # each check comes before the event's writes
        except Refused as r:
            refused.append({"index": i, "event_id": ev.event_id, "field": f"[{i}].{r.field}",
                            "message": r.message})
            continue
        session.add(Event(event_id=ev.event_id, type=ev.type, payload=content,
                          received_at=stamp(now)))
        session.flush()
        accepted.append(ev.event_id)
    if refused or reused:
        every = sorted([*refused, *reused], key=lambda f: f.get("index", -1))
        first = every[0]
        i = first.get("index", 0)
        more = f" (and {len(every) - 1} more)" if len(every) > 1 else ""
        if not refused:
            raise Conflict(f"[{i}] event '{first.get('event_id')}' was already received with "
                           f"different content{more}", title="Event id reused", faults=every)
        ev = events[i]
        what = first.get("field", "").removeprefix(f"[{i}].")
        raise Invalid(f"[{i}] event '{ev.event_id}' ({ev.type}): {what}: {first['message']}"
                      f"{more}", every, title="Event refused")
    return EventBatchResult(accepted=accepted, ignored=ignored)


def page(session: Session, limit: int, offset: int) -> tuple[list[Event], int]:
    """Stored events, newest first, and how many there are."""
    total = session.scalar(select(func.count()).select_from(Event)) or 0
    rows = session.scalars(select(Event).order_by(Event.seq.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total


def _routings(session: Session) -> dict[str, list[str]]:
    """Each product's ops in routing order, from the current factory."""
    fv = factory_svc.latest(session)
    return {p["id"]: [st["op"] for st in p.get("routing", [])]
            for p in (fv.data.get("products", []) if fv else [])}


def _units(order: Order, routing: list[str], states: Sequence[StepState]) -> list[UnitProgress]:
    """The order's units with their steps from `states` (the order's step states)."""
    by_key = {(st.unit, st.op): st for st in states}
    ops = list(routing)
    for st in states:  # steps a factory change has since removed still show
        if st.op not in ops:
            ops.append(st.op)
    out: list[UnitProgress] = []
    for unit in range(1, order.quantity + 1):
        steps: list[StepProgress] = []
        for op in ops:
            row = by_key.get((unit, op))
            if row is None:
                steps.append(StepProgress(op=op, state="pending"))
            else:
                steps.append(StepProgress(
                    op=op, state="done" if row.completed_at else "running",
                    resource=row.resource, started_at=row.started_at,
                    completed_at=row.completed_at))
        out.append(UnitProgress(unit=unit, steps=steps))
    return out


def progress(session: Session, order: Order) -> list[UnitProgress]:
    """Each unit's steps in routing order: pending, running or done (from floor events)."""
    return progress_many(session, [order])[order.id]


def progress_many(session: Session, orders: Sequence[Order]) -> dict[str, list[UnitProgress]]:
    """`progress` of many orders (a page of GET /orders) by id, reading their step states
    in one query per `app.db.PARAMS_PER_QUERY` orders and the factory once."""
    ids = [o.id for o in orders]
    states: dict[str, list[StepState]] = {i: [] for i in ids}
    for chunk in chunked(ids):
        for st in session.scalars(select(StepState).where(StepState.order_id.in_(chunk))
                                  .order_by(StepState.started_at, StepState.unit, StepState.op)):
            states[st.order_id].append(st)
    routings = _routings(session)
    return {o.id: _units(o, routings.get(o.product, []), states[o.id]) for o in orders}
