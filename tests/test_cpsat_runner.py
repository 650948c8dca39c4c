"""Tests of `solver.cpsat.runner`: the one way CP-SAT runs (hint, stop, read-back)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_solve import at, make, order

from bench.instances import generate
from solver.compiled import compile_problem
from solver.cpsat.model import ModelBuilder, set_objective
from solver.cpsat.runner import run_model
from solver.dispatch import best_dispatch
from solver.problem import Objective, load_problem


def test_the_solution_is_read_back_onto_the_hint_with_its_bound() -> None:
    """Two 100-minute orders on one line, due at 100 and 200: optimal at 0 weighted
    tardiness; the bound is the objective, every solution was reported."""
    p = make(orders=[order("A", 200), order("B", 100)])
    c = compile_problem(p)
    hint = best_dispatch(c)
    b = ModelBuilder(c, hint).build()
    set_objective(b, Objective.TARDINESS)
    seen: list[tuple[float, float]] = []
    out = run_model(c, b, time_limit=5.0, workers=1, seed=0, hint=hint,
                    on_solution=lambda v, bd: seen.append((v, bd)))
    assert out.found and out.optimal and not out.infeasible
    assert out.assignment is not None and out.assignment is not hint
    assert sorted(zip(out.assignment.start, out.assignment.end, strict=True)) == [
        (0, 100), (100, 200)]
    assert out.bound == seen[-1][0]  # optimal: the bound is the last solution's value
    assert out.seconds >= 0


def test_without_a_hint_the_fixed_steps_are_read_back_too() -> None:
    """Unhinted (CP-SAT alone), the schedule read back keeps every fixed step."""
    p = make(orders=[order("A", 500), order("F", 500)],
             fixed=[{"order": "F", "unit": 1, "op": "x", "resource": "L",
                     "start": at(50), "end": at(150)}])
    c = compile_problem(p)
    b = ModelBuilder(c, None).build()
    set_objective(b, Objective.TARDINESS)
    out = run_model(c, b, time_limit=5.0, workers=1, seed=0)
    assert out.assignment is not None
    f = next(o for o in range(c.n_ops) if c.op_fixed[o] is not None)
    assert (out.assignment.res[f], out.assignment.start[f], out.assignment.end[f]) == (
        0, 50, 150)
    assert all(r >= 0 for r in out.assignment.res)


def test_a_stop_request_ends_a_long_search_within_a_poll() -> None:
    """A stop that is asked for at once ends a 60-second full model within seconds."""
    c = compile_problem(load_problem(generate(100, 1)))
    hint = best_dispatch(c)
    b = ModelBuilder(c, hint).build()
    set_objective(b, Objective.TARDINESS)
    t0 = time.monotonic()
    asked: list[float] = []

    def stop() -> bool:
        asked.append(time.monotonic() - t0)
        return True

    out = run_model(c, b, time_limit=60.0, workers=1, seed=0, hint=hint, stop=stop)
    assert time.monotonic() - t0 < 10
    assert len(asked) == 1 and not out.infeasible


def test_without_read_back_only_the_status_and_bound_come_back() -> None:
    """`read=False` (the per-order bounds): no schedule, the bound still."""
    p = make(orders=[order("A", 0)])
    c = compile_problem(p)
    b = ModelBuilder(c, None).build()
    set_objective(b, Objective.TARDINESS)
    out = run_model(c, b, time_limit=5.0, workers=1, seed=0, read=False)
    assert out.found and out.assignment is None
    assert out.bound == b.weight * 100 + 100  # 100 minutes late, then the makespan
