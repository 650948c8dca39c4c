"""Pins: a planner's decisions that every later solve and reschedule keeps until removed.

A pin is either

- a **step pin**: one step of one unit (`order`, `unit`, `op`) on a `resource` from a
  `start`; every problem the service builds has it as a fixed step (SPEC section 1
  `fixed`), ending after the step's duration on that resource as the factory has it then;
- a **site pin**: an order's racks at one `site`; every problem the service builds has
  the order's `allowed_sites` narrowed to that site.

`apply_pins` adds them to a problem document (`app.services.problems.build_problem`) and
says, pin by pin, which it kept, which the floor has already done (a completed or running
step: the floor's facts win), and which can no longer hold and why (`docs/service.md`). A
pin that cannot hold is left out of that problem and stays stored: it is never dropped
silently, and never removed but by `DELETE /pins/{id}`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp, utc_now
from app.domain import Conflict, Fault, Invalid, NotFound
from app.tables import Pin, PinKind
from solver.problem import (
    FixedStep,
    Problem,
    ProblemError,
    Product,
    Resource,
    Step,
    eligible,
    load_problem,
)
from solver.validate import Occupancy


class Dropped(TypedDict):
    """A pin a problem could not keep, and why."""

    pin: int
    reason: str


class Report(TypedDict):
    """What became of each pin in one problem: kept, already done by the floor, dropped."""

    kept: list[int]
    floor: list[int]
    dropped: list[Dropped]


def empty_report() -> Report:
    return {"kept": [], "floor": [], "dropped": []}


def label(pin: Pin) -> str:
    """A pin in words: "pin 3 (SO-1001/1/test on HOU-TST-01 from ...)"."""
    if pin.kind == PinKind.SITE:
        return f"pin {pin.id} ({pin.order_id} at site {pin.site})"
    return (f"pin {pin.id} ({pin.order_id}/{pin.unit}/{pin.op} on {pin.resource} from "
            f"{pin.start})")


# ---- stored pins ----------------------------------------------------------------------------


def list_pins(session: Session) -> list[Pin]:
    """Every pin, oldest first."""
    return list(session.scalars(select(Pin).order_by(Pin.id)))


def get_pin(session: Session, pin_id: int) -> Pin:
    pin = session.get(Pin, pin_id)
    if pin is None:
        raise NotFound(f"pin {pin_id} does not exist",
                       faults=[{"id": str(pin_id), "message": "no such pin"}])
    return pin


def delete(session: Session, pin_id: int) -> None:
    """Remove a pin: later solves no longer keep it."""
    session.delete(get_pin(session, pin_id))
    session.flush()


def step_pin_of(session: Session, order: str, unit: int, op: str) -> Pin | None:
    """The pin on one step, if any."""
    return session.scalars(select(Pin).where(
        Pin.kind == PinKind.STEP, Pin.order_id == order, Pin.unit == unit, Pin.op == op,
    )).first()


def _shape_faults(kind: str, fields: dict[str, Any]) -> list[Fault]:
    """The fields a pin of `kind` needs and those it must not have."""
    need = ("unit", "op", "resource", "start") if kind == PinKind.STEP else ("site",)
    other = ("site",) if kind == PinKind.STEP else ("unit", "op", "resource", "start")
    faults: list[Fault] = [
        {"field": f, "message": f"a {kind} pin needs '{f}'"} for f in need if fields[f] is None]
    faults += [{"field": f, "message": f"a {kind} pin has no '{f}'"}
               for f in other if fields[f] is not None]
    return faults


def create(
    session: Session,
    *,
    kind: PinKind,
    order: str,
    unit: int | None,
    op: str | None,
    resource: str | None,
    start: datetime | None,
    site: str | None,
    reason: str,
    who: str,
    problem: dict[str, Any] | None,
    replace: bool = False,
) -> Pin:
    """Store a pin after checking that it holds beside the stored pins in `problem` (what
    a solve would plan now, without the pins; None when there is nothing to plan): the
    shape's faults all at once, else the first rule it would break (`Invalid`). One pin
    per step and one site pin per order: a second is a `Conflict`, unless `replace` (a
    moved step's pin follows the move)."""
    fields = {"unit": unit, "op": op, "resource": resource, "start": start, "site": site}
    faults = _shape_faults(kind, fields)
    if faults:
        raise Invalid(faults[0]["message"], faults)
    existing = (step_pin_of(session, order, unit or 0, op or "") if kind == PinKind.STEP
                else session.scalars(select(Pin).where(
                    Pin.kind == PinKind.SITE, Pin.order_id == order)).first())
    if existing is not None and not replace:
        what = f"{order}/{unit}/{op}" if kind == PinKind.STEP else f"order {order}"
        raise Conflict(f"{what} is pinned already ({label(existing)}): remove that pin first",
                       faults=[{"id": str(existing.id), "message": f"{what} is pinned already"}])
    pin = Pin(kind=kind, order_id=order, unit=unit, op=op, resource=resource,
              start=stamp(floor_minute(start)) if start is not None else None, site=site,
              reason=reason, set_by=who, created_at=stamp(utc_now()))
    if problem is None:
        raise Invalid(f"{label(pin)} cannot hold: there are no open orders to plan",
                      [{"field": "order", "id": order, "message": "no open orders"}])
    others = [p for p in list_pins(session) if p is not existing]
    refused = check(problem, others, pin)
    if refused is not None:
        raise Invalid(f"the pin cannot hold: {refused.message}",
                      [{"field": refused.field, "message": refused.message}])
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(pin)
    session.flush()
    return pin


def check(problem: dict[str, Any], pins: Sequence[Pin], candidate: Pin) -> Refused | None:
    """Why `candidate` cannot hold in `problem` beside `pins` (`Refused`), or None."""
    with_others, _ = apply_pins(problem, pins)
    try:
        placer = Placer(load_problem(with_others))
    except ProblemError as exc:
        return Refused("order", "the problem does not check: " + exc.errors[0])
    try:
        if candidate.kind == PinKind.SITE:
            placer.site_pin(candidate)
        elif placer.step_pin(candidate) is None:
            return Refused("op", f"the floor reports {candidate.order_id}/{candidate.unit}/"
                                 f"{candidate.op} started: it stays where it runs")
    except Refused as exc:
        return exc
    return None


# ---- pins in a problem ----------------------------------------------------------------------


def apply_pins(
    problem: dict[str, Any], pins: Sequence[Pin], scope: Collection[str] | None = None,
) -> tuple[dict[str, Any], Report]:
    """`problem` (a SPEC section 1 document with the floor's facts) with the pins added,
    and what became of each pin. `scope`: the orders the problem plans when not all open
    orders (a pin on another order is not this problem's business and is not reported).

    A pin is dropped, with the reason, when it cannot hold: its order is not open, its unit
    or step is gone, its resource is gone or may not run the step, its site is gone or not
    allowed or cannot run the order's routing, the unit already runs at another site, its
    start has passed, the steps before it cannot be done by then or those after it
    (fixed) cannot follow it, or it breaks rule 6, 7 or 8 beside the floor's facts and the
    pins kept before it (the validator's own words)."""
    report = empty_report()
    pins = [p for p in pins if scope is None or p.order_id in scope]
    if not pins:
        return problem, report
    try:
        base = load_problem(problem)
    except ProblemError as exc:
        for p in pins:
            report["dropped"].append({"pin": p.id, "reason": (
                "the problem does not check even without the pins: " + exc.errors[0])})
        return problem, report
    placer = Placer(base)
    allowed: dict[str, list[str]] = {}
    for p in sorted((p for p in pins if p.kind == PinKind.SITE), key=lambda p: p.id):
        try:
            placer.site_pin(p)
        except Refused as exc:
            report["dropped"].append({"pin": p.id, "reason": exc.message})
            continue
        allowed[p.order_id] = [str(p.site)]
        report["kept"].append(p.id)
    placer.allowed.update({k: set(v) for k, v in allowed.items()})
    added: list[FixedStep] = []
    for p in sorted((p for p in pins if p.kind == PinKind.STEP),
                    key=lambda p: (p.start or "", p.id)):
        try:
            got = placer.step_pin(p)
        except Refused as exc:
            report["dropped"].append({"pin": p.id, "reason": exc.message})
            continue
        if got is None:
            report["floor"].append(p.id)
        else:
            added.append(got)
            report["kept"].append(p.id)
    out = dict(problem)
    if allowed:
        out["orders"] = [{**o, "allowed_sites": allowed[o["id"]]} if o["id"] in allowed else o
                         for o in problem["orders"]]
    if added:
        out["fixed"] = [*problem.get("fixed", []),
                        *(f.model_dump(mode="json") for f in added)]
        for f in out["fixed"][-len(added):]:
            f["start"], f["end"] = _z(f["start"]), _z(f["end"])
    try:
        load_problem(out)
    except ProblemError as exc:  # together they break a rule no single check saw
        dropped: list[Dropped] = [
            {"pin": i, "reason": "with the other pins the problem does not check: "
             + exc.errors[0]} for i in report["kept"]]
        report["dropped"] = sorted([*report["dropped"], *dropped], key=lambda d: d["pin"])
        report["kept"] = []
        return problem, report
    report["dropped"].sort(key=lambda d: d["pin"])
    report["kept"].sort()
    return out, report


def _z(text: str) -> str:
    """A pydantic time (`...+00:00` or `...Z`) as SPEC text with `Z`."""
    return stamp(datetime.fromisoformat(text))


def not_eligible(res: Resource, prod: Product, step: Step) -> str:
    """Why `res` may not run `step` of `prod` (rule 5), in words."""
    if step.alternatives is not None:
        names = ", ".join(a.resource for a in step.alternatives)
        if res.id not in {a.resource for a in step.alternatives}:
            return (f"{res.id} is not one of the resources step '{step.op}' of {prod.id} "
                    f"runs on ({names})")
    elif res.kind != step.kind:
        return f"{res.id} is a {res.kind} resource; step '{step.op}' needs a {step.kind} one"
    return f"{res.id} is not qualified for {prod.id}"


class Refused(Exception):
    """A pin or a move that cannot hold: the request `field` at fault and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Placer:
    """The checks of `apply_pins` on a loaded problem, with the pins kept so far (a move
    is checked the same way: `app.services.moves`)."""

    def __init__(self, base: Problem) -> None:
        self.base = base
        self.t0 = base.horizon_start
        self.orders = {o.id: o for o in base.orders}
        self.products = {p.id: p for p in base.products}
        self.res = {r.id: r for r in base.resources}
        self.sites = {s.id for s in base.sites}
        self.fixed = {(f.order, f.unit, f.op): f for f in base.fixed}
        self.facts = set(self.fixed)
        self.unit_site = {(f.order, f.unit): self.res[f.resource].site for f in base.fixed
                          if f.resource in self.res}
        self.allowed = {o.id: set(o.allowed_sites) for o in base.orders
                        if o.allowed_sites is not None}
        self.occupancy = Occupancy(base, base.fixed)

    def site_pin(self, p: Pin) -> None:
        """Raise `Refused` when the site pin cannot hold."""
        o = self.orders.get(p.order_id)
        site = str(p.site)
        if o is None:
            raise Refused("order", f"order '{p.order_id}' is not open (cancelled, or unknown)")
        if site not in self.sites:
            raise Refused("site", f"site '{site}' does not exist")
        if o.allowed_sites is not None and site not in o.allowed_sites:
            raise Refused("site", f"rule 4: order '{o.id}' may not run at site '{site}' "
                                  f"(allowed: {', '.join(o.allowed_sites)})")
        prod = self.products[o.product]
        for st in prod.routing:
            if not any(r.site == site for r, _ in eligible(self.base, prod, st)):
                raise Refused("site", f"rule 5: no resource at site '{site}' can run step "
                                      f"'{st.op}' of {prod.id}")
        for (oid, unit), at in sorted(self.unit_site.items()):
            if oid == o.id and at != site:
                raise Refused("site", f"rule 4: unit {unit} of order '{o.id}' already runs "
                                      f"at site '{at}'")

    def step_pin(self, p: Pin) -> FixedStep | None:
        """The fixed step of a step pin (placed beside the others), None when the floor has
        done or started the step; `Refused` when it cannot hold."""
        o = self.orders.get(p.order_id)
        if o is None:
            raise Refused("order", f"order '{p.order_id}' is not open (cancelled, or unknown)")
        unit, op, rid = int(p.unit or 0), str(p.op), str(p.resource)
        if unit > o.quantity:
            raise Refused("unit", f"order '{o.id}' has {o.quantity} units, not {unit}")
        prod = self.products[o.product]
        routing = [st.op for st in prod.routing]
        if op not in routing:
            raise Refused("op", f"'{op}' is not a step of {prod.id} ({', '.join(routing)})")
        key = (o.id, unit, op)
        if key in self.facts:
            return None
        step = prod.routing[routing.index(op)]
        res = self.res.get(rid)
        durations = {r.id: d for r, d in eligible(self.base, prod, step)}
        if res is None:
            raise Refused("resource", f"resource '{rid}' does not exist")
        if rid not in durations:
            raise Refused("resource", "rule 5: " + not_eligible(res, prod, step))
        allowed = self.allowed.get(o.id)
        if allowed is not None and res.site not in allowed:
            raise Refused("resource", f"rule 4: order '{o.id}' may not run at site "
                                      f"'{res.site}' (allowed: {', '.join(sorted(allowed))})")
        at = self.unit_site.get((o.id, unit))
        if at is not None and at != res.site:
            raise Refused("resource", f"rule 4: unit {unit} of order '{o.id}' already runs "
                                      f"at site '{at}', not '{res.site}'")
        start = datetime.fromisoformat(str(p.start).replace("Z", "+00:00"))
        if start < self.t0:
            raise Refused("start", f"rule 3: {stamp(start)} is before the plan's start "
                                   f"{stamp(self.t0)}, and the floor has not reported the "
                                   "step started")
        fs = FixedStep(order=o.id, unit=unit, op=op, resource=rid, start=start,
                       end=start + timedelta(minutes=durations[rid]))
        self._routing(prod, routing.index(op), fs)
        faults = self.occupancy.window_faults(fs) + self.occupancy.load_faults(fs)
        if faults:
            raise Refused("start" if faults[0].startswith("rule 6") else "resource",
                          "; ".join(faults))
        self.occupancy.add(fs)
        self.fixed[key] = fs
        self.unit_site[(o.id, unit)] = res.site
        return fs

    def _routing(self, prod: Product, k: int, fs: FixedStep) -> None:
        """Rules 2 and 3 along the unit's routing: the steps before step `k` can end by its
        start (each free one in its shortest duration at the site), and the fixed ones
        after it can follow; `Refused` otherwise."""
        o = self.orders[fs.order]
        site = self.res[fs.resource].site
        since = max(self.t0, o.release or self.t0)
        what = "the order's release" if o.release and o.release > self.t0 else "the plan's start"
        earliest, rule = since, "rule 3"
        for st in prod.routing[:k]:
            f = self.fixed.get((fs.order, fs.unit, st.op))
            if f is not None:
                if f.end > earliest:
                    since = earliest = f.end
                    what, rule = f"step '{st.op}' (fixed) ends", "rule 2"
                continue
            shortest = min((d for r, d in eligible(self.base, prod, st) if r.site == site),
                           default=0)
            earliest += timedelta(minutes=shortest)
            rule = "rule 2"
        if earliest > fs.start:
            head = f"{rule}: {fs.order}/{fs.unit}/{fs.op} cannot start at {stamp(fs.start)}"
            if earliest == since:
                raise Refused("start", f"{head}: {what} at {stamp(since)}")
            raise Refused("start", f"{head}: from {what} at {stamp(since)}, the steps before "
                                   f"it need until {stamp(earliest)} at the earliest")
        latest = fs.end
        for st in prod.routing[k + 1:]:
            f = self.fixed.get((fs.order, fs.unit, st.op))
            if f is not None:
                if f.start < latest:
                    raise Refused("start", (
                        f"rule 2: step '{st.op}' of {fs.order}/{fs.unit} is fixed from "
                        f"{stamp(f.start)}, before this step (and those between) can end "
                        f"({stamp(latest)})"))
                latest = f.end
                continue
            shortest = min((d for r, d in eligible(self.base, prod, st) if r.site == site),
                           default=0)
            latest += timedelta(minutes=shortest)
