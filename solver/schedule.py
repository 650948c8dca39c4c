"""SPEC section 3: the Gantt-ready schedule (rows, bars, per-order delivery, KPIs).

Besides the SPEC's fields, every schedule carries ``solve_log``: the phases of the solve
that ran, in order, each as ``{"phase", "seconds", "objective", "bound"}`` (the objective
figure and the proven lower bound after it; None when the phase left no schedule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from enum import StrEnum
from typing import Any

from solver.compiled import Compiled, iso_minute, to_datetime_str
from solver.problem import Objective, Problem
from solver.solution import Assignment, unit_delivery


class Status(StrEnum):
    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"


def empty_schedule(
    problem: Problem, status: Status, reasons: Sequence[str], solve_seconds: float,
    objective: Objective | None = None, solve_log: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An INFEASIBLE / UNKNOWN answer: no items, and why in plain sentences."""
    return {
        "status": str(status),
        "objective": str(objective or problem.objective),
        "objective_value": None,
        "lower_bound": None,
        "gap": None,
        "solve_seconds": round(solve_seconds, 3),
        "problem": problem.name,
        "horizon_start": iso_minute(problem, 0),
        "reasons": list(reasons),
        "solve_log": [dict(e) for e in solve_log],
        "kpis": {"orders": len(problem.orders), "on_time": 0,
                 "total_weighted_tardiness_min": None, "makespan_min": None,
                 "utilization": {}},
        "orders": [],
        "groups": [],
        "items": [],
    }


def build_schedule(
    c: Compiled,
    a: Assignment,
    *,
    status: Status,
    lower_bound: float,
    solve_seconds: float,
    source: str,
    notes: Sequence[str] = (),
    solve_log: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The SPEC section 3 document for a complete assignment (`solve_log`: the phases
    that ran, module docstring)."""
    p = c.problem
    items: list[dict[str, Any]] = []
    for u, ops in enumerate(c.unit_ops):
        oi = c.unit_order[u]
        order = c.order_ids[oi]
        product = p.orders[oi].product
        prev: str | None = None
        for o in ops:
            iid = f"{order}/{c.unit_no[u]}/{c.op_name[o]}"
            r = a.res[o]
            items.append({
                "id": iid, "group": c.res_ids[r], "order": order, "unit": c.unit_no[u],
                "op": c.op_name[o], "product": product, "site": c.site_ids[c.res_site[r]],
                "start": to_datetime_str(c, a.start[o]), "end": to_datetime_str(c, a.end[o]),
                "start_min": a.start[o], "end_min": a.end[o],
                "depends_on": [prev] if prev else [],
            })
            prev = iid

    orders_out = []
    total_wt = 0.0
    on_time = 0
    for oi, order_in in enumerate(p.orders):
        units = c.order_units[oi]
        delivery = max(unit_delivery(c, a, u) for u in units)
        tard = max(0, delivery - c.order_due[oi])
        total_wt += order_in.weight * tard
        on_time += tard == 0
        sites = sorted({c.site_ids[c.res_site[a.res[c.unit_ops[u][-1]]]] for u in units})
        orders_out.append({
            "id": order_in.id, "delivery": to_datetime_str(c, delivery),
            "due": order_in.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tardiness_min": tard, "sites": sites,
        })
    makespan = max(a.end, default=0)
    wt: float = int(total_wt) if float(total_wt).is_integer() else round(total_wt, 6)
    value: float = wt if c.objective == Objective.TARDINESS else makespan
    lb = min(lower_bound, value)
    gap = 0.0 if value <= 0 else round((value - lb) / value, 6)
    return {
        "status": str(status),
        "objective": str(c.objective),
        "objective_value": value,
        "lower_bound": lb,
        "gap": gap,
        "solve_seconds": round(solve_seconds, 3),
        "source": source,
        "notes": list(notes),
        "solve_log": [dict(e) for e in solve_log],
        "problem": p.name,
        "horizon_start": to_datetime_str(c, 0),
        "kpis": {
            "orders": len(p.orders), "on_time": on_time,
            "total_weighted_tardiness_min": wt, "makespan_min": makespan,
            "utilization": utilization(c, a, makespan),
        },
        "orders": orders_out,
        "groups": [
            {"id": r.id, "site": r.site, "kind": r.kind} for r in p.resources
        ],
        "items": items,
    }


def utilization(c: Compiled, a: Assignment, makespan: int) -> dict[str, float]:
    """Busy minutes over capacity x available minutes, both within [0, makespan]."""
    busy = [0] * len(c.res_ids)
    for o, r in enumerate(a.res):
        busy[r] += max(0, min(a.end[o], makespan) - max(a.start[o], 0))
    out = {}
    for r, rid in enumerate(c.res_ids):
        avail = sum(max(0, min(b, makespan) - a0) for a0, b in c.res_windows[r] if a0 < makespan)
        out[rid] = round(busy[r] / (c.res_cap[r] * avail), 4) if avail > 0 else 0.0
    return out
