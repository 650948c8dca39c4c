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
from typing import Any

from solver.compiled import Compiled, iso_minute
from solver.planning import highs
from solver.planning.bound import compile_for, lengths, model_grid
from solver.planning.grid import WEEK
from solver.planning.model import build_model
from solver.planning.section6 import Section6, section6_of
from solver.problem import Problem

TRANSIT_WEIGHT = 0.001


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
    model = build_model(c, model_grid(c, length), s6, order_lb, whole=True)
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
    got = highs.solve(model.prob, max(0.1, time_limit - build_s), mip=True,
                      threads=threads, gap=gap)
    common["solve_seconds"] = got.seconds
    if got.objective is None:
        why = ("HiGHS found the allocation model infeasible" if got.status == "infeasible"
               else f"HiGHS found no allocation ({got.status})")
        return Allocation(got.status, None, None, got.bound, reasons=[why], **common)
    value: dict[str, float] = {v.name: float(v.varValue or 0.0)
                               for v in model.prob.variables()}
    tard = model.constant + sum(a * value[v.name] for v, a in tardiness_terms.items())
    orders: dict[str, list[SitePlan]] = {}
    left = {(meta[1], meta[2], meta[4]): value[name] for name, meta in model.meta.items()
            if meta[0] == "U" and (meta[1], meta[2]) in model.last_buckets
            and meta[3] == len(c.unit_ops[model.members[meta[1]].units[0]]) - 1}
    per_site: dict[tuple[int, int], tuple[int, dict[int, int]]] = {}
    for (mi, s), v in model.y.items():
        racks = round(value[v.name])
        if racks <= 0:
            continue
        m = model.members[mi]
        buckets: dict[int, int] = {}
        chain = model.last_buckets.get((mi, s), [])
        before = float(racks)
        for b in chain[:-1]:
            now = left.get((mi, s, b), before)
            if round(before - now) > 0:
                buckets[b] = round(before - now)
            before = now
        if chain and round(before) > 0:
            buckets[chain[-1]] = round(before)
        old_racks, old = per_site.get((m.order, s), (0, {}))
        for b, k in buckets.items():
            old[b] = old.get(b, 0) + k
        per_site[(m.order, s)] = (old_racks + racks, old)
    for (oi, s), (racks, buckets) in sorted(per_site.items()):
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
    status = "optimal" if got.status == "Optimal" else "feasible"
    bound = None if got.bound is None or not math.isfinite(got.bound) else (
        got.bound + model.constant)
    return Allocation(status, got.objective + model.constant, tard, bound, orders,
                      **common)
