"""Factory versions: every change is a new version; schedules record the one they used."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.domain import Conflict, Fault, Invalid, NotFound
from app.schemas.factory import FactoryIn
from app.tables import FactoryVersion, Order, OrderStatus, StepState
from solver.problem import Limits, Problem, Product, Step, eligible, load_problem

MAX_FAULTS = 50  # a refusal lists at most this many steps (and says how many there are)
FLOOR_LOCK = 5150001  # PostgreSQL advisory lock: floor events and factory changes


def check_factory(data: dict[str, Any], now: datetime, limits: Limits | None = None) -> Problem:
    """Raise `ProblemError` naming every fault of a factory model (as SPEC section 1; its
    downtime and holidays within the window of `limits` around `now`); the model as a
    problem without orders."""
    return load_problem({**data, "horizon_start": stamp(floor_minute(now)),
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


def lock_floor(session: Session) -> None:
    """Serialise floor event batches and factory changes (SQLite's BEGIN IMMEDIATE
    already does): each checks the other's facts."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({FLOOR_LOCK})"))


def check_floor(session: Session, model: Problem) -> None:
    """Refuse a factory under which the floor's steps (running or done, of open orders)
    could no longer be planned as the facts they are: their resource removed, no longer
    able to run the step or at a site the order does not allow, or a unit's steps at
    several sites (a resource moved). Invalid naming each step and resource."""
    resources = {r.id: r for r in model.resources}
    products = {p.id: p for p in model.products}
    faults: list[Fault] = []
    unit_sites: dict[tuple[str, int], dict[str, str]] = {}
    eligible_ids: dict[tuple[str, str], set[str]] = {}

    def able(prod: Product, step: Step) -> set[str]:
        """The resources that can run `step` of `prod` (once per product and op)."""
        key = (prod.id, step.op)
        if key not in eligible_ids:
            eligible_ids[key] = {r.id for r, _ in eligible(model, prod, step)}
        return eligible_ids[key]

    rows = session.execute(
        select(StepState, Order.product, Order.allowed_sites).join(
            Order, Order.id == StepState.order_id)
        .where(Order.status == OrderStatus.OPEN)
        .order_by(StepState.order_id, StepState.unit, StepState.started_at)
    )
    for st, product_id, allowed in rows:
        state = "done" if st.completed_at else "running"
        what = f"step {st.order_id}/{st.unit}/{st.op} ({state} on '{st.resource}')"
        prod = products.get(product_id)
        step = next((x for x in prod.routing if x.op == st.op), None) if prod else None
        res = resources.get(st.resource)
        message = None
        if res is None:
            message = f"{what}: resource '{st.resource}' is not in the new factory"
        elif step is not None and prod is not None and st.resource not in able(prod, step):
            message = f"{what}: resource '{st.resource}' could no longer run {st.op}"
        elif allowed is not None and res.site not in allowed:
            message = (f"{what}: resource '{st.resource}' would be at site {res.site}, not "
                       f"allowed for order '{st.order_id}'")
        if message is not None:
            faults.append({"field": "resources", "id": st.resource, "message": message})
            continue
        if res is not None:
            unit_sites.setdefault((st.order_id, st.unit), {})[st.resource] = res.site
    for (order_id, unit), sites in unit_sites.items():
        if len(set(sites.values())) > 1:
            where = ", ".join(f"'{r}' at {s}" for r, s in sorted(sites.items()))
            faults.append({"field": "resources", "id": sorted(sites)[0],
                           "message": f"unit {unit} of '{order_id}' has run steps on {where}: "
                                      "a unit's steps must stay at one site"})
    if faults:
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        raise Invalid(
            "the factory change would leave the floor's steps unplannable: "
            + faults[0]["message"] + more,
            faults[:MAX_FAULTS], title="Factory change refused",
        )


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
    """Store `data` as a new version unless it equals the current one: (version, created);
    Invalid when the floor's steps could not be planned under it (`check_floor`).

    The model is stored in its normal form (defaults written out, unset fields left out,
    times in UTC), so the same factory compares equal however it was sent or seeded."""
    model = check_factory(data, now, limits)  # raises ProblemError naming every fault
    data = normal_times(FactoryIn.model_validate(data).model_dump(exclude_none=True))
    lock_floor(session)
    current = latest(session)
    if current is not None and current.data == data:
        return current, False
    check_floor(session, model)
    fv = FactoryVersion(created_at=stamp(now), data=data)
    session.add(fv)
    session.flush()
    return fv, True


# ---- planned maintenance: a resource's downtime windows, each change a new version ----------


def _resource(data: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """The resource's entry in a factory model; NotFound naming it."""
    res: dict[str, Any] | None = next(
        (r for r in data["resources"] if r["id"] == resource_id), None)
    if res is None:
        raise NotFound(f"resource '{resource_id}' does not exist",
                       faults=[{"field": "resource", "id": resource_id,
                                "message": "no such resource in the current factory"}])
    return res


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _stranded(session: Session, model: Problem, resource_id: str, start: datetime,
              end: datetime) -> list[Fault]:
    """Steps running on the resource (of open orders) that would still run when the
    window starts: started before `end` and, at the step's duration there, not done by
    `start`."""
    products = {p.id: p for p in model.products}
    rows = session.execute(
        select(StepState, Order.product).join(Order, Order.id == StepState.order_id)
        .where(Order.status == OrderStatus.OPEN, StepState.resource == resource_id,
               StepState.completed_at.is_(None)))
    faults: list[Fault] = []
    for st, product_id in rows:
        began = _instant(st.started_at)
        prod = products.get(product_id)
        step = next((x for x in prod.routing if x.op == st.op), None) if prod else None
        minutes = next((d for r, d in eligible(model, prod, step) if r.id == resource_id),
                       None) if prod and step else None
        done_by = began + timedelta(minutes=minutes) if minutes is not None else None
        if began < end and (done_by is None or done_by > start):
            until = f"until {stamp(done_by)}" if done_by else "with no known end"
            faults.append({"field": "start", "id": resource_id, "message": (
                f"step {st.order_id}/{st.unit}/{st.op} runs on '{resource_id}' since "
                f"{st.started_at} ({until}): a window from {stamp(start)} would strand it; "
                "start the maintenance after it completes")})
    return faults


def add_downtime(
    session: Session, resource_id: str, start: datetime, end: datetime, reason: str | None,
    now: datetime, limits: Limits | None = None,
) -> tuple[FactoryVersion, dict[str, Any]]:
    """Planned maintenance: the window [start, end) added to the resource's downtime as a
    new factory version; the version and the window as stored. Refused: a window that
    does not end after it starts or ends before now (Invalid), one that overlaps another
    window of the resource, or starts while a step runs there that would not be done
    (Conflict)."""
    lock_floor(session)
    fv = require_latest(session)
    data = {k: v for k, v in fv.data.items()}
    data["resources"] = [dict(r) for r in fv.data["resources"]]
    res = _resource(data, resource_id)
    faults: list[Fault] = []
    if end <= start:
        faults.append({"field": "end", "message": f"end {stamp(end)} is not after start "
                                                  f"{stamp(start)}"})
    if end <= now:
        faults.append({"field": "end", "message": f"end {stamp(end)} is not after now "
                                                  f"({stamp(now)}): past downtime is a fact; "
                                                  "report it as resource_down events"})
    if faults:
        raise Invalid.listing(faults, title="Downtime refused")
    window: dict[str, Any] = {"start": stamp(start), "end": stamp(end)}
    if reason:
        window["reason"] = reason
    clash = [w for w in res.get("downtime", [])
             if _instant(w["start"]) < end and start < _instant(w["end"])]
    if clash:
        raise Conflict(
            f"resource '{resource_id}': the window {stamp(start)}..{stamp(end)} overlaps "
            f"{clash[0]['start']}..{clash[0]['end']}",
            title="Downtime refused",
            faults=[{"field": "start", "id": resource_id,
                     "message": f"overlaps the window {w['start']}..{w['end']}"} for w in clash])
    model = check_factory(data, now, limits)
    stranded = _stranded(session, model, resource_id, start, end)
    if stranded:
        raise Conflict(stranded[0]["message"], title="Downtime refused", faults=stranded)
    res["downtime"] = sorted([*res.get("downtime", []), window], key=lambda w: w["start"])
    new, _ = put_factory(session, data, now, limits)
    return new, window


def remove_downtime(
    session: Session, resource_id: str, start: datetime, now: datetime,
    limits: Limits | None = None,
) -> tuple[FactoryVersion, dict[str, Any]]:
    """The resource's downtime window that starts at `start` removed, as a new factory
    version; the version and the window removed. NotFound when it has none there."""
    lock_floor(session)
    fv = require_latest(session)
    data = {k: v for k, v in fv.data.items()}
    data["resources"] = [dict(r) for r in fv.data["resources"]]
    res = _resource(data, resource_id)
    windows = res.get("downtime", [])
    gone = [w for w in windows if _instant(w["start"]) == start]
    if not gone:
        have = ", ".join(w["start"] for w in windows) or "none"
        raise NotFound(f"resource '{resource_id}' has no downtime window starting at "
                       f"{stamp(start)} (its windows start at: {have})",
                       faults=[{"field": "start", "id": resource_id,
                                "message": "no window starts then"}])
    res["downtime"] = [w for w in windows if _instant(w["start"]) != start]
    if not res["downtime"]:
        del res["downtime"]
    new, _ = put_factory(session, data, now, limits)
    return new, gone[0]
