"""Orders: idempotent batch upserts, filtered listing, cancellation, and the quoted orders
(reserved quotes: planned like open orders until they expire or are confirmed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.db import PARAMS_PER_QUERY, chunked
from app.domain import Conflict, Fault, Invalid, NotFound
from app.tables import Order, OrderStatus
from solver.problem import MAX_TEXT, Limits, Problem, limit_faults, text_message, unbuildable
from solver.problem import Order as SpecOrder

ORDER_WRITES_LOCK = 0x7261636B  # PostgreSQL advisory lock key serialising order upserts
LOOKUP_CHUNK = PARAMS_PER_QUERY  # ids per SELECT ... IN (...)
# an order id is read back in a URL path (`/orders/{id}`): no '/' (nor a backslash, which browsers
# read as one), and not '.' or '..' (which clients resolve as path segments)
URL_UNSAFE = ("/", "\\")


def spec_dict(o: Order) -> dict[str, Any]:
    """The SPEC section 1 order for a stored row (optional fields only when set)."""
    d: dict[str, Any] = {"id": o.id, "product": o.product, "quantity": o.quantity, "due": o.due}
    if o.customer is not None:
        d["customer"] = o.customer
    if o.release is not None:
        d["release"] = o.release
    if o.weight != 1.0:
        d["weight"] = int(o.weight) if float(o.weight).is_integer() else o.weight
    if o.destination is not None:
        d["destination"] = o.destination
    if o.allowed_sites:
        d["allowed_sites"] = list(o.allowed_sites)
    return d


def _fields(o: SpecOrder) -> dict[str, Any]:
    return {
        "product": o.product,
        "customer": o.customer,
        "quantity": o.quantity,
        "due": stamp(o.due),
        "release": stamp(o.release) if o.release is not None else None,
        "weight": float(o.weight),
        "destination": o.destination,
        "allowed_sites": list(o.allowed_sites) if o.allowed_sites else None,
    }


def parse_batch(items: Sequence[Any]) -> tuple[list[SpecOrder], list[int], list[Fault]]:
    """The orders of a batch that have the SPEC section 1 shape, their places in the
    batch, and a fault for every field of the others (`[3].quantity`, with the order's id
    when it has one), so that the later checks run on the rest and one answer names every
    fault (`renumber` gives their faults the batch's places)."""
    good: list[SpecOrder] = []
    places: list[int] = []
    faults: list[Fault] = []
    for i, item in enumerate(items):
        try:
            good.append(SpecOrder.model_validate(item))
            places.append(i)
        except ValidationError as exc:
            ident = item.get("id") if isinstance(item, dict) else None
            for err in exc.errors(include_url=False):
                where = f"[{i}]" + "".join(
                    f"[{x}]" if isinstance(x, int) else f".{x}" for x in err["loc"])
                fault: Fault = {"field": where,
                                "message": text_message(err) or str(err["msg"])}
                if isinstance(ident, str) and _writable(ident):
                    fault["id"] = ident[:MAX_TEXT]
                faults.append(fault)
    return good, places, faults


def place(fault: Fault) -> int:
    """The batch place a fault's field names (`[3].due` -> 3; -1 for none)."""
    head = fault.get("field", "").partition("]")[0]
    return int(head[1:]) if head.startswith("[") and head[1:].isdigit() else -1


def _writable(text: str) -> bool:
    """Text an answer can carry (no lone surrogate such as \\ud800)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def renumber(faults: Sequence[Fault], places: Sequence[int]) -> list[Fault]:
    """Faults found on the well-shaped orders (`[j]...` fields) with the batch's places."""
    out: list[Fault] = []
    for f in faults:
        field = f.get("field", "")
        head, _, rest = field.partition("]")
        if head.startswith("[") and head[1:].isdigit() and int(head[1:]) < len(places):
            f = {**f, "field": f"[{places[int(head[1:])]}]{rest}"}
        out.append(f)
    return out


def check_batch(orders: Sequence[SpecOrder]) -> list[Fault]:
    """Faults within a batch itself: a repeated id, an id or customer too long to store,
    an id that cannot be read back in a URL."""
    seen: dict[str, int] = {}
    errors: list[Fault] = []
    for i, o in enumerate(orders):
        for name in ("id", "customer"):
            value = getattr(o, name)
            if value is not None and len(value) > MAX_TEXT:
                errors.append({"field": f"[{i}].{name}", "id": o.id[:MAX_TEXT],
                               "message": f"{name} is longer than {MAX_TEXT} characters"})
        if any(c in o.id for c in URL_UNSAFE) or o.id.strip() in (".", ".."):
            errors.append({"field": f"[{i}].id", "id": o.id[:MAX_TEXT],
                           "message": f"order id '{o.id[:MAX_TEXT]}' cannot be read back in a "
                                      "URL: it must not contain '/' or '\\', nor be '.' or "
                                      "'..'"})
        if o.id in seen:
            errors.append({"field": f"[{i}].id", "id": o.id,
                           "message": f"order '{o.id}' appears twice in the batch "
                                      f"(also at [{seen[o.id]}])"})
        seen.setdefault(o.id, i)
    return errors


def check_values(orders: Sequence[SpecOrder], limits: Limits, now: datetime) -> list[Fault]:
    """Faults of the limits on values: a due or release date outside the window around
    `now`, more racks than an order may have (`solver.problem.limit_faults`)."""
    errors: list[Fault] = []
    for i, o in enumerate(orders):
        for where, message in limit_faults(o, limits, now, "now", f"[{i}]"):
            errors.append({"field": where, "id": o.id[:MAX_TEXT],
                           "message": f"order '{o.id[:MAX_TEXT]}': {message}"})
    return errors


def _stored(session: Session, ids: Sequence[str], *, lock: bool) -> dict[str, Order]:
    """The stored orders among `ids` (locked for update when `lock`)."""
    existing: dict[str, Order] = {}
    for chunk in chunked(ids, LOOKUP_CHUNK):  # bounded IN lists (driver parameter limits)
        q = select(Order).where(Order.id.in_(chunk))
        existing.update((o.id, o) for o in session.scalars(q.with_for_update() if lock else q))
    return existing


def _unchanged(row: Order, fields: dict[str, Any]) -> bool:
    """An open stored order equal to the one sent: an upsert leaves it alone."""
    return all(getattr(row, k) == v for k, v in fields.items()) and (
        row.status == OrderStatus.OPEN)


def preview(session: Session, orders: Sequence[SpecOrder]) -> dict[str, list[str]]:
    """What `upsert` would do with `orders`, found by reading only (a dry run that takes
    no write lock)."""
    errors = check_batch(orders)
    if errors:
        raise Invalid(errors[0]["message"], errors, title="Invalid order batch")
    existing = _stored(session, [o.id for o in orders], lock=False)
    out: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for o in orders:
        row = existing.get(o.id)
        kind = ("created" if row is None else
                "unchanged" if _unchanged(row, _fields(o)) else "updated")
        out[kind].append(o.id)
    return out


def upsert(session: Session, orders: Sequence[SpecOrder], now: datetime) -> dict[str, list[str]]:
    """Insert or update each order by id; an order equal to the stored one is untouched.
    A cancelled order sent again is reopened (the sender wants it built)."""
    errors = check_batch(orders)
    if errors:
        raise Invalid(errors[0]["message"], errors, title="Invalid order batch")
    if session.get_bind().dialect.name == "postgresql":
        # two batches creating the same new id must not both insert it (SQLite's
        # BEGIN IMMEDIATE already serialises writers); held until the transaction ends
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ORDER_WRITES_LOCK})
    existing = _stored(session, [o.id for o in orders], lock=True)
    out: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    t = stamp(now)
    created: list[dict[str, Any]] = []
    for o in orders:
        fields = _fields(o)
        row = existing.get(o.id)
        if row is None:
            created.append({"id": o.id, "status": OrderStatus.OPEN, "created_at": t,
                            "updated_at": t, **fields})
            out["created"].append(o.id)
        elif _unchanged(row, fields):
            out["unchanged"].append(o.id)
        else:
            for k, v in fields.items():
                setattr(row, k, v)
            row.status = OrderStatus.OPEN
            row.expires_at = None  # a quoted order sent as an order is ordered
            row.updated_at = t
            out["updated"].append(o.id)
    if created:  # one bulk INSERT: the write lock is held for as short a time as can be
        session.execute(insert(Order), created)
    session.flush()
    return out


def get(session: Session, order_id: str) -> Order:
    """One order; NotFound when unknown."""
    row = session.get(Order, order_id)
    if row is None:
        raise NotFound(f"order '{order_id}' does not exist")
    return row


def cancel(session: Session, order_id: str, now: datetime) -> Order:
    """Mark an order cancelled (it is kept); cancelling twice is harmless."""
    row = get(session, order_id)
    if row.status != OrderStatus.CANCELLED:
        row.status = OrderStatus.CANCELLED
        row.expires_at = None
        row.updated_at = stamp(now)
    return row


def confirm(session: Session, order_id: str, now: datetime) -> Order:
    """A quoted order becomes open (it is ordered); confirming an open order is harmless.
    Conflict for a cancelled order or a quote whose hold has expired."""
    row = session.get(Order, order_id, with_for_update=True)
    if row is None:
        raise NotFound(f"order '{order_id}' does not exist",
                       faults=[{"field": "order_id", "id": order_id, "message": "no such order"}])
    if row.status == OrderStatus.QUOTED and not held(row, now):
        msg = f"the quote '{order_id}' expired at {row.expires_at}: quote it again"
        raise Conflict(msg, faults=[{"field": "order_id", "id": order_id, "message": msg}])
    if row.status == OrderStatus.CANCELLED:
        msg = f"order '{order_id}' is cancelled"
        raise Conflict(msg, faults=[{"field": "order_id", "id": order_id, "message": msg}])
    if row.status == OrderStatus.QUOTED:
        row.status = OrderStatus.OPEN
        row.expires_at = None
        row.updated_at = stamp(now)
    return row


def held(row: Order, now: datetime) -> bool:
    """A quoted order whose hold has not expired at `now`."""
    return (row.status == OrderStatus.QUOTED and row.expires_at is not None
            and row.expires_at > stamp(now))


def query(
    *,
    status: str | None = None,
    product: str | None = None,
    customer: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
) -> Select[Order]:
    """The filtered orders, by due date then id."""
    q = select(Order)
    if status is not None:
        q = q.where(Order.status == status)
    if product is not None:
        q = q.where(Order.product == product)
    if customer is not None:
        q = q.where(Order.customer == customer)
    if due_before is not None:
        q = q.where(Order.due < stamp(due_before))
    if due_after is not None:
        q = q.where(Order.due >= stamp(due_after))
    return q.order_by(Order.due, Order.id)


def page(
    session: Session, q: Select[Order], limit: int, offset: int
) -> tuple[list[Order], int]:
    """One page of `q` and the total count."""
    total = session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    rows = list(session.scalars(q.limit(limit).offset(offset)))
    return rows, total


def open_orders(session: Session, ids: Sequence[str] | None = None,
                now: datetime | None = None) -> list[Order]:
    """Open orders (all, or those of `ids`), by due date then id; with `now`, also the
    quoted orders still held then (a plan made at `now` keeps their capacity)."""
    q = query(status=OrderStatus.OPEN)
    if now is not None:
        q = query().where((Order.status == OrderStatus.OPEN) | (
            (Order.status == OrderStatus.QUOTED) & (Order.expires_at > stamp(now))))
    if ids is None:
        return list(session.scalars(q))
    if len(ids) <= PARAMS_PER_QUERY:
        return list(session.scalars(q.where(Order.id.in_(list(ids)))))
    wanted = set(ids)  # too many for one IN list: the open orders, filtered (same order)
    return [o for o in session.scalars(q) if o.id in wanted]


def check_against_factory(
    orders: Sequence[SpecOrder], factory: dict[str, Any]
) -> list[Fault]:
    """Faults of orders against the factory model: unknown product, site or destination,
    release after due."""
    products = {p["id"] for p in factory["products"]}
    sites = {s["id"] for s in factory["sites"]}
    destinations = {d for s in factory["sites"] for d in s.get("transit_min", {})}
    errors: list[Fault] = []

    def fault(i: int, o: SpecOrder, field: str, message: str) -> None:
        errors.append({"field": f"[{i}].{field}", "id": o.id,
                       "message": f"order '{o.id}': {message}"})

    for i, o in enumerate(orders):
        if o.product not in products:
            fault(i, o, "product", f"product '{o.product}' is not in the factory model")
        for s in o.allowed_sites or []:
            if s not in sites:
                fault(i, o, "allowed_sites", f"site '{s}' is not in the factory model")
        if o.destination is not None and o.destination not in destinations:
            fault(i, o, "destination",
                  f"destination '{o.destination}' is in no site's transit_min")
        if o.release is not None and o.release > o.due:
            fault(i, o, "release", "release is after due")
    return errors


def batch_warnings(
    session: Session, orders: Sequence[SpecOrder], factory: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """The orders of a batch the factory cannot build (`solver.problem.unbuildable`: no
    eligible resource at an allowed site, no site for the whole routing, a spread-risk
    quota that the customer's open orders and these cannot keep), one entry each in the
    shape of a schedule's `unplanned` list. They are stored all the same: plans leave them
    out, with the reason, until the order or the factory changes."""
    if not orders:
        return []
    mine = {o.id for o in orders}
    rows = [o.model_dump(mode="json", exclude_none=True) for o in orders]
    customers = {o.customer for o in orders if o.customer is not None}
    if factory.get("policies") and customers:  # a quota counts the customer's other racks
        others = query(status=OrderStatus.OPEN).where(Order.customer.in_(sorted(customers)))
        rows += [spec_dict(r) for r in session.scalars(others) if r.id not in mine]
    problem = Problem.model_validate({**factory, "horizon_start": stamp(floor_minute(now)),
                                      "orders": rows})
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for u in unbuildable(problem):
        # times and sizes are the intake's own refusals (`check_values`)
        if u.order in mine and u.order not in seen and u.code != "out_of_range":
            seen.add(u.order)
            out.append(u.as_dict())
    return out
