"""Proven lower bounds: each unit alone (`lower_bound`), each late order alone (`Bounds`).

A unit cannot deliver before its routing runs back to back in the earliest windows of its
fastest resources at its best site; its order's tardiness is at least what that implies.
Summed over orders (tardiness) or maximised over units (makespan), this is a valid bound
for any schedule, whatever the capacities and power caps.

The bounds phase (`Bounds`, due dates only) goes further for the orders late in the
dispatch schedule: CP-SAT on each order alone, with the factory to itself, gives a least
tardiness that no schedule can beat (`order_bounds`).

The planning phase (`PlanningBound`, due dates beyond the full model) then solves the
energetic relaxation (`solver.planning.energetic_bound`: which of several orders due
close together on one pool of resources or power must wait) and the aggregate capacity
model's linear relaxation (`solver.planning.planning_bound`), each module docstring
proving its own, with those per-order bounds as their orders' floors: orders compete
for the sites' capacity and power there, which no bound on one order alone sees. The
schedule's ``lower_bound`` is the best of all of them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar

from solver.compiled import Compiled
from solver.cpsat.model import ModelBuilder
from solver.cpsat.runner import run_model
from solver.dispatch import DispatchFailed, HorizonTooShort, dispatch, rule_keys
from solver.planning import energetic_bound, planning_bound
from solver.problem import Objective
from solver.search.context import Context
from solver.solution import Assignment, order_tardiness, unit_delivery


@dataclass(frozen=True)
class Bounds:
    """The phase: per-order bounds for the orders late in `start`, most owed first."""

    name: ClassVar[str] = "bounds"
    ties: ClassVar[bool] = False

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        """Raise `ctx.bound` by the per-order bounds; `start` is returned as it is."""
        c = ctx.c
        late = sorted(
            (oi for oi in range(len(c.order_ids)) if order_tardiness(c, start, oi) > 0),
            key=lambda oi: -c.order_weight[oi] * order_tardiness(c, start, oi),
        )
        if not late or budget <= ctx.tuning.bounds_min_seconds:
            return start
        order_lb = order_bounds(ctx, late, budget)
        ctx.order_lb.update(order_lb)
        if order_lb:
            ctx.bound = max(ctx.bound, lower_bound(c, order_lb))
            ctx.report(start, self.name)
        return start

    def describe(self) -> str:
        return "bounds (CP-SAT on each late order alone)"


@dataclass(frozen=True)
class PlanningBound:
    """The phase: the planning model's LP bound, the per-order bounds as its floors."""

    name: ClassVar[str] = "planning"
    ties: ClassVar[bool] = False

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        """Raise `ctx.bound` to the planning bound when it is higher; `start` is returned
        as it is. Skipped when `start` is at the bound already (nothing to prove) or the
        time is below `Tuning.planning_min_seconds`."""
        t = ctx.tuning
        budget = min(budget, t.planning_max_seconds)
        if budget <= t.planning_min_seconds or ctx.done(start) or ctx.stopped():
            return start
        t0 = time.monotonic()
        threads = max(1, ctx.workers)
        energy = energetic_bound(ctx.c, order_lb=ctx.order_lb, threads=threads,
                                 time_limit=budget * t.planning_energetic_share)
        if energy.value is not None and energy.value > ctx.bound:
            ctx.bound = energy.value
            ctx.report(start, self.name)
        left = budget - (time.monotonic() - t0)
        if left <= t.planning_min_seconds or ctx.done(start) or ctx.stopped():
            return start
        got = planning_bound(ctx.c, time_limit=left, order_lb=ctx.order_lb, threads=threads)
        # an infinite value (the model proves no schedule exists) cannot happen with a
        # schedule in hand; it is not taken
        if got.value is not None and math.isfinite(got.value) and got.value > ctx.bound:
            ctx.bound = got.value
            ctx.report(start, self.name)
        return start

    def describe(self) -> str:
        return ("planning bounds (the energetic relaxation's MIP and the aggregate "
                "capacity model's LP, HiGHS)")


def unit_earliest(c: Compiled, u: int) -> tuple[int, int]:
    """(earliest end of the unit's last op, earliest delivery) over its allowed sites."""
    oi = c.unit_order[u]
    best_end, best_del = None, None
    for site in c.unit_sites[u]:
        t = c.order_release[oi]
        ok = True
        for o in c.unit_ops[u]:
            f = c.op_fixed[o]
            if f is not None:
                t = f[2]
                continue
            ends = [
                s + m.duration
                for m in c.op_modes[o] if c.res_site[m.resource] == site
                for s in [c.earliest_start(m.resource, m.duration, t)] if s is not None
            ]
            if not ends:
                ok = False
                break
            t = min(ends)
        if not ok:
            continue
        d = t + c.order_transit[oi][site]
        best_end = t if best_end is None else min(best_end, t)
        best_del = d if best_del is None else min(best_del, d)
    return (best_end or 0, best_del or 0)


def lower_bound(c: Compiled, order_lb: dict[int, int] | None = None) -> float:
    """A proven lower bound on the objective figure (weighted tardiness or makespan).

    `order_lb` adds per-order tardiness bounds (minutes) found by `order_bounds`.
    """
    cache: dict[int, tuple[int, int]] = {}
    ends: list[int] = []
    total = 0.0
    for oi, units in enumerate(c.order_units):
        latest: int | None = None  # deliveries may lie before now (a reschedule)
        for u in units:
            if any(c.op_fixed[o] is not None for o in c.unit_ops[u]):
                e, d = unit_earliest(c, u)
            else:
                if oi not in cache:
                    cache[oi] = unit_earliest(c, u)
                e, d = cache[oi]
            ends.append(e)
            latest = d if latest is None else max(latest, d)
        if latest is None:
            continue
        tard = max(0, latest - c.order_due[oi], (order_lb or {}).get(oi, 0))
        total += c.problem.orders[oi].weight * tard
    if c.objective == Objective.MAKESPAN:
        return float(max(ends, default=0))
    return total


def order_bounds(ctx: Context, late_orders: list[int], time_limit: float) -> dict[int, int]:
    """Per-order tardiness bounds (scaled minutes) from CP-SAT on each order alone.

    Other orders only take capacity away, so an order's least tardiness when it has the
    factory to itself bounds its tardiness in any schedule. Only orders that are late in
    some known schedule can have a positive bound; they are tried in the given order
    until the time is spent. An order that the dispatch heuristic, given the factory to
    itself, already delivers on time has bound 0 without asking CP-SAT: on generated
    instances that is most of the late orders, and their models took a tenth of a solve.
    An order of more than `Tuning.bounds_order_max_units` racks is passed over (its model
    alone takes longer to build than the phase may run).
    """
    c, tuning = ctx.c, ctx.tuning
    out: dict[int, int] = {}
    t_end = time.monotonic() + time_limit
    edd = rule_keys(c, "edd") if late_orders else []
    # each order's model gets a share of the time, within limits (a stop is heard soon)
    most = max(tuning.bounds_order_min_seconds, time_limit * tuning.bounds_order_share)
    most = min(most, tuning.bounds_order_max_seconds)
    for oi in late_orders:
        left = t_end - time.monotonic()
        if left <= tuning.bounds_min_left or ctx.stopped():
            break
        if len(c.order_units[oi]) > tuning.bounds_order_max_units or _on_time_alone(c, oi, edd):
            continue
        b = ModelBuilder(c, None, dict.fromkeys(c.order_units[oi], 0)).build()
        t = b.order_t.get(oi)
        if t is None:
            continue
        b.model.minimize(t)
        got = run_model(c, b, time_limit=min(left, most), workers=ctx.workers, seed=ctx.seed,
                        read=False)
        if got.found:
            out[oi] = int(got.bound + 1e-6)
    return out


def _on_time_alone(c: Compiled, oi: int, keys: list[tuple[float, ...]]) -> bool:
    """Whether the dispatch heuristic (priority `keys`) delivers order `oi` on time with
    no other order's units placed (only the fixed steps): then its least tardiness alone
    is 0."""
    units = c.order_units[oi]
    try:
        a = dispatch(c, keys, units=set(units))
    except (HorizonTooShort, DispatchFailed):
        return False
    return all(unit_delivery(c, a, u) <= c.order_due[oi] for u in units)
