"""`allocate`: how many racks of each order each site builds, and in which buckets.

The integer version of the aggregate model (`solver.planning.model`, built with
``whole=True``): the racks of each order per site are whole numbers, and so are, per
order and site, the racks whose last step starts in each bucket (weeks by default); the
flows through the routing stay fluid. It minimises the model's weighted tardiness in
bucket terms plus a small transit term (``transit_weight`` per rack and minute of
transit, so that of two equally late plans the one nearer the customers wins), under
the capacities, power caps and rule 10's quotas. HiGHS solves it as a MIP within the
time limit; the answer is the best allocation found, not a schedule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pulp

from solver.compiled import Compiled, iso_minute
from solver.planning import highs
from solver.planning.bound import compile_for, lengths, model_grid
from solver.planning.grid import WEEK
from solver.planning.model import build_model
from solver.planning.section6 import Section6, section6_of
from solver.problem import Problem

TRANSIT_WEIGHT = 0.001
#: beyond this many integer variables `allocate` rounds the linear relaxation: at 10,000
#: racks (54,000 integers) HiGHS finds no integer point in two minutes, while at 3,000
#: (11,000) it proves the optimum in seconds
MAX_INTEGERS = 20_000
#: HiGHS options for the relaxation (its point is rounded, so no basis is needed)
RELAXED_OPTIONS: dict[str, Any] = {"solver": "ipm", "run_crossover": "off",
                                   "ipm_optimality_tolerance": 1e-4}


@dataclass(frozen=True)
class SitePlan:
    """One site's share of an order: its racks, and per bucket (its first minute as a
    UTC time) the racks whose last step starts there."""

    site: str
    racks: int
    buckets: list[tuple[str, int]]


@dataclass(frozen=True)
class StepLoad:
    """The minutes the allocation puts on one type of step at one site, per bucket: steps
    whose eligible resources are `resources` and whose power is `power_kw`; `families`
    are the shares of the product families (rack generations) among the racks allocated
    there that run steps of this type."""

    site: str
    resources: list[str]
    power_kw: float
    minutes: list[float]
    families: dict[str, float]


@dataclass(frozen=True)
class Allocation:
    """The allocation HiGHS found (`orders` empty when it found none: see `status`)."""

    status: str
    objective: float | None  # the model's weighted tardiness + the transit term
    tardiness: float | None  # the model's weighted tardiness (bucket terms) alone
    bound: float | None  # HiGHS's MIP bound on `objective`
    orders: dict[str, list[SitePlan]] = field(default_factory=dict)
    bucket: int = WEEK
    rows: int = 0
    columns: int = 0
    integers: int = 0
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)
    # the minutes per step type, site and bucket in the allocation (`StepLoad`)
    load: list[StepLoad] = field(default_factory=list)
    # per order id, its proven tardiness floor in minutes where positive: its lateness
    # with each rack alone at its best site (or the caller's per-order bound), which no
    # sequence avoids
    floors: dict[str, int] = field(default_factory=dict)


def allocate(
    source: Problem | Compiled,
    *,
    bucket: object = "week",
    time_limit: float = 60.0,
    gap: float = 0.01,
    transit_weight: float = TRANSIT_WEIGHT,
    order_lb: Mapping[int, float] | None = None,
    section6: Section6 | None = None,
    threads: int = 1,
    integer: bool | None = None,
    max_integers: int = MAX_INTEGERS,
    headroom: float = 1.0,
) -> Allocation:
    """Allocate each order's racks to sites and buckets (see the module docstring).

    Parameters
    ----------
    source
        A checked problem, or its compiled view.
    bucket
        ``"week"`` (default), ``"day"``, ``"auto"`` or a whole number of minutes.
    time_limit
        Seconds for the build and HiGHS together.
    gap
        HiGHS stops once its solution is within this relative gap of its bound.
    transit_weight
        Objective weight per rack and minute of transit.
    order_lb, section6
        As for `planning_bound`.
    threads
        HiGHS threads.
    headroom
        The share of the resources' usable minutes the allocation may plan (1: all).
    integer
        True: the MIP; False: its linear relaxation, rounded to whole racks per order
        and site (largest remainders, then the quotas restored) and buckets; None: the
        MIP up to `max_integers` integer variables, the rounded relaxation beyond.
    max_integers
        See `integer`.

    Raises
    ------
    ProblemError
        When `bucket` is not a whole number of minutes or the problem does not compile.
    """
    t0 = time.perf_counter()
    length, got_c = lengths(source, bucket)
    assert length is not None
    c = got_c if got_c is not None else (
        source if isinstance(source, Compiled) else compile_for(source, length))
    s6 = section6 if section6 is not None else section6_of(c.problem)
    model = build_model(c, model_grid(c, length), s6, order_lb, whole=True,
                        headroom=headroom)
    tardiness_terms = dict(model.prob.objective.items())
    objective = model.prob.objective
    for (mi, s), v in model.y.items():
        m = model.members[mi]
        cost = transit_weight * c.order_transit[m.order][s]
        if cost > 0:
            objective[v] = objective.get(v, 0.0) + cost
    build_s = time.perf_counter() - t0
    integers = sum(1 for v in model.prob.variables() if v.cat == "Integer")
    common: dict[str, Any] = {
        "bucket": length, "rows": model.rows, "columns": model.columns,
        "integers": integers, "build_seconds": build_s,
        "floors": {c.order_ids[oi]: math.floor(f + 1e-9)
                   for oi, f in enumerate(model.floors) if f >= 1},
    }
    if model.reasons:
        return Allocation("infeasible", None, None, None, reasons=model.reasons, **common)
    relax = integers > max_integers if integer is None else not integer
    if relax:  # the linear relaxation, rounded to whole racks below
        for v in model.prob.variables():
            v.cat = pulp.LpContinuous
    options = RELAXED_OPTIONS if relax else {}
    got = highs.solve(model.prob, max(0.1, time_limit - build_s), mip=not relax,
                      threads=threads, gap=gap, **options)
    common["solve_seconds"] = got.seconds
    if got.objective is None:
        why = ("HiGHS found the allocation model infeasible" if got.status == "infeasible"
               else f"HiGHS found no allocation ({got.status})")
        return Allocation(got.status, None, None, got.bound, reasons=[why], **common)
    value: dict[str, float] = {v.name: float(v.varValue or 0.0)
                               for v in model.prob.variables()}
    tard = model.constant + sum(a * value[v.name] for v, a in tardiness_terms.items())
    left = {(meta[1], meta[2], meta[4]): value[name] for name, meta in model.meta.items()
            if meta[0] == "U" and (meta[1], meta[2]) in model.last_buckets
            and meta[3] == len(c.unit_ops[model.members[meta[1]].units[0]]) - 1}
    # per (order, site): the racks (fractional when relaxed) and their last steps' buckets
    share: dict[tuple[int, int], float] = {}
    spread: dict[tuple[int, int], dict[int, float]] = {}
    for (mi, s), v in model.y.items():
        racks = value[v.name]
        if racks <= 1e-6:
            continue
        m = model.members[mi]
        share[m.order, s] = share.get((m.order, s), 0.0) + racks
        into = spread.setdefault((m.order, s), {})
        chain = model.last_buckets.get((mi, s), [])
        before = racks
        for b in chain[:-1]:
            now = min(before, left.get((mi, s, b), before))
            if before - now > 1e-6:
                into[b] = into.get(b, 0.0) + before - now
            before = now
        if chain and before > 1e-6:
            into[chain[-1]] = into.get(chain[-1], 0.0) + before
    whole = _whole_racks(c, share, s6)
    orders: dict[str, list[SitePlan]] = {}
    for (oi, s), racks in sorted(whole.items()):
        buckets = _spread(spread.get((oi, s), {}), racks)
        orders.setdefault(c.order_ids[oi], []).append(SitePlan(
            c.site_ids[s], racks,
            [(iso_minute(c.problem, model.grid.start(b)), k) for b, k in sorted(buckets.items())],
        ))
    load: list[StepLoad] = []
    for tkey, per in model.work.items():
        site = tkey[0]
        minutes = [sum(a * value[v.name] for v, a in terms.items()) for terms in per]
        shares: dict[str, float] = {}
        for mi in model.type_members.get(tkey, set()):
            m = model.members[mi]
            got_k = value[model.y[mi, site].name] if (mi, site) in model.y else 0.0
            if got_k > 0:
                product = c.problem.product(c.problem.orders[m.order].product)
                fam = product.family or product.id
                shares[fam] = shares.get(fam, 0.0) + got_k
        total = sum(shares.values())
        load.append(StepLoad(
            c.site_ids[site], [c.res_ids[r] for r in sorted(model.type_resources[tkey])],
            tkey[2], minutes, {f: x / total for f, x in shares.items()} if total else {}))
    common["load"] = load
    status = "rounded" if relax else "optimal" if got.status == "Optimal" else "feasible"
    bound = None if got.bound is None or not math.isfinite(got.bound) else (
        got.bound + model.constant)
    return Allocation(status, got.objective + model.constant, tard, bound, orders,
                      **common)


def _whole_racks(
    c: Compiled, share: Mapping[tuple[int, int], float], s6: Section6
) -> dict[tuple[int, int], int]:
    """Whole racks per (order, site) from the model's (possibly fractional) ones: each
    order's largest remainders, never below the racks pinned to a site, then racks moved
    off a site over a customer's quota to another allowed site of the order with room."""
    pinned: dict[tuple[int, int], int] = {}
    for oi, units in enumerate(c.order_units):
        for u in units:
            if len(c.unit_sites[u]) == 1:
                k = (oi, c.unit_sites[u][0])
                pinned[k] = pinned.get(k, 0) + 1
    out: dict[tuple[int, int], int] = {}
    by_order: dict[int, list[tuple[int, float]]] = {}
    for (oi, s), x in share.items():
        by_order.setdefault(oi, []).append((s, x))
    for oi, units in enumerate(c.order_units):
        parts = by_order.get(oi) or [(c.unit_sites[units[0]][0], float(len(units)))]
        total = sum(x for _, x in parts)
        scaled = [(s, x * len(units) / total) for s, x in parts]
        got = {s: max(math.floor(x + 1e-6), pinned.get((oi, s), 0)) for s, x in scaled}
        rest = len(units) - sum(got.values())
        for s, _ in sorted(scaled, key=lambda sx: -(sx[1] - math.floor(sx[1] + 1e-6))):
            if rest <= 0:
                break
            got[s] += 1
            rest -= 1
        while rest < 0:  # pinned racks took more than the order's share: trim the others
            most = max((x for x in got if got[x] > pinned.get((oi, x), 0)),
                       key=lambda x: got[x])
            got[most] -= 1
            rest += 1
        for s, n in got.items():
            if n > 0:
                out[oi, s] = n
    _restore_quotas(c, out, pinned, s6)
    return out


def _restore_quotas(
    c: Compiled, racks: dict[tuple[int, int], int], pinned: Mapping[tuple[int, int], int],
    s6: Section6,
) -> None:
    """Move racks (in place) off the sites where rounding put more of a customer's racks
    than rule 10 allows, to another allowed site of the same order with room."""
    customer_of = [o.customer for o in c.problem.orders]
    total: dict[str, int] = {}
    for oi, units in enumerate(c.order_units):
        cust = customer_of[oi]
        if cust is not None:
            total[cust] = total.get(cust, 0) + len(units)
    for cust, n in total.items():
        quota: Fraction | None = s6.quota(cust)
        if quota is None:
            continue
        limit = s6.limit(quota, n)
        at: dict[int, int] = {}
        for (oi, s), k in racks.items():
            if customer_of[oi] == cust:
                at[s] = at.get(s, 0) + k
        for oi, s in sorted(racks):
            if customer_of[oi] != cust:
                continue
            while at.get(s, 0) > limit and racks[oi, s] > pinned.get((oi, s), 0):
                sites = {x for u in c.order_units[oi] for x in c.unit_sites[u]}
                room = [x for x in sorted(sites) if x != s and at.get(x, 0) < limit]
                if not room:
                    break
                x = min(room, key=lambda x: at.get(x, 0))
                racks[oi, s] -= 1
                racks[oi, x] = racks.get((oi, x), 0) + 1
                at[s] -= 1
                at[x] = at.get(x, 0) + 1
        for key in [key for key, v in racks.items() if v <= 0]:
            del racks[key]


def _spread(amounts: Mapping[int, float], racks: int) -> dict[int, int]:
    """`racks` whole racks over the buckets in proportion to `amounts`, by rounding the
    cumulative sums (so the counts add up to `racks`)."""
    total = sum(amounts.values())
    if total <= 0 or racks <= 0:
        return {}
    out: dict[int, int] = {}
    acc, before = 0.0, 0
    for b in sorted(amounts):
        acc += amounts[b]
        now = round(acc * racks / total)
        if now > before:
            out[b] = now - before
        before = now
    if before < racks:
        last = max(amounts)
        out[last] = out.get(last, 0) + racks - before
    return out
