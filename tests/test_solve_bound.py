"""Tests of the planning phase of `solve` (`solver.search.bounds.PlanningBound`): the
schedule's bound is the best of the per-order bounds and the planning model's LP, and it
never exceeds the optimum.

Every solve in the test suite is also checked centrally (tests/conftest.py): its proven
bound never exceeds the objective it returns.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hypothesis import assume, given, seed

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brute import brute_force, count_free_ops
from test_properties import MAX_BRUTE, PROFILE, SEED, checked, problems
from test_solve import make, order

from bench.instances import generate
from solver.compiled import compile_problem
from solver.params import SolveParams
from solver.problem import Objective, Problem, load_problem
from solver.search.plan import plan
from solver.solve import solve
from solver.tuning import Tuning
from solver.validate import validate

# the planning phase on every due-date problem, however small and however short the solve
ALWAYS = Tuning(planning_min_pairs=0, planning_share=0.5, planning_min_seconds=0.05)


def _log_bound(s: dict[str, Any]) -> float:
    """The highest proven bound the solve log records (before the schedule caps it)."""
    return max((float(e["bound"]) for e in s["solve_log"] if e["bound"] is not None),
               default=0.0)


def _phase(s: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in s["solve_log"] if e["phase"] == name), None)


def test_a_queue_on_one_line_gets_its_bound_from_the_planning_phase() -> None:
    """Six 600-minute racks due at 600 on one line (optimum 9,000): each order alone is on
    time, so the per-order bounds give 0; the planning phase proves more, and never more
    than the optimum."""
    p = make(products=[{"id": "P", "routing": [
        {"op": "x", "kind": "line", "duration_min": 600}]}],
        orders=[order(f"O{i}", 600) for i in range(6)])
    s = solve(p, SolveParams(time_limit=5.0, workers=1, seed=1, tuning=ALWAYS))
    assert validate(p, s) == []
    assert s["objective_value"] == 9000
    got = _phase(s, "planning")
    assert got is not None, s["solve_log"]
    assert 0 < got["bound"] <= 9000


def test_the_planning_phase_is_skipped_where_it_cannot_help() -> None:
    """No late order in the dispatch schedule (its bound, 0, is exact), a makespan
    problem, and a small problem under the default tuning: no planning phase."""
    on_time = make(orders=[order("A", 5000)])
    s = solve(on_time, SolveParams(time_limit=2.0, workers=1, tuning=ALWAYS))
    assert s["status"] == "OPTIMAL" and _phase(s, "planning") is None
    late = make(orders=[order(f"O{i}", 100) for i in range(3)])
    s = solve(late, SolveParams(time_limit=2.0, workers=1))
    assert _phase(s, "planning") is None  # 3 pairs: within the full model's limit
    mk = late.model_copy(update={"objective": Objective.MAKESPAN})
    assert not any(st.phase.name == "planning"
                   for st in plan(compile_problem(mk), SolveParams(tuning=ALWAYS)))


def test_a_large_solve_runs_the_planning_phase_and_keeps_its_bound() -> None:
    """150 generated racks (beyond the full model), half the time to the planning phase:
    it runs after the per-order bounds, and the schedule's bound is at least what it
    proved; with less time than `planning_min_seconds` it is skipped."""
    p = load_problem(generate(150, 1))
    tuning = Tuning(planning_share=0.5)
    s = solve(p, SolveParams(time_limit=6.0, workers=1, seed=1, tuning=tuning))
    assert validate(p, s) == []
    phases = [e["phase"] for e in s["solve_log"]]
    assert phases[:3] == ["dispatch", "bounds", "planning"], phases
    got = _phase(s, "planning")
    assert got is not None
    assert got["bound"] >= s["solve_log"][1]["bound"]
    assert s["lower_bound"] >= min(got["bound"], s["objective_value"]) - 1e-9
    short = solve(p, SolveParams(time_limit=6.0, workers=1, seed=1))  # 0.6 s < 2 s
    assert [e["bound"] for e in short["solve_log"] if e["phase"] == "planning"] in (
        [], [short["solve_log"][1]["bound"]])


def _tardiness(p: Problem) -> Problem:
    return p.model_copy(update={"objective": Objective.TARDINESS})


@PROFILE
@seed(SEED)
@given(problems(max_ops=5, min_orders=2))
def test_solve_bound_never_exceeds_the_brute_force_optimum(data: dict[str, Any]) -> None:
    """On tiny random problems, with the planning phase on however small: every bound the
    solve proves (the log's, uncapped) is at most the optimal weighted tardiness."""
    p = _tardiness(checked(data))
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assert best is not None
    s = solve(p, SolveParams(time_limit=2.0, workers=1, seed=3, tuning=ALWAYS))
    assert s["status"] in ("OPTIMAL", "FEASIBLE"), s.get("reasons")
    assert _log_bound(s) <= float(best[0]) + 1e-6
    assert s["lower_bound"] <= float(best[0]) + 1e-6
    after = _phase(s, "bounds") or s["solve_log"][0]
    if after["objective"] > after["bound"]:  # a gap left for the planning phase
        assert _phase(s, "planning") is not None, s["solve_log"]
