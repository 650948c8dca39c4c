"""What would make a late order on time: counterfactuals, each checked by a re-solve.

`what_if(problem, schedule, order)` tries a few changes suggested by the order's explanation
(`solver.explain`) and keeps up to `MOST` that make the order less late:

- ``priority``: nothing in the factory changes; the order goes ahead of the orders that
  held it (named, with what they lose);
- ``site``: the order may also be built at sites its ``allowed_sites`` leave out (those
  that can run its routing);
- ``resource``: one more resource like the busiest one of the group that held it (a copy
  of the resource its latest rack waited for, with the same calendar, downtime and
  qualifications; listed beside it in the steps' ``alternatives``);
- ``shift``: one more shift at the site whose closed hours held it (a night shift on the
  working days when it waited for the shift to open, the longest shift's hours on the
  closed days when it waited over a weekend);
- ``power``: the site's power cap (and every power window's cap in force) raised by N kW,
  N the most power a step of its latest rack drew while it waited for power, rounded up
  to 10 kW.

None is guessed. Each change is applied to the problem (`apply_change`), the schedule is
carried over (it stays valid: every change only adds room), and a small neighbourhood around
the order is re-solved with CP-SAT: the sub-model of `solver.cpsat.model` (the builder the
large-neighbourhood search uses; one worker, a seed and a deterministic time limit, so the
answer does not depend on how loaded the machine is) frees the order's racks, the racks that
held them and the racks nearest them in time at their sites, up to `UNITS`, and fixes
everything else where the schedule has it. In the sub-model the order weighs more than every
other freed order together (so its minutes come first), the others keep their weights. The
schedule that comes back is built as a SPEC schedule and validated against the changed
problem (`solver.validate`); only then are its figures reported, read from that schedule:
the order's tardiness left and, per other order, the change in its tardiness, with the
weighted sum (the cost to others; negative when they gain too). A change whose re-solve
gives the order no gain is left out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from solver.compiled import Compiled, compile_problem, default_horizon
from solver.cpsat.model import ModelBuilder, set_objective
from solver.cpsat.runner import run_model
from solver.explain import (
    Explanation,
    OrderExplanation,
    Other,
    WhatIf,
    explain,
    say_ids,
    say_minutes,
)
from solver.problem import DAYS, Objective, Problem, ProblemError, eligible, load_problem
from solver.schedule import Status, build_schedule
from solver.solution import Assignment, order_tardiness
from solver.validate import validate

__all__ = [
    "KINDS", "MOST", "UNITS", "WhatIf", "WhatIfError", "add_what_if", "apply_change",
    "candidates", "what_if",
]

KINDS = ("priority", "site", "resource", "shift", "power")
MOST = 3
"""Counterfactuals kept per order."""
UNITS = 40
"""Racks freed in one re-solve (the order's own first)."""
SECONDS = 1.0
"""CP-SAT's deterministic time limit for one re-solve: the same answer on a loaded machine
as on an idle one. One unit took about 2 processor seconds at 1,000-3,000 racks, so a
change tried costs about 2-3 s in all (`bench/explain.py`)."""
WALL_FACTOR = 3.0
"""The wall-clock cap of a re-solve, as a multiple of its deterministic limit."""
WINDOW_MIN = 2 * 1440
"""Room around the freed racks' span that the re-solve may use, at least (minutes)."""
POWER_STEP_KW = 10


class WhatIfError(ValueError):
    """A change cannot be applied to the problem; `errors` lists why."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# ---- the changes ------------------------------------------------------------------------


def apply_change(problem: Problem, change: Mapping[str, Any]) -> Problem:
    """The problem with `change` made (a ``priority`` change leaves it as it is).

    Parameters
    ----------
    problem
        A checked problem.
    change
        A counterfactual's ``change``: ``{"kind": "site", "order", "sites"}``,
        ``{"kind": "resource", "copy_of", "id"}``, ``{"kind": "shift", "site", "shift"}``,
        ``{"kind": "power", "site", "add_kw"}`` or ``{"kind": "priority", ...}``.

    Returns
    -------
    Problem
        The changed problem, checked again by `load_problem`.

    Raises
    ------
    WhatIfError
        If the change names what the problem does not have, or the changed problem is not
        valid.
    """
    kind = change.get("kind")
    if kind == "priority":
        return problem
    data = problem.model_dump(mode="json", exclude_none=True)
    if kind == "site":
        o = next((o for o in data["orders"] if o["id"] == change.get("order")), None)
        if o is None:
            raise WhatIfError([f"no order '{change.get('order')}'"])
        allowed = o.get("allowed_sites") or [s["id"] for s in data["sites"]]
        o["allowed_sites"] = [*allowed, *(s for s in change["sites"] if s not in allowed)]
    elif kind == "resource":
        src = next((r for r in data["resources"] if r["id"] == change.get("copy_of")), None)
        if src is None:
            raise WhatIfError([f"no resource '{change.get('copy_of')}'"])
        data["resources"].append({**src, "id": change["id"]})
        for prod in data["products"]:
            for st in prod["routing"]:
                alts = st.get("alternatives")
                if alts:
                    st["alternatives"] = alts + [
                        {**a, "resource": change["id"]} for a in alts
                        if a["resource"] == src["id"]
                    ]
    elif kind == "shift":
        site = _site_doc(data, change.get("site"))
        site["shifts"] = [*site.get("shifts", []), dict(change["shift"])]
    elif kind == "power":
        site = _site_doc(data, change.get("site"))
        add = float(change["add_kw"])
        if site.get("power_cap_kw") is not None:
            site["power_cap_kw"] = site["power_cap_kw"] + add
        for w in site.get("power_windows") or []:
            w["power_cap_kw"] = w["power_cap_kw"] + add
    else:
        raise WhatIfError([f"unknown kind of change {kind!r} (one of {', '.join(KINDS)})"])
    try:
        return load_problem(data)
    except ProblemError as exc:
        raise WhatIfError(exc.errors) from None


def _site_doc(data: dict[str, Any], sid: object) -> dict[str, Any]:
    site = next((s for s in data["sites"] if s["id"] == sid), None)
    if site is None:
        raise WhatIfError([f"no site '{sid}'"])
    out: dict[str, Any] = site
    return out


def candidates(problem: Problem, o: OrderExplanation) -> list[dict[str, Any]]:
    """The changes worth trying for a late order, from its explanation (module docstring),
    before any is checked."""
    oid = o["order"]
    waits = [(st, w) for st in o["chain"] for w in (*st["waits"], *st["slower"])]
    holders = _holders(o)
    out: list[dict[str, Any]] = [{"kind": "priority", "order": oid, "ahead_of": holders}]
    order = next(x for x in problem.orders if x.id == oid)
    if order.allowed_sites is not None:
        product = next(p for p in problem.products if p.id == order.product)
        able = [
            s.id for s in problem.sites if s.id not in order.allowed_sites
            and all(any(r.site == s.id for r, _ in eligible(problem, product, st))
                    for st in product.routing)
        ]
        if able:
            out.append({"kind": "site", "order": oid, "sites": able})
    by_res: dict[str, int] = {}
    for st, w in waits:
        if w["cause"] == "resource":
            by_res[st["resource"]] = by_res.get(st["resource"], 0) + w["minutes"]
    if by_res:
        rid = max(by_res, key=lambda r: by_res[r])
        ids = {r.id for r in problem.resources}
        new, n = f"{rid}-NEW", 2
        while new in ids:
            new, n = f"{rid}-NEW{n}", n + 1
        out.append({"kind": "resource", "copy_of": rid, "id": new})
    shift = _shift_change(problem, waits)
    if shift is not None:
        out.append(shift)
    power: dict[str, float] = {}
    for st, w in waits:
        if w["cause"] == "power":
            kw = _step_kw(problem, oid, st["op"])
            power[st["site"]] = max(power.get(st["site"], 0.0), kw)
    if power:
        site = max(power, key=lambda s: power[s])
        add = max(POWER_STEP_KW, math.ceil(power[site] / POWER_STEP_KW) * POWER_STEP_KW)
        out.append({"kind": "power", "site": site, "add_kw": add})
    return out


def _holders(o: OrderExplanation) -> list[str]:
    """Orders that held the latest rack (resource or power waits), most minutes first."""
    mins: dict[str, int] = {}
    for st in o["chain"]:
        for w in (*st["waits"], *st["slower"]):
            if w["cause"] in ("resource", "power"):
                for x in w["ids"].get("orders", []):
                    if x != o["order"]:
                        mins[x] = mins.get(x, 0) + w["minutes"]
    return sorted(mins, key=lambda x: (-mins[x], x))


def _step_kw(problem: Problem, oid: str, op: str) -> float:
    order = next(x for x in problem.orders if x.id == oid)
    product = next(p for p in problem.products if p.id == order.product)
    return next(st.power_kw for st in product.routing if st.op == op)


def _shift_change(
    problem: Problem, waits: Sequence[tuple[Any, Any]]
) -> dict[str, Any] | None:
    """A shift to add where the calendar held the latest rack longest (shift or weekend)."""
    mins: dict[tuple[str, str], int] = {}
    for st, w in waits:
        if w["cause"] in ("shift", "weekend"):
            key = (st["site"], w["cause"])
            mins[key] = mins.get(key, 0) + w["minutes"]
    if not mins:
        return None
    (sid, cause) = max(mins, key=lambda k: mins[k])
    site = next(s for s in problem.sites if s.id == sid)
    if not site.shifts:
        return None
    first = site.shifts[0]
    longest = max(site.shifts, key=lambda sh: sh.length_min())
    worked = {d for sh in site.shifts for d in sh.days}
    if cause == "weekend":
        days = [d for d in DAYS if d not in worked]
        if not days:
            return None
        shift = {"days": days, "start": longest.start, "end": longest.end}
        what = "weekend"
    else:
        starts = sorted({sh.start for sh in site.shifts})
        ends = sorted({sh.end for sh in site.shifts})
        if len(site.shifts) > 1 and first.end != starts[0]:
            start, end = ends[-1], starts[0]
        else:
            start, end = first.end, first.start
        if start in ("24:00", end):
            return None
        shift = {"days": [d for d in DAYS if d in worked], "start": start, "end": end}
        what = "night"
    return {"kind": "shift", "site": sid, "shift": shift, "what": what}


# ---- the re-solve -----------------------------------------------------------------------


def what_if(
    problem: Problem,
    schedule: Mapping[str, Any],
    order: str,
    *,
    explanation: OrderExplanation | None = None,
    seconds: float = SECONDS,
    most: int = MOST,
    seed: int = 0,
    keep_schedules: bool = False,
    timings: list[float] | None = None,
) -> list[WhatIf]:
    """Up to `most` checked changes that make `order` less late, best first.

    Parameters
    ----------
    problem
        The problem the schedule solves.
    schedule
        A SPEC section 3 schedule that the validator accepts.
    order
        A late order of the schedule (an on-time one gets an empty list).
    explanation
        The order's explanation, if already at hand (else `explain` is run).
    seconds
        CP-SAT's deterministic time limit for each re-solve (`SECONDS`; its wall-clock
        time is capped at `WALL_FACTOR` times that).
    most
        How many counterfactuals to keep.
    seed
        CP-SAT's random seed.
    keep_schedules
        Keep each counterfactual's validated schedule under ``schedule``.
    timings
        When given, the seconds of each change tried (kept or not) are appended to it.

    Returns
    -------
    list[WhatIf]
        Sorted by the tardiness they leave, then by the cost to others.

    Raises
    ------
    solver.explain.ExplainError
        If `order` is not in the problem or the schedule cannot be read.
    """
    if explanation is None:
        found = explain(problem, schedule, order)["orders"]
        if not found:
            return []
        explanation = found[0]
    before = _tardiness(schedule)
    weights = {o.id: o.weight for o in problem.orders}
    out: list[WhatIf] = []
    seen: set[tuple[int, float]] = set()
    for change in candidates(problem, explanation):
        t0 = time.perf_counter()
        got = _try(problem, schedule, explanation, change, before, weights, seconds, seed)
        if timings is not None:
            timings.append(time.perf_counter() - t0)
        if got is None:
            continue
        key = (got["tardiness_min"], got["others_weighted_delta_min"])
        if change["kind"] != "priority" and key in seen:
            continue
        seen.add(key)
        if not keep_schedules:
            got.pop("schedule", None)
        out.append(got)
    out.sort(key=lambda w: (w["tardiness_min"], w["others_weighted_delta_min"]))
    return out[:most]


def add_what_if(
    problem: Problem,
    schedule: Mapping[str, Any],
    explanation: Explanation,
    *,
    orders: int | None = None,
    seconds: float = SECONDS,
    seed: int = 0,
) -> Explanation:
    """`explanation` with each explained order's counterfactuals under ``what_if``.

    Parameters
    ----------
    problem, schedule
        What `explanation` explains.
    explanation
        What `solver.explain.explain` returned (changed in place, and returned).
    orders
        Only the first `orders` explained orders by weighted tardiness get
        counterfactuals (None: all of them); the others get no ``what_if`` key.
    seconds, seed
        CP-SAT's deterministic time limit and seed for each re-solve (see `what_if`).
    """
    chosen = sorted(explanation["orders"], key=lambda o: -o["weight"] * o["tardiness_min"])
    if orders is not None:
        chosen = chosen[:orders]
    for o in chosen:
        found = what_if(problem, schedule, o["order"], explanation=o, seconds=seconds,
                        seed=seed)
        o["what_if"] = found
    return explanation


def _tardiness(schedule: Mapping[str, Any]) -> dict[str, int]:
    return {str(o["id"]): int(o["tardiness_min"]) for o in schedule.get("orders", [])}


def _try(
    problem: Problem, schedule: Mapping[str, Any], ex: OrderExplanation,
    change: dict[str, Any], before: dict[str, int], weights: dict[str, float],
    seconds: float, seed: int,
) -> WhatIf | None:
    """Apply one change, re-solve around the order, validate; None when it gains nothing."""
    t0 = time.perf_counter()
    oid = ex["order"]
    try:
        changed = apply_change(problem, change)
    except WhatIfError:
        return None
    c = _compile(changed, schedule)
    if c is None:
        return None
    a = _assignment(c, schedule)
    if a is None:
        return None
    oi = c.order_ids.index(oid)
    units = _neighbourhood(c, a, oi, ex)
    free = {u: j for u, j in ((u, _first_free(c, u)) for u in units)
            if j < len(c.unit_ops[u])}
    if not free:
        return None
    lo = min(a.start[c.unit_ops[u][j]] for u, j in free.items())
    hi = max(a.end[c.unit_ops[u][-1]] for u in free)
    slack = max(WINDOW_MIN, ex["tardiness_min"],
                2 * max((m.duration for ms in c.op_modes for m in ms), default=1))
    window = (max(0, lo - slack), min(c.horizon, hi + slack))
    boosted = list(c.order_weight)
    others = {c.unit_order[u] for u in free} - {oi}
    boosted[oi] = 1 + sum(c.order_weight[x] for x in others)
    cb = replace(c, order_weight=boosted, objective=Objective.TARDINESS, reference=None)
    built = ModelBuilder(cb, a, free, window).build(symmetry=False)
    set_objective(built, Objective.TARDINESS)
    res = run_model(cb, built, time_limit=WALL_FACTOR * seconds, workers=1, seed=seed, hint=a,
                    deterministic_time=seconds)
    if res.assignment is None or order_tardiness(c, res.assignment, oi) >= before[oid]:
        return None  # no gain for the order: nothing to build or check
    sched = build_schedule(c, res.assignment, status=Status.FEASIBLE, lower_bound=0,
                           solve_seconds=res.seconds, source="what-if")
    faults = validate(changed, sched)
    if faults:  # never claim what the validator does not accept
        return None
    after = _tardiness(sched)
    if after[oid] >= before[oid]:
        return None
    moved = [
        Other(order=x, weight=weights[x], tardiness_before_min=before[x],
              tardiness_min=after[x], delta_min=after[x] - before[x])
        for x in before if x != oid and after[x] != before[x]
    ]
    moved.sort(key=lambda m: (-m["weight"] * m["delta_min"], m["order"]))
    cost = sum(m["weight"] * m["delta_min"] for m in moved)
    cost_n = int(cost) if float(cost).is_integer() else round(cost, 6)
    delivery = next(o["delivery"] for o in sched["orders"] if o["id"] == oid)
    secs = time.perf_counter() - t0
    wi: WhatIf = {
        "kind": change["kind"], "change": change, "text": "",
        "tardiness_before_min": before[oid], "tardiness_min": after[oid],
        "delivery": delivery, "on_time": after[oid] == 0,
        "others_weighted_delta_min": cost_n, "others": moved,
        "checked": (f"re-solved with CP-SAT around the order ({len(free)} racks free, "
                    f"{res.seconds:.1f} s); the schedule validates against the changed "
                    "problem"),
        "seconds": round(secs, 3), "schedule": sched,
    }
    wi["text"] = _sentence(wi, changed)
    return wi


def _compile(problem: Problem, schedule: Mapping[str, Any]) -> Compiled | None:
    """The problem compiled over a horizon that holds the schedule."""
    last = max((int(it["end_min"]) for it in schedule.get("items", [])), default=0)
    horizon = max(default_horizon(problem), last + WINDOW_MIN * 4)
    try:
        return compile_problem(problem, horizon)
    except ProblemError:
        return None


def _assignment(c: Compiled, schedule: Mapping[str, Any]) -> Assignment | None:
    """The schedule's items as an assignment over `c` (None if one does not map)."""
    order_ix = {x: i for i, x in enumerate(c.order_ids)}
    res_ix = {x: i for i, x in enumerate(c.res_ids)}
    a = Assignment([-1] * c.n_ops, [0] * c.n_ops, [0] * c.n_ops)
    for it in schedule.get("items", []):
        oi, r = order_ix.get(it.get("order")), res_ix.get(it.get("group"))
        if oi is None or r is None:
            return None
        unit = it.get("unit")
        if not isinstance(unit, int) or not 1 <= unit <= len(c.order_units[oi]):
            return None
        u = c.order_units[oi][unit - 1]
        o = next((x for x in c.unit_ops[u] if c.op_name[x] == it.get("op")), None)
        if o is None:
            return None
        a.res[o], a.start[o], a.end[o] = r, int(it["start_min"]), int(it["end_min"])
    if min(a.res, default=0) < 0:
        return None
    return a


def _neighbourhood(c: Compiled, a: Assignment, oi: int, ex: OrderExplanation) -> list[int]:
    """The order's racks, the racks that held its latest rack, then the racks nearest the
    order's span at its sites, up to `UNITS`."""
    own = list(c.order_units[oi])
    chosen: dict[int, None] = dict.fromkeys(own[: UNITS])
    order_ix = {x: i for i, x in enumerate(c.order_ids)}
    for st in ex["chain"]:
        for w in (*st["waits"], *st["slower"]):
            for item in w["ids"].get("items", []):
                oid, unit, _ = str(item).rsplit("/", 2)
                hi = order_ix.get(oid)
                if hi is not None and unit.isdigit() and int(unit) <= len(c.order_units[hi]):
                    chosen.setdefault(c.order_units[hi][int(unit) - 1], None)
    if len(chosen) < UNITS:
        # then racks with a step on the order's resources, nearest its span in time, then
        # racks at its sites: they hold the room the order could take
        res = {a.res[x] for u in own for x in c.unit_ops[u]}
        sites = {c.res_site[r] for r in res}
        lo = min(a.start[c.unit_ops[u][0]] for u in own)
        hi_t = max(a.end[c.unit_ops[u][-1]] for u in own)
        dist: list[tuple[int, int, int]] = []
        for u, ops in enumerate(c.unit_ops):
            if u in chosen or c.res_site[a.res[ops[0]]] not in sites:
                continue
            near = min((max(lo - a.end[x], a.start[x] - hi_t, 0) for x in ops
                        if a.res[x] in res), default=None)
            if near is not None:
                dist.append((0, near, u))
            else:
                dist.append((1, max(lo - a.end[ops[-1]], a.start[ops[0]] - hi_t, 0), u))
        dist.sort()
        for _, _, u in dist[: UNITS - len(chosen)]:
            chosen.setdefault(u, None)
    return list(chosen)[: max(UNITS, len(own))]


def _first_free(c: Compiled, u: int) -> int:
    """First step of the unit after its last fixed step (fixed steps never move)."""
    j = 0
    for i, o in enumerate(c.unit_ops[u]):
        if c.op_fixed[o] is not None:
            j = i + 1
    return j


# ---- words ------------------------------------------------------------------------------


def _sentence(w: WhatIf, changed: Problem) -> str:
    ch = w["change"]
    oid = ch.get("order") or ""
    kind = w["kind"]
    if kind == "priority":
        ahead = ch.get("ahead_of") or []
        head = ("Give it priority over " + say_ids(ahead) if ahead
                else "Give it priority over the orders around it")
    elif kind == "site":
        head = f"Allow {oid or 'it'} to be built at {say_ids(ch['sites'])} as well"
    elif kind == "resource":
        head = f"Add one more resource like {ch['copy_of']} (as {ch['id']})"
    elif kind == "shift":
        sh = ch["shift"]
        what = "a night shift" if ch.get("what") == "night" else "a weekend shift"
        head = (f"Add {what} at {ch['site']} ({', '.join(sh['days'])} "
                f"{sh['start']}-{sh['end']})")
    else:
        site = next(s for s in changed.sites if s.id == ch["site"])
        cap = f" (to {site.power_cap_kw:g} kW)" if site.power_cap_kw is not None else ""
        head = f"Raise the power cap at {ch['site']} by {ch['add_kw']:g} kW{cap}"
    if w["on_time"]:
        result = "it would be on time"
    else:
        result = (f"it would be {say_minutes(w['tardiness_min'])} late instead of "
                  f"{say_minutes(w['tardiness_before_min'])}")
    losers = [m for m in w["others"] if m["delta_min"] > 0]
    gainers = [m for m in w["others"] if m["delta_min"] < 0]
    if not w["others"]:
        cost = "no other order is later"
    else:
        bits = []
        if losers:
            bits.append(", ".join(f"{m['order']} {say_minutes(m['delta_min'])} later"
                                  for m in losers[:3])
                        + (f" and {len(losers) - 3} more later" if len(losers) > 3 else ""))
        if gainers:
            bits.append(f"{len(gainers)} other order{'s' if len(gainers) > 1 else ''} "
                        "earlier")
        d = w["others_weighted_delta_min"]
        sign = "+" if d > 0 else ""
        bits.append(f"weighted tardiness of the others {sign}{d:,.0f} min")
        cost = "; ".join(bits)
    return f"{head}: {result} ({cost})."
