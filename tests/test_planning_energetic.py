"""The energetic relaxation (`solver.planning.energetic`): which orders must wait.

Properties: the bound never exceeds the brute-force optimum of tiny random problems (with
fixed steps too); it sees a queue on one line and racks that the power cap lets run only
two at a time, where the aggregate model's fluid rows see less; it keeps the per-order
bounds as floors; and a makespan problem is not modelled.
"""

from __future__ import annotations

from typing import Any

import pytest
from brute import brute_force, count_free_ops
from hypothesis import assume, given, seed
from test_properties import MAX_BRUTE, PROFILE, SEED, checked, problems, with_fixed
from test_solve import make, order

from solver.planning import energetic_bound
from solver.planning.bound import compile_for
from solver.problem import Objective, Problem


def tardiness(p: Problem) -> Problem:
    """The same problem with the weighted-tardiness objective."""
    return p.model_copy(update={"objective": Objective.TARDINESS})


def bound_of(p: Problem, **kw: Any) -> float:
    got = energetic_bound(compile_for(p, 1440), time_limit=5, **kw)
    assert got.value is not None, got.status
    return got.value


def test_queue_on_one_line() -> None:
    """Six 600-minute racks due at 600 on one line: 9,000 minutes late in all (brute force
    agrees); the bound sees most of it (its slots are coarse) and never more."""
    p = make(products=[{"id": "P", "routing": [
        {"op": "x", "kind": "line", "duration_min": 600}]}],
        orders=[order(f"O{i}", 600) for i in range(6)])
    best = brute_force(p)
    assert best is not None and float(best[0]) == 9000
    assert 7000 <= bound_of(p) <= 9000 + 1e-6


def test_power_cap_runs_racks_two_at_a_time() -> None:
    """Three 140 kW racks under a 350 kW cap on an eight-bay burn-in: two run at once, so
    one of them is 600 minutes late (brute force agrees); the bound sees lateness, not all
    of it: energetic reasoning lets two racks share the wait."""
    p = make(
        sites=[{"id": "S", "power_cap_kw": 350}],
        resources=[{"id": "B", "site": "S", "kind": "burn_in", "capacity": 8}],
        products=[{"id": "P", "routing": [
            {"op": "b", "kind": "burn_in", "duration_min": 600, "power_kw": 140}]}],
        orders=[order(f"O{i}", 600) for i in range(3)])
    best = brute_force(p)
    assert best is not None and float(best[0]) == 600
    assert 300 <= bound_of(p) <= 600 + 1e-6


def test_order_bounds_are_kept_as_floors() -> None:
    """A per-order bound passed in is kept: the bound is at least its weight times it."""
    p = make(orders=[order("A", 5000), order("B", 5000, weight=3)])
    assert bound_of(p) == pytest.approx(0.0, abs=1e-6)
    assert bound_of(p, order_lb={1: 100}) >= 300 - 1e-6


def test_makespan_is_not_modelled() -> None:
    """The relaxation bounds weighted tardiness only."""
    p = make(orders=[order("A", 100)]).model_copy(update={"objective": Objective.MAKESPAN})
    got = energetic_bound(compile_for(p, 1440))
    assert got.value is None and got.status == "not modelled"


@PROFILE
@seed(SEED)
@given(problems(max_ops=5, min_orders=2))
def test_bound_never_exceeds_the_brute_force_optimum(data: dict[str, Any]) -> None:
    """On tiny random problems the bound is at most the optimal weighted tardiness."""
    p = tardiness(checked(data))
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assert best is not None
    assert bound_of(p) <= float(best[0]) + 1e-6


@PROFILE
@seed(SEED)
@given(with_fixed())
def test_bound_with_fixed_steps_never_exceeds_the_optimum(data: dict[str, Any]) -> None:
    """With fixed steps too (orders with a fixed step keep their floor)."""
    p = tardiness(checked(data))
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assume(best is not None)
    assert best is not None
    assert bound_of(p) <= float(best[0]) + 1e-6
