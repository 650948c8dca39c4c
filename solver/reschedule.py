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
   floor's facts beyond a resource's capacity or a site's power cap (a step running late).
   Facts always win over the plan.
2. **Solve** with the published schedule as the reference: the search starts from it
   (repaired to the new facts) and pays for each step it moves (`solver.stability`).
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

from solver.calendar import Interval, minutes_between, resource_windows
from solver.diff import diff
from solver.problem import FixedStep, Problem, Resource, eligible
from solver.solve import SolveParams, solve

DEFAULT_FROZEN_HOURS = 24.0


@dataclass
class Frozen:
    """The problem with the frozen steps fixed, and what was kept and released."""

    problem: Problem
    kept: list[str] = field(default_factory=list)  # step ids "order/unit/op"
    released: list[dict[str, str]] = field(default_factory=list)  # {"step", "reason"}


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


@dataclass
class _Step:
    key: tuple[str, int, str]
    resource: str
    site: str
    start: int
    end: int
    power: float

    @property
    def label(self) -> str:
        return "/".join(map(str, self.key))


class _Load:
    """Steps placed on resources and sites, to test capacity and power caps."""

    def __init__(self, problem: Problem) -> None:
        self.cap = {r.id: r.capacity for r in problem.resources}
        self.power_cap = {s.id: s.power_cap_kw for s in problem.sites}
        self.on_res: dict[str, list[_Step]] = {}
        self.on_site: dict[str, list[_Step]] = {}

    def add(self, st: _Step) -> None:
        self.on_res.setdefault(st.resource, []).append(st)
        if st.power > 0:
            self.on_site.setdefault(st.site, []).append(st)

    def conflict(self, st: _Step) -> str | None:
        """Why `st` does not fit with what is placed, or None."""
        over = [x for x in self.on_res.get(st.resource, []) if _overlap(x, st)]
        if _peak(over, st.start, st.end, lambda _: 1) + 1 > self.cap[st.resource]:
            names = ", ".join(x.label for x in over[:3])
            return (f"resource '{st.resource}' is taken then by {names} "
                    "(facts from the floor or steps kept before it)")
        cap = self.power_cap.get(st.site)
        if st.power > 0 and cap is not None:
            over = [x for x in self.on_site.get(st.site, []) if _overlap(x, st)]
            if _peak(over, st.start, st.end, lambda x: x.power) + st.power > cap + 1e-9:
                return f"site '{st.site}' would exceed its power cap of {cap:g} kW"
        return None


def _overlap(x: _Step, y: _Step) -> bool:
    return x.start < y.end and y.start < x.end


def _peak(steps: list[_Step], lo: int, hi: int, amount: Any) -> float:
    """The highest summed `amount` of `steps` at any moment of [lo, hi)."""
    events: list[tuple[int, float]] = []
    for x in steps:
        events.append((max(x.start, lo), amount(x)))
        events.append((min(x.end, hi), -amount(x)))
    events.sort()
    level = peak = 0.0
    for _, d in events:
        level += d
        peak = max(peak, level)
    return peak


def _unavailable(
    res: Resource, windows: list[Interval], t0: datetime, s: int, e: int
) -> str | None:
    """Why [s, e) is not inside one available window of `res`, or None when it is."""
    if any(a <= s and e <= b for a, b in windows):
        return None
    for w in res.downtime:
        ws, we = minutes_between(t0, w.start), -minutes_between(w.end, t0)
        if ws < e and s < we:
            return (f"resource '{res.id}' is down from {_iso(t0, ws)} to "
                    f"{_iso(t0, we)}")
    return f"resource '{res.id}' is not available then (its calendar changed)"


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
    longest = max((st.duration_min or max((a.duration_min for a in st.alternatives or []),
                                          default=0)
                   for p in problem.products for st in p.routing), default=0)
    horizon = until + longest + 1
    cache: dict[str, list[Interval]] = {}
    windows: dict[str, list[Interval]] = {}

    def window_of(res: Resource) -> list[Interval]:
        if res.id not in windows:
            windows[res.id] = resource_windows(res, problem.site(res.site), t0, horizon, cache)
        return windows[res.id]

    candidates: list[_Step] = []
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
                else:
                    why = _unavailable(res, window_of(res), t0, s, e)
            if why is not None:
                release(key, why)
                continue
            assert res is not None
            candidates.append(_Step(key, rid, res.site, s, e, step.power_kw))
            prev_end, unit_site = e, res.site

    # capacity and power against the floor's facts, then each other, in start order
    load = _Load(problem)
    for f in problem.fixed:
        fp = products[orders[f.order].product] if f.order in orders else None
        power = next((st.power_kw for st in fp.routing if st.op == f.op), 0.0) if fp else 0.0
        load.add(_Step((f.order, f.unit, f.op), f.resource, site_of[f.resource],
                       minutes_between(t0, f.start), minutes_between(t0, f.end), power))
    dropped: set[tuple[str, int]] = set()
    kept: list[FixedStep] = []
    for st in sorted(candidates, key=lambda x: (x.start, x.key)):
        unit_key = st.key[:2]
        if unit_key in dropped:
            out.released.append({"step": st.label, "reason": blocked[unit_key]})
            continue
        why = load.conflict(st)
        if why is not None:
            dropped.add(unit_key)
            release(st.key, why)
            continue
        load.add(st)
        out.kept.append(st.label)
        kept.append(FixedStep(order=st.key[0], unit=st.key[1], op=st.key[2],
                              resource=st.resource, start=t0 + timedelta(minutes=st.start),
                              end=t0 + timedelta(minutes=st.end)))
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
