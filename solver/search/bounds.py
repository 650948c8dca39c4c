"""Cheap proven lower bounds: each unit alone, at its best site, with no other work.

A unit cannot deliver before its routing runs back to back in the earliest windows of its
fastest resources at its best site; its order's tardiness is at least what that implies.
Summed over orders (tardiness) or maximised over units (makespan), this is a valid bound
for any schedule, whatever the capacities and power caps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from solver.compiled import Compiled
from solver.cpsat.model import ModelBuilder
from solver.cpsat.runner import run_model
from solver.dispatch import DispatchFailed, HorizonTooShort, dispatch, rule_keys
from solver.problem import Objective
from solver.solution import unit_delivery


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


def order_bounds(
    c: Compiled,
    late_orders: list[int],
    time_limit: float,
    workers: int = 1,
    seed: int = 0,
    stop: Callable[[], bool] | None = None,
) -> dict[int, int]:
    """Per-order tardiness bounds (scaled minutes) from CP-SAT on each order alone.

    Other orders only take capacity away, so an order's least tardiness when it has the
    factory to itself bounds its tardiness in any schedule. Only orders that are late in
    some known schedule can have a positive bound; they are tried in the given order
    until the time is spent. An order that the dispatch heuristic, given the factory to
    itself, already delivers on time has bound 0 without asking CP-SAT: on generated
    instances that is most of the late orders, and their models took a tenth of a solve.
    """
    out: dict[int, int] = {}
    t_end = time.monotonic() + time_limit
    edd = rule_keys(c, "edd") if late_orders else []
    for oi in late_orders:
        left = t_end - time.monotonic()
        if left <= 0.05 or (stop is not None and stop()):
            break
        if _on_time_alone(c, oi, edd):
            continue
        b = ModelBuilder(c, None, dict.fromkeys(c.order_units[oi], 0)).build()
        t = b.order_t.get(oi)
        if t is None:
            continue
        b.model.minimize(t)
        # each order's model gets at most 1 s, so that a stop request is heard soon
        got = run_model(c, b, time_limit=min(left, max(0.2, time_limit / 4), 1.0),
                        workers=workers, seed=seed, read=False)
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
