"""The full model: the whole problem in one CP-SAT model, hinted with the incumbent.

For problems small enough (`Tuning.full_model_limit_*`), CP-SAT on the whole model often
finds the optimum and proves it, or at least gives a proven bound. It is also the answer
when the dispatch heuristic gets stuck (before a fixed step): then CP-SAT alone, unhinted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from solver.cpsat.model import ModelBuilder, set_objective
from solver.cpsat.runner import run_model
from solver.problem import Objective
from solver.search.context import Context
from solver.solution import Assignment


@dataclass(frozen=True)
class FullResult:
    """What the full model gave: a schedule (None: none), the bound on the objective
    figure, and whether CP-SAT proved it optimal or the problem infeasible."""

    assignment: Assignment | None
    bound: float
    optimal: bool
    infeasible: bool


@dataclass(frozen=True)
class FullModel:
    """The phase: the full model from the incumbent; its bound raises `ctx.bound` (on
    exact figures without a reference), and a proof of optimality sets `ctx.proven`.

    `tie_break`: on due dates, the makespan breaks ties of weighted tardiness in the
    objective (see `full_model`)."""

    name: ClassVar[str] = "cp-sat"
    ties: ClassVar[bool] = True
    tie_break: bool = True

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        got = full_model(ctx, start, budget, tie_break=self.tie_break)
        c = ctx.c
        if c.exact and ctx.scorer.plain:  # CP-SAT's bound is on the scaled figures
            ctx.bound = max(ctx.bound, got.bound)
        ctx.proven = got.optimal and c.exact
        return got.assignment if got.assignment is not None else start

    def describe(self) -> str:
        tie = "" if self.tie_break else ", weighted tardiness alone"
        return f"cp-sat (the full model, hinted with the incumbent{tie})"


def full_model(
    ctx: Context, hint: Assignment | None, time_limit: float, report: bool = True,
    tie_break: bool = True,
) -> FullResult:
    """The whole problem in one CP-SAT model for `time_limit` seconds, with `hint` as the
    hint (None: unhinted); `report`: each new bound goes to `ctx.report`.

    `tie_break` False: on due dates the objective is the weighted tardiness alone, not
    the makespan too (`solver.cpsat.model.set_objective`'s `secondary`). On job shops with
    weighted due dates the tie-break held CP-SAT back: its objective's bound then has to
    rise over the makespan's range (horizon + 1) for every minute of tardiness, and the
    model's search did not reach what the plain model (tardiness alone) reached in the
    same time (`docs/benchmark-log.md`, 2026-12-04)."""
    c = ctx.c
    hi = c.horizon
    if c.objective == Objective.MAKESPAN and hint is not None:
        hi = max(hint.end)  # no better schedule ends later than the incumbent
    b = ModelBuilder(c, hint, None, (0, hi)).build()
    set_objective(b, c.objective, secondary=tie_break)
    tard = c.objective == Objective.TARDINESS
    plain = ctx.scorer.plain

    def to_figure(v: float) -> float:
        if not plain:
            return 0.0  # the objective includes the moves: no bound on the figure
        return (v // b.weight) / c.weight_scale if tard else v

    def on_solution(_: float, bd: float) -> None:
        if plain and report:
            ctx.report(None, FullModel.name, to_figure(bd))

    out = run_model(c, b, time_limit=max(ctx.tuning.full_model_min_seconds, time_limit),
                    workers=ctx.workers, seed=ctx.seed, hint=hint, stop=ctx.stopped,
                    on_solution=on_solution, log=ctx.cp_sat_log)
    if not out.found:
        return FullResult(None, 0.0, False, out.infeasible)
    return FullResult(out.assignment, to_figure(out.bound), out.optimal, False)


__all__ = ["FullModel", "FullResult", "full_model"]
