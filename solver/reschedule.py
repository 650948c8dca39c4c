"""Rescheduling from a published schedule: a frozen horizon, then a solve that stays close.

`reschedule(problem, published, params)`:

1. **Freeze** — steps of the published schedule that start within the frozen window
   (`frozen_hours` from the problem's `horizon_start`, which is "now") become fixed steps
   of the problem, at the same resource and time, unless the floor makes that impossible.
   A step is *released* (left free, with the reason) when its order, unit, step or
   resource is gone or no longer eligible, its duration changed, the resource is not
   available then (downtime reported since, or the calendar changed), the order is
   released later, its unit already runs at another site, the step before it in the
   routing is neither done, running nor kept (e.g. it is late), or it would overlap the
   floor's facts beyond a resource's capacity or a site's power cap (a step running late),
   or it would pin its unit at a site where the customer's units (facts and steps kept
   before it) already fill the spread-risk quota (rule 10: the quota or the orders
   changed since the plan was published). Facts always win over the plan. Windows,
   capacity and power caps (rules 6-8) are judged by the validator's `Occupancy`, and the
   reason is its line (``rule 7: resource
   ... runs 3 steps at ... (capacity 2): ...``).
2. **Solve** with the published schedule as the reference: the search starts from it
   (repaired to the new facts) and pays for each step it moves (`solver.compiled.MoveCosts`).
3. The result carries a `reschedule` section: the frozen window, the steps kept frozen,
   the steps released and why, and the diff against the published schedule
   (`solver.diff`).

The returned schedule has passed the validator against the problem *with* the frozen
steps fixed, which is returned with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from solver.calendar import minutes_between
from solver.diff import diff
from solver.problem import FixedStep, Problem, eligible, site_limit
from solver.solve import SolveParams, solve
from solver.validate import Occupancy

DEFAULT_FROZEN_HOURS = 24.0


@dataclass
class Frozen:
    """The problem with the frozen steps fixed, and what was kept and released."""

    problem: Problem
    kept: list[str] = field(default_factory=list)  # step ids "order/unit/op"
    released: list[dict[str, str]] = field(default_factory=list)  # {"step", "reason"}


class _Quotas:
    """Rule 10 for the freeze: a kept step may not pin a unit at a site where its
    customer's units (the floor's facts and the steps kept so far) fill the quota."""

    def __init__(self, problem: Problem) -> None:
        self.pol = problem.policies
        self.site_of = {r.id: r.site for r in problem.resources}
        self.customer = {o.id: o.customer for o in problem.orders}
        self.total: dict[str, int] = {}
        for o in problem.orders:
            if o.customer is not None:
                self.total[o.customer] = self.total.get(o.customer, 0) + o.quantity
        self.unit_site: dict[tuple[str, int], str] = {}
        self.count: dict[tuple[str, str], int] = {}
        for f in problem.fixed:
            self.add(f)

    def add(self, st: FixedStep) -> None:
        key = (st.order, st.unit)
        site, cust = self.site_of.get(st.resource), self.customer.get(st.order)
        if site is None or key in self.unit_site:
            return
        self.unit_site[key] = site
        if cust is not None:
            self.count[cust, site] = self.count.get((cust, site), 0) + 1

    def faults(self, st: FixedStep) -> list[str]:
        cust, site = self.customer.get(st.order), self.site_of.get(st.resource)
        if (self.pol is None or cust is None or site is None
                or (st.order, st.unit) in self.unit_site):
            return []
        share = self.pol.share(cust)
        if share is None:
            return []
        limit = site_limit(share, self.total[cust])
        n = self.count.get((cust, site), 0)
        if n < limit:
            return []
        return [f"rule 10: site '{site}' already builds {n} of customer '{cust}''s "
                f"{self.total[cust]} units, the most its quota {share:g} allows ({limit})"]


@dataclass
class Rescheduled:
    """A reschedule's schedule (with its `reschedule` section) and the problem it solved."""

    schedule: dict[str, Any]
    problem: Problem
    frozen: Frozen


def _instant(text: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _iso(t0: datetime, minute: int) -> str:
    return (t0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def freeze(problem: Problem, published: Mapping[str, Any],
           hours: float = DEFAULT_FROZEN_HOURS) -> Frozen:
    """Fix the published steps that start within `hours` of `horizon_start` (module
    docstring, step 1)."""
    t0 = problem.horizon_start
    until = round(hours * 60)
    if until <= 0:
        return Frozen(problem)
    orders = {o.id: o for o in problem.orders}
    products = {p.id: p for p in problem.products}
    resources = {r.id: r for r in problem.resources}
    site_of = {r.id: r.site for r in problem.resources}
    facts = {(f.order, f.unit, f.op): f for f in problem.fixed}
    plan: dict[tuple[str, int], dict[str, Mapping[str, Any]]] = {}
    for item in published.get("items") or []:
        try:
            plan.setdefault((str(item["order"]), int(item["unit"])), {})[str(item["op"])] = item
        except (KeyError, TypeError, ValueError):
            continue

    out = Frozen(problem)
    occupancy = Occupancy(problem, problem.fixed)
    candidates: list[FixedStep] = []
    blocked: dict[tuple[str, int], str] = {}  # unit -> why its later steps cannot be kept

    def release(key: tuple[str, int, str], reason: str) -> None:
        out.released.append({"step": "/".join(map(str, key)), "reason": reason})
        blocked.setdefault(key[:2], f"the step before it ('{key[2]}') is not kept")

    for (oid, unit), steps in sorted(plan.items()):
        order = orders.get(oid)
        if order is None or unit > order.quantity:
            continue  # cancelled or shrunk: nothing of it to keep
        product = products[order.product]
        allowed = set(order.allowed_sites) if order.allowed_sites is not None else None
        prev_end: int | None = None
        unit_site: str | None = None
        release_at = minutes_between(t0, order.release) if order.release else None
        for step in product.routing:
            key = (oid, unit, step.op)
            fact = facts.get(key)
            if fact is not None:
                prev_end = minutes_between(t0, fact.end)
                unit_site = site_of[fact.resource]
                continue
            item = steps.get(step.op)
            s_at = _instant(item.get("start")) if item else None
            e_at = _instant(item.get("end")) if item else None
            if item is None or s_at is None or e_at is None:
                blocked.setdefault((oid, unit), f"the step before it ('{step.op}') is not planned")
                continue
            s, e = minutes_between(t0, s_at), minutes_between(t0, e_at)
            if s >= until:
                break  # this and the later steps lie beyond the window
            if s < 0:  # planned before now and not reported started: it is late
                blocked.setdefault(
                    (oid, unit),
                    f"the step before it ('{step.op}', planned at {_iso(t0, s)}) has not "
                    "started",
                )
                continue
            why = blocked.get((oid, unit))
            rid = str(item.get("group"))
            res = resources.get(rid)
            durations = {r.id: d for r, d in eligible(problem, product, step)}
            if why is None:
                if res is None:
                    why = f"resource '{rid}' no longer exists"
                elif rid not in durations:
                    why = f"resource '{rid}' may no longer run this step"
                elif allowed is not None and res.site not in allowed:
                    why = f"the order may no longer run at site '{res.site}'"
                elif unit_site is not None and res.site != unit_site:
                    why = f"the unit already runs at site '{unit_site}'"
                elif durations[rid] != e - s:
                    why = (f"the step now takes {durations[rid]} min on '{rid}', "
                           f"not {e - s}")
                elif prev_end is not None and prev_end > s:
                    why = (f"the step before it ends at {_iso(t0, prev_end)}, after this "
                           "one was to start")
                elif release_at is not None and release_at > s:
                    why = f"the order is released at {_iso(t0, release_at)}"
            candidate = FixedStep(order=oid, unit=unit, op=step.op, resource=rid,
                                  start=t0 + timedelta(minutes=s), end=t0 + timedelta(minutes=e))
            if why is None:  # rule 6, as the validator judges it
                why = "; ".join(occupancy.window_faults(candidate)) or None
            if why is not None:
                release(key, why)
                continue
            assert res is not None
            candidates.append(candidate)
            prev_end, unit_site = e, res.site

    # rules 7 and 8 (as the validator judges them) and rule 10 against the floor's facts,
    # then each other, in start order
    quotas = _Quotas(problem)
    dropped: set[tuple[str, int]] = set()
    kept: list[FixedStep] = []
    for st in sorted(candidates, key=lambda x: (x.start, x.order, x.unit, x.op)):
        key, label = (st.order, st.unit, st.op), f"{st.order}/{st.unit}/{st.op}"
        if key[:2] in dropped:
            out.released.append({"step": label, "reason": blocked[key[:2]]})
            continue
        faults = occupancy.load_faults(st)
        if not faults:
            faults = quotas.faults(st)
        if faults:
            dropped.add(key[:2])
            release(key, "; ".join(faults))
            continue
        quotas.add(st)
        occupancy.add(st)
        out.kept.append(label)
        kept.append(st)
    out.released.sort(key=lambda r: r["step"])
    if kept:
        out.problem = problem.model_copy(update={"fixed": [*problem.fixed, *kept]})
    return out


def reschedule(
    problem: Problem,
    published: Mapping[str, Any] | None,
    params: SolveParams | None = None,
    frozen_hours: float = DEFAULT_FROZEN_HOURS,
) -> Rescheduled:
    """Freeze, solve close to `published`, and report (module docstring). Without a
    published schedule this is a plain solve (and the section says so)."""
    params = params or SolveParams()
    if published is None:
        schedule = solve(problem, params)
        schedule["reschedule"] = {
            "reference": None, "frozen_hours": frozen_hours, "frozen_steps": 0,
            "kept": [], "released": [], "diff": None,
            "note": "no published schedule: planned from scratch",
        }
        return Rescheduled(schedule, problem, Frozen(problem))
    frozen = freeze(problem, published, frozen_hours)
    schedule = solve(frozen.problem, replace(params, reference=published))
    schedule["reschedule"] = {
        "reference": published.get("problem"),
        "frozen_hours": frozen_hours,
        "frozen_steps": len(frozen.kept),
        "kept": frozen.kept,
        "released": frozen.released,
        "diff": diff(published, schedule) if schedule.get("items") else None,
    }
    return Rescheduled(schedule, frozen.problem, frozen)


__all__ = ["DEFAULT_FROZEN_HOURS", "Frozen", "Rescheduled", "freeze", "reschedule"]
