"""Capable-to-promise quotes: when could a new order be delivered, inserted into the
published plan (`solver.quote`), and, on request, its capacity held as a quoted order.

A quote reads the current factory, the open orders and held quotes and the floor's state
now (the problem a reschedule would solve) and the published schedule, and runs
`solver.quote.quote` in this process, one at a time (`_QUOTING`: a second request waits at
most `QUOTE_WAIT` seconds, then is told to retry). Its validated plan, and the plan of the
answer that may delay others, are stored as finished jobs of kind `quote` (the Gantt,
diff, explain and export endpoints read them like any job). With `reserve`, the order is
stored with status `quoted` and `expires_at` (setting `quote_hold_hours`): every plan made
before then holds its capacity (`orders.open_orders`), until it is confirmed
(`orders.confirm`: it becomes open) or cancelled; once expired it is in no plan, a
reschedule drops its published steps, and confirming it is refused.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from app.clock import stamp
from app.config import Settings
from app.db import reading, transaction
from app.domain import Conflict, Fault, Invalid, Unavailable
from app.services import factory as factory_svc
from app.services import jobs as jobs_svc
from app.services import locks
from app.services.problems import build_problem, plannable
from app.tables import Job, JobKind, JobStatus, Order, OrderStatus
from solver.problem import Limits, Problem, eligible, limit_faults, load_problem
from solver.problem import Order as SpecOrder

if TYPE_CHECKING:
    from solver.quote import Quoted

QUOTE_WAIT = 30.0
"""Seconds a quote request waits for the one being computed before it."""
INSERT_SECONDS = 0.3
"""CP-SAT's deterministic time for the held insertion (`QuoteParams.seconds`)."""
ALTERNATIVE_SECONDS = 2.0
"""The time limit of the reschedule that may delay others (`QuoteParams`)."""
_QUOTING = threading.Lock()
QUOTE_LOCK = "quote"
"""The database lock a reserving quote holds (`app.services.locks`)."""
LOCK_TTL = timedelta(minutes=2)
"""How long a reserving quote's lock lasts if its process dies holding it."""


def check(req: Any, factory: dict[str, Any], limits: Limits, now: datetime) -> list[Fault]:
    """Every fault of a quote request against the factory and the limits on values."""
    faults: list[Fault] = []

    def fault(field: str, message: str) -> None:
        faults.append({"field": field, "message": message})

    model = Problem.model_validate({**factory, "horizon_start": stamp(now), "orders": []})
    product = next((p for p in model.products if p.id == req.product), None)
    sites = {s.id for s in model.sites}
    if product is None:
        fault("product", f"product '{req.product}' is not in the factory model")
    able = set(sites)
    if product is not None:
        for step in product.routing:
            able &= {r.site for r, _ in eligible(model, product, step)}
    for i, s in enumerate(req.allowed_sites or []):
        if s not in sites:
            fault(f"allowed_sites[{i}]", f"site '{s}' is not in the factory model")
        elif product is not None and s not in able:
            fault(f"allowed_sites[{i}]", f"site '{s}' cannot build {product.id} (no "
                  "eligible resource there for every step of its routing)")
    destinations = {d for s in model.sites for d in s.transit_min}
    if req.destination is not None and req.destination not in destinations:
        fault("destination", f"destination '{req.destination}' is in no site's transit_min")
    probe = SpecOrder(id="quote", product=req.product, quantity=req.quantity,
                      due=req.due or req.release or now, release=req.release)
    for where, message in limit_faults(probe, limits, now, "now"):
        fault(where, message)
    if req.release is not None and req.due is not None and req.release > req.due:
        fault("due", f"due {stamp(req.due)} is before the release {stamp(req.release)}")
    return faults


def _new_id(session: Session, now: datetime) -> str:
    while True:
        oid = f"Q-{now:%Y%m%d}-{secrets.token_hex(3)}"
        if session.get(Order, oid) is None:
            return oid


def _job(session: Session, problem: Problem, schedule: dict[str, Any], factory_version: int,
         params: dict[str, Any], now: datetime) -> str:
    """A finished, validated job of kind quote holding `schedule`; its id."""
    t = stamp(now)
    job = Job(
        id=jobs_svc.new_job_id(), kind=JobKind.QUOTE, status=JobStatus.DONE, created_at=t,
        started_at=t, finished_at=t, params=params, factory_version=factory_version,
        problem=problem.model_dump(mode="json", exclude_none=True), schedule=schedule,
        progress=None, cancel_requested=False, valid=True,
    )
    session.add(job)
    session.flush()
    return job.id


def _sentence(q: Quoted, quantity: int, product: str, due: datetime | None) -> str:
    first = q.binding[0] if q.binding else None
    why = ""
    if first is not None:
        until = f" until {first['until']}" if first.get("until") else ""
        why = f"; it waits most for {first['subject']}{until}: {first['text']}"
    met = ""
    if due is not None:
        met = (f" (asked for {stamp(due)}: met)" if q.delivery <= stamp(due)
               else f" (asked for {stamp(due)}: not met)")
    return (f"{quantity} x {product} can be delivered {q.delivery}{met} from "
            f"{', '.join(q.sites)} without delaying any other order{why}.")


def create(
    sessions: sessionmaker[Session], settings: Settings, req: Any, *, reserve: bool,
) -> dict[str, Any]:
    """Quote `req` (a `QuoteRequest`) against the published plan: the answer
    (`app.schemas.quotes.QuoteOut`). Invalid naming every fault, Conflict when nothing is
    published or no quote can be given, Unavailable while another quote runs too long;
    nothing is written then. A reserving quote holds the database lock `QUOTE_LOCK` from
    reading to writing, so that reserving quotes of any process take turns and each one
    plans around those reserved before it."""
    if not reserve:
        return _create(sessions, settings, req, reserve=False)
    holder = locks.new_holder()
    deadline = time.monotonic() + QUOTE_WAIT
    while not locks.acquire(sessions, QUOTE_LOCK, holder, LOCK_TTL):
        if time.monotonic() > deadline:
            raise Unavailable("another quote is being reserved; retry in a few seconds")
        time.sleep(0.2)
    try:
        return _create(sessions, settings, req, reserve=True)
    finally:
        locks.release(sessions, QUOTE_LOCK, holder)


def _create(
    sessions: sessionmaker[Session], settings: Settings, req: Any, *, reserve: bool,
) -> dict[str, Any]:
    now = settings.clock()
    faults: list[Fault] = []
    with reading(sessions) as s:
        fv = factory_svc.require_latest(s)
        faults = check(req, fv.data, settings.limits(), now)
        if faults:
            raise Invalid.listing(faults, title="Invalid quote")
        pub = jobs_svc.latest_publication(s)
        if pub is None:
            raise Conflict("nothing is published: a quote is inserted into the published "
                           "plan (publish one first)",
                           faults=[{"field": "publication", "message": "none"}])
        ref = jobs_svc.get_job(s, pub.job_id)
        published, ref_params = ref.schedule or {}, dict(ref.params or {})
        objective = str(ref_params.get("objective") or "tardiness")
        data, _ = plannable(build_problem(s, fv, now, objective))  # buildable orders only
        oid = _new_id(s, now)
        fv_version, pub_id, pub_job = fv.version, pub.id, pub.job_id
    from solver.quote import QuoteError, QuoteParams, quote  # imports ortools: only when asked

    order = SpecOrder(
        id=oid, product=req.product, quantity=req.quantity, customer=req.customer,
        due=req.due or now, release=req.release, weight=req.weight,
        destination=req.destination, allowed_sites=req.allowed_sites,
    )
    params = QuoteParams(seconds=INSERT_SECONDS, alternative_seconds=ALTERNATIVE_SECONDS,
                         frozen_hours=settings.frozen_hours, workers=1, seed=0)
    if not _QUOTING.acquire(timeout=QUOTE_WAIT):
        raise Unavailable("another quote is being computed; retry in a few seconds")
    try:
        q = quote(load_problem(data), published, order, req.due, params)
    except QuoteError as exc:
        raise Conflict("no quote can be given: " + exc.errors[0],
                       faults=[{"field": "plan", "message": e} for e in exc.errors]) from None
    finally:
        _QUOTING.release()

    base = {"objective": objective, "time_limit": ALTERNATIVE_SECONDS, "workers": 1,
            "seed": 0, "orders": None, "horizon_start": data["horizon_start"],
            "reference": pub_job, "publication": pub_id, "frozen_hours": params.frozen_hours,
            "quote": oid, "reserve": reserve}
    expires = stamp(now + timedelta(hours=settings.quote_hold_hours)) if reserve else None
    with transaction(sessions) as s:
        plan = _job(s, q.problem, q.schedule, fv_version, {**base, "variant": "held"}, now)
        alternative = None
        if q.alternative is not None and q.alternative_problem is not None \
                and q.alternative_schedule is not None:
            alt = _job(s, q.alternative_problem, q.alternative_schedule, fv_version,
                       {**base, "variant": "others may be later"}, now)
            alternative = {**q.alternative, "plan": alt}
        if reserve:
            o = next(x for x in q.problem.orders if x.id == oid)
            s.add(Order(
                id=oid, product=o.product, customer=o.customer, quantity=o.quantity,
                due=stamp(o.due), release=stamp(o.release) if o.release else None,
                weight=float(o.weight), destination=o.destination,
                allowed_sites=list(o.allowed_sites) if o.allowed_sites else None,
                status=OrderStatus.QUOTED, created_at=stamp(now), updated_at=stamp(now),
                expires_at=expires,
            ))
    return {
        "order": oid, "product": req.product, "quantity": req.quantity,
        "delivery": q.delivery, "sites": q.sites,
        "text": _sentence(q, req.quantity, req.product, req.due),
        "binding": q.binding, "earliest_alone": q.earliest_alone, "proven": q.proven,
        "due": stamp(req.due) if req.due else None,
        "meets_due": (q.delivery <= stamp(req.due)) if req.due else None,
        "plan": plan, "publication": pub_id, "baseline": q.baseline,
        "alternative": alternative, "notes": q.notes, "reserved": reserve,
        "status": OrderStatus.QUOTED.value if reserve else None, "expires_at": expires,
        "seconds": q.seconds,
    }

