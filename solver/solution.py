"""A schedule in dense form and what it scores: tardiness, makespan and moves.

Every backend and search hands schedules around as an `Assignment` (per op: resource,
start, end in minutes from `horizon_start`) and compares them with a `Scorer`: the
objective's lexicographic key, where a reschedule's primary figure also pays for each
step moved away from the reference schedule (`solver.compiled.Reference`).
"""

from __future__ import annotations

from dataclasses import dataclass

from solver.compiled import UNIT, Compiled, Reference
from solver.problem import Objective


@dataclass
class Assignment:
    """A complete schedule in dense form: per op, resource and [start, end)."""

    res: list[int]
    start: list[int]
    end: list[int]

    def copy(self) -> Assignment:
        return Assignment(self.res[:], self.start[:], self.end[:])


def unit_delivery(c: Compiled, a: Assignment, u: int) -> int:
    """When unit `u` reaches its order's destination: its last step's end plus the
    transit from the site it ran at."""
    last = c.unit_ops[u][-1]
    return a.end[last] + c.order_transit[c.unit_order[u]][c.res_site[a.res[last]]]


def order_tardiness(c: Compiled, a: Assignment, oi: int) -> int:
    """Minutes that order `oi`'s last unit is delivered after its due date (0 if none)."""
    d = max(unit_delivery(c, a, u) for u in c.order_units[oi])
    return max(0, d - c.order_due[oi])


def evaluate(c: Compiled, a: Assignment) -> tuple[int, int]:
    """(scaled weighted tardiness, makespan) of a complete assignment."""
    wt = sum(c.order_weight[oi] * order_tardiness(c, a, oi) for oi in range(len(c.order_ids)))
    return wt, max(a.end, default=0)


def move_cost(c: Compiled, a: Assignment) -> int:
    """Total cost of the moves of `a` against the problem's reference (0 without one)."""
    ref = c.reference
    if ref is None:
        return 0
    return sum(ref.op_cost(c, o, a.res[o], a.start[o]) for o in range(c.n_ops) if ref.res[o] >= 0)


def moved_ops(c: Compiled, a: Assignment) -> list[int]:
    """Ops of `a` that are not where the reference had them (none without one)."""
    ref = c.reference
    if ref is None:
        return []
    return [o for o in range(c.n_ops)
            if ref.res[o] >= 0 and (a.res[o] != ref.res[o] or a.start[o] != ref.start[o])]


def score(c: Compiled, a: Assignment) -> tuple[int, int]:
    """Lexicographic key of the objective: smaller is better. With a reference schedule
    the primary figure also pays for the moves: ``UNIT * primary + move_cost``."""
    wt, mk = evaluate(c, a)
    tardiness = c.objective == Objective.TARDINESS
    if c.reference is not None:
        primary, secondary = (wt, mk) if tardiness else (mk, wt)
        return (UNIT * primary + move_cost(c, a), secondary)
    return (wt, mk) if c.objective == Objective.TARDINESS else (mk, wt)


@dataclass(frozen=True, eq=False)
class Scorer:
    """How the searches compare schedules, and what they may assume about the score.

    Calling it gives `score`: the objective's key, plus the cost of the moves when the
    problem has a reference schedule (a reschedule). The searches ask the scorer, never
    the compiled problem, whether moves count.
    """

    c: Compiled

    def __call__(self, a: Assignment) -> tuple[int, int]:
        return score(self.c, a)

    @property
    def reference(self) -> Reference | None:
        """The schedule the moves are priced against (None: moves cost nothing)."""
        return self.c.reference

    @property
    def plain(self) -> bool:
        """The score is the objective alone: CP-SAT's bounds and proofs hold for it, and
        units of one order are interchangeable (no rack keeps its number)."""
        return self.c.reference is None

    def figure(self, a: Assignment) -> float:
        """The objective figure of the schedule document (weighted tardiness or makespan)."""
        wt, mk = evaluate(self.c, a)
        return wt / self.c.weight_scale if self.c.objective == Objective.TARDINESS else mk

    def at_bound(self, a: Assignment, bound: float, both: bool = False) -> bool:
        """The primary figure equals the lower bound (and, with `both`, nothing else can
        be gained: the objective is makespan alone)."""
        if self.figure(a) > bound + 1e-9:
            return False
        return bool(not both or self.c.objective == Objective.MAKESPAN)

    def moved(self, a: Assignment) -> list[int]:
        """Ops of `a` that are not where the reference had them (none without one)."""
        return moved_ops(self.c, a)

    def tardiness_cutoff(self, key: tuple[int, int]) -> int:
        """The scaled weighted tardiness above which a schedule must score worse than
        `key` (on due dates; with a reference the moves, never negative, come on top)."""
        return key[0] if self.plain else key[0] // UNIT


__all__ = [
    "Assignment", "Scorer", "evaluate", "move_cost", "moved_ops", "order_tardiness",
    "score", "unit_delivery",
]
