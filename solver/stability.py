"""Stability: what it costs to move a step away from a reference (the published) schedule.

A reschedule keeps the plan the floor follows unless moving a step buys enough on the due
dates. Each free step of the new schedule that is not where the reference had it costs,
in minutes of weighted tardiness (minutes of makespan for objective `makespan`):

- `site` when its unit moved to another site (worst: parts and people travel);
- else `resource` when it moved to another resource of the same site;
- else `time` when it starts at another time on the same resource;
- plus `per_hour` for each hour its start moved, a started hour counting whole (any of
  the above). Hours, not minutes: priced per minute, CP-SAT improves a shifted step one
  minute at a time, a solution per minute, and a sub-model's time goes to sliding.

The search minimises ``60 * primary + moves`` in integers (`UNIT` objective units per
minute of the primary figure), so one minute of weighted tardiness outweighs a move of up
to a minute's worth of cost.

The defaults keep due dates first and use the moves to choose among plans about as good
on them: a step moves to save a minute and a half of weighted tardiness (plus a tenth of
a minute per hour it moves), changes its resource for three and its site for twelve.
The 2,000-odd steps a from-scratch plan moves in a 1,000-rack reschedule (half of them
to another site) so cost about twice that plan's weighted tardiness: a reschedule still
moves only what pays. Priced ten times higher (a step for a quarter of an hour, a site
for two hours: the first defaults), moving a 32-rack order by an hour cost some 25 hours
of lateness, and after a week off plan the reschedule kept orders late rather than move
them: up to 14 % more weighted tardiness on the same problems (bench/reschedule.py, 4
seeds), with as many moves give or take 20 %.

Steps that are facts (fixed: done, running or frozen) never count: they cannot move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from solver.calendar import minutes_between
from solver.problem import Objective

if TYPE_CHECKING:
    from solver.compiled import Compiled
    from solver.dispatch import Assignment

#: objective units per minute of the primary figure (weighted tardiness or makespan)
UNIT = 60


@dataclass(frozen=True)
class MoveCosts:
    """What moving one step costs, in minutes of the primary objective (module docstring)."""

    site: float = 12.0
    resource: float = 3.0
    time: float = 1.5
    per_hour: float = 0.1

    def __post_init__(self) -> None:
        for name in ("site", "resource", "time", "per_hour"):
            if getattr(self, name) < 0:
                raise ValueError(f"move cost '{name}' must not be negative")


@dataclass
class Reference:
    """The reference schedule over the compiled ops, and the move costs in objective units.

    `res[o]` is -1 for an op the reference does not place (a new order or unit, or a
    fixed step)."""

    res: list[int]
    start: list[int]
    site_cost: int
    res_cost: int
    time_cost: int
    hour_cost: int  # per started hour of start shift

    def placed(self, o: int) -> bool:
        return self.res[o] >= 0

    def op_cost(self, c: Compiled, o: int, r: int, s: int) -> int:
        """The cost of op `o` running on `r` from `s` (0 when it is where it was)."""
        rr = self.res[o]
        if rr < 0:
            return 0
        rs = self.start[o]
        if c.res_site[r] != c.res_site[rr]:
            kind = self.site_cost
        elif r != rr:
            kind = self.res_cost
        elif s != rs:
            kind = self.time_cost
        else:
            return 0
        return kind + self.hour_cost * hours(abs(s - rs))


def hours(minutes: int) -> int:
    """Started hours in `minutes` (>= 0): what a shift of the start is priced by."""
    return -(-minutes // 60)


def compile_reference(c: Compiled, schedule: Mapping[str, Any], costs: MoveCosts) -> Reference:
    """The reference's steps as op indices of `c`, matched by (order, unit, op).

    Steps of orders, units or ops the problem no longer has, on resources it no longer
    has, or on resources that may not run them any more are left out: they must move
    anyway. Times are read as absolute instants, so the reference may have another
    `horizon_start`."""
    n = c.n_ops
    res = [-1] * n
    start = [0] * n
    order_ix = {oid: i for i, oid in enumerate(c.order_ids)}
    res_ix = {rid: i for i, rid in enumerate(c.res_ids)}
    t0 = c.problem.horizon_start
    for item in schedule.get("items") or []:
        oi = order_ix.get(str(item.get("order")))
        r = res_ix.get(str(item.get("group")))
        if oi is None or r is None:
            continue
        unit = item.get("unit")
        units = c.order_units[oi]
        if not isinstance(unit, int) or not 1 <= unit <= len(units):
            continue
        u = units[unit - 1]
        o = next((x for x in c.unit_ops[u] if c.op_name[x] == item.get("op")), None)
        if o is None or c.op_fixed[o] is not None:
            continue
        if all(m.resource != r for m in c.op_modes[o]):
            continue
        try:
            when = datetime.fromisoformat(str(item["start"]))
        except (KeyError, ValueError):
            continue
        if when.tzinfo is None:
            continue
        res[o] = r
        start[o] = minutes_between(t0, when)
    scale = UNIT * (c.weight_scale if c.objective == Objective.TARDINESS else 1)
    return Reference(
        res=res, start=start,
        site_cost=round(costs.site * scale), res_cost=round(costs.resource * scale),
        time_cost=round(costs.time * scale), hour_cost=round(costs.per_hour * scale),
    )


def move_cost(c: Compiled, a: Assignment) -> int:
    """Total cost of the moves of `a` against the problem's reference (0 without one)."""
    ref = c.reference
    if ref is None:
        return 0
    return sum(ref.op_cost(c, o, a.res[o], a.start[o]) for o in range(c.n_ops) if ref.res[o] >= 0)


def moved_ops(c: Compiled, a: Assignment) -> list[int]:
    """Ops of `a` that are not where the reference had them."""
    ref = c.reference
    if ref is None:
        return []
    return [o for o in range(c.n_ops)
            if ref.res[o] >= 0 and (a.res[o] != ref.res[o] or a.start[o] != ref.start[o])]


__all__ = ["UNIT", "MoveCosts", "Reference", "compile_reference", "hours", "move_cost", "moved_ops"]
