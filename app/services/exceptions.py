"""What needs a planner's eye (`GET /exceptions`), from the published plan: late orders,
orders at risk (delivered less than `at_risk_hours` before their due), the frozen steps the
last reschedule released, the orders the plan left out (`unplanned`), and resources idle
for more than a day of their open time while orders that could use them are late.

Every entry names what it is about (order, step, resource) and links to where a planner
looks at it: the Gantt of the plan filtered to the order or site, the plan, the orders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from app.services import jobs as jobs_svc
from app.tables import Job, JobKind, JobStatus
from solver.calendar import merge, minutes_between, resource_windows, subtract
from solver.problem import Problem, Resource, load_problem

DAY = 1440
KINDS = ("late", "unplanned", "at_risk", "released", "idle")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _view(job_id: str, **query: str) -> str:
    q = urlencode({k: v for k, v in query.items() if v})
    return f"/schedules/{quote(job_id, safe='')}/view" + (f"?{q}" if q else "")


def _order_links(job_id: str, order: str) -> dict[str, str]:
    return {"gantt": _view(job_id, order=order),
            "order": f"/ui/orders?{urlencode({'order': order})}",
            "api": f"/orders/{quote(order, safe='')}"}


def _late_and_at_risk(job_id: str, schedule: dict[str, Any], weights: dict[str, float],
                      at_risk_min: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    late: list[dict[str, Any]] = []
    risk: list[dict[str, Any]] = []
    for o in schedule.get("orders", []):
        if not o.get("delivery") or not o.get("due"):
            continue
        tard = float(o.get("tardiness_min") or 0)
        base = {"order": o["id"], "delivery": o["delivery"], "due": o["due"],
                "sites": o.get("sites", []), "links": _order_links(job_id, o["id"])}
        weight = weights.get(o["id"], 1.0)
        if tard > 0:
            late.append({**base, "kind": "late", "tardiness_min": int(tard), "weight": weight,
                         "weighted_min": tard * weight,
                         "message": f"order {o['id']} is delivered {int(tard)} min after "
                                    f"its due date (weight {weight:g})"})
            continue
        slack = minutes_between(_parse(o["delivery"]), _parse(o["due"]))
        if slack < at_risk_min:
            risk.append({**base, "kind": "at_risk", "slack_min": slack,
                         "message": f"order {o['id']} is delivered only {slack} min before "
                                    "its due date"})
    late.sort(key=lambda e: (-e["weighted_min"], e["order"]))
    risk.sort(key=lambda e: (e["slack_min"], e["order"]))
    return late, risk


def _unplanned(job_id: str, schedule: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for u in schedule.get("unplanned", []) or []:
        order = str(u.get("order", ""))
        why = u.get("reason") or u.get("code")
        links = {**_order_links(job_id, order), "plan": _view(job_id)}
        del links["gantt"]  # it has no bars
        out.append({"kind": "unplanned", "order": order, "code": u.get("code"),
                    "reason": u.get("reason"), "op": u.get("op"),
                    "sites": u.get("sites") or [],
                    "message": f"order {order} is not in the plan: {why}", "links": links})
    return out


def _released(session: Session) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The newest finished reschedule and the frozen steps it released, with the reasons."""
    job = session.scalars(
        select(Job).options(load_only(Job.id, Job.created_at, Job.finished_at))
        .where(Job.kind == JobKind.RESCHEDULE, Job.status == JobStatus.DONE)
        .order_by(Job.finished_at.desc(), Job.created_at.desc(), Job.id.desc()).limit(1)
    ).first()
    if job is None:
        return None, []
    section = session.scalar(select(Job.schedule["reschedule"]).where(Job.id == job.id))
    if not isinstance(section, dict):
        return None, []
    out = []
    for r in section.get("released", []) or []:
        step = str(r.get("step", ""))
        order = step.split("/", 1)[0]
        out.append({"kind": "released", "step": step, "order": order,
                    "reason": r.get("reason"), "job_id": job.id,
                    "message": f"frozen step {step} was released: {r.get('reason')}",
                    "links": {"gantt": _view(job.id, order=order),
                              "compare": f"/ui/compare?{urlencode({'b': job.id})}"}})
    info = {"job_id": job.id, "finished_at": job.finished_at,
            "kept": len(section.get("kept", []) or []), "released": len(out),
            "reference": section.get("reference")}
    return info, out


def _eligible(res: Resource, problem: Problem, late: set[str]) -> list[str]:
    """The late orders some step of which could run on `res` (its kind or an alternative,
    its products, the order's allowed sites)."""
    products = {p.id: p for p in problem.products}
    out = []
    for o in problem.orders:
        if o.id not in late:
            continue
        if o.allowed_sites and res.site not in o.allowed_sites:
            continue
        if res.products is not None and o.product not in res.products:
            continue
        if any(any(a.resource == res.id for a in step.alternatives) if step.alternatives
               else step.kind is not None and step.kind == res.kind
               for step in products[o.product].routing):
            out.append(o.id)
    return out


def _idle(job_id: str, schedule: dict[str, Any], problem: Problem,
          late: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources with a stretch of more than a day of open time without a step, while an
    order that could use them was waiting to be delivered late (from its release to its
    delivery); the longest stretch of each."""
    if not late:
        return []
    t0 = problem.horizon_start
    delivered = {e["order"]: minutes_between(t0, _parse(e["delivery"])) for e in late}
    released = {o.id: max(0, minutes_between(t0, o.release)) if o.release else 0
                for o in problem.orders}
    until = max(delivered.values())
    busy: dict[str, list[tuple[int, int]]] = {}
    for it in schedule.get("items", []):
        busy.setdefault(it["group"], []).append((int(it["start_min"]), int(it["end_min"])))
    sites = {s.id: s for s in problem.sites}
    cache: dict[str, list[tuple[int, int]]] = {}
    out: list[dict[str, Any]] = []
    for res in problem.resources:
        waiting = _eligible(res, problem, set(delivered))
        if not waiting:
            continue
        # open time of the resource while one of those orders was on its way, less its steps
        spans = merge((released[o], delivered[o]) for o in waiting)
        open_w = [(max(a, x), min(b, y)) for a, b in resource_windows(
            res, sites[res.site], t0, until, cache) for x, y in spans
            if min(b, y) > max(a, x)]
        mine = merge(busy.get(res.id, []))
        free = subtract(merge(open_w), mine)
        # stretches between its steps (across closed time: nights, weekends)
        edges = [0, *(m for a, b in mine for m in (a, b)), until]
        best: tuple[int, int, int] | None = None
        i = 0
        for a, b in zip(edges[::2], edges[1::2], strict=False):
            minutes = 0
            first = last = None
            while i < len(free) and free[i][0] < b:
                x, y = max(free[i][0], a), min(free[i][1], b)
                if y > x:
                    minutes += y - x
                    first = x if first is None else first
                    last = y
                if free[i][1] <= b:
                    i += 1
                else:
                    break
            if minutes > DAY and first is not None and last is not None and (
                    best is None or minutes > best[2]):
                best = (first, last, minutes)
        if best is None:
            continue
        a, b, minutes = best
        start, end = t0 + timedelta(minutes=a), t0 + timedelta(minutes=b)
        names = ", ".join(waiting[:3]) + (f" and {len(waiting) - 3} more"
                                          if len(waiting) > 3 else "")
        out.append({"kind": "idle", "resource": res.id, "site": res.site,
                    "start": _iso(start), "end": _iso(end), "idle_open_min": minutes,
                    "orders": waiting,
                    "message": f"{res.id} stands idle for {minutes} min of open time while "
                               f"{names}, which could use it, "
                               f"{'are' if len(waiting) > 1 else 'is'} late",
                    "links": {"gantt": _view(job_id, site=res.site)}})
    out.sort(key=lambda e: (-e["idle_open_min"], e["resource"]))
    return out


def of_plan(job_id: str, problem_doc: dict[str, Any], schedule: dict[str, Any],
            at_risk_hours: float) -> dict[str, list[dict[str, Any]]]:
    """The late, unplanned, at-risk and idle entries of one plan (its problem and
    schedule), by kind."""
    problem = load_problem(problem_doc)
    weights = {o.id: float(o.weight) for o in problem.orders}
    late, risk = _late_and_at_risk(job_id, schedule, weights, at_risk_hours * 60)
    return {"late": late, "unplanned": _unplanned(job_id, schedule), "at_risk": risk,
            "idle": _idle(job_id, schedule, problem, late)}


def exceptions(session: Session, at_risk_hours: float) -> dict[str, Any]:
    """The exceptions of the published plan, most urgent kind first (`KINDS`)."""
    pub = jobs_svc.latest_publication(session)
    result: dict[str, Any] = {"job_id": None, "published_at": None, "name": None,
                              "at_risk_hours": at_risk_hours, "reschedule": None,
                              "counts": dict.fromkeys(KINDS, 0), "items": []}
    reschedule, released = _released(session)
    result["reschedule"] = reschedule
    if pub is None:
        result["items"] = released
        result["counts"]["released"] = len(released)
        return result
    job = jobs_svc.get_job(session, pub.job_id)
    groups = {**of_plan(job.id, job.problem, job.schedule or {}, at_risk_hours),
              "released": released}
    result.update(job_id=job.id, published_at=pub.published_at,
                  name=(job.problem or {}).get("name"),
                  counts={k: len(v) for k, v in groups.items()},
                  items=[e for k in KINDS for e in groups[k]])
    return result
