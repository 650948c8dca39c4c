"""Tests of `solver.solution`: what a schedule scores (delivery, tardiness, makespan, moves).

One small problem, worked by hand: two sites with different transit to the destination,
an order of two racks with weight 1.5 and one of weight 1, one 100-minute step each.
"""

from __future__ import annotations

from typing import Any

import pytest

from solver.compiled import UNIT, Compiled, MoveCosts, compile_problem
from solver.problem import load_problem
from solver.schedule import Status, build_schedule
from solver.solution import (
    Assignment,
    Scorer,
    evaluate,
    move_cost,
    moved_ops,
    order_tardiness,
    score,
    unit_delivery,
)

T0 = "2026-12-01T00:00:00Z"
L1, L2, M = 0, 1, 2  # resources: two lines at S, one at R
A1, A2, B1 = 0, 1, 2  # ops (one step per rack): A/1, A/2, B/1


def data(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "horizon_start": T0,
        "sites": [{"id": "S", "transit_min": {"DC": 30}},
                  {"id": "R", "transit_min": {"DC": 90}}],
        "resources": [{"id": "L1", "site": "S", "kind": "line"},
                      {"id": "L2", "site": "S", "kind": "line"},
                      {"id": "M", "site": "R", "kind": "line"}],
        "products": [{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 100}]}],
        "orders": [
            {"id": "A", "product": "P", "quantity": 2, "due": "2026-12-01T02:30:00Z",
             "destination": "DC", "weight": 1.5},
            {"id": "B", "product": "P", "quantity": 1, "due": "2026-12-01T08:20:00Z"},
        ],
    }
    out.update(changes)
    return out


def compiled(reference: dict[str, Any] | None = None, **changes: Any) -> Compiled:
    costs = MoveCosts(site=10, resource=4, time=2, per_hour=1)
    return compile_problem(load_problem(data(**changes)), None, reference, costs)


def plan() -> Assignment:
    """A/1 on L1 0-100, A/2 on L1 100-200, B/1 on M (site R) 0-100."""
    return Assignment([L1, L1, M], [0, 100, 0], [100, 200, 100])


def moved(a: Assignment, o: int, r: int, s: int) -> Assignment:
    out = a.copy()
    out.res[o], out.start[o], out.end[o] = r, s, s + 100
    return out


def test_a_units_delivery_adds_the_transit_from_its_site() -> None:
    """A/1 ends at 100 at S (30 to DC): delivered at 130; B has no destination: 100."""
    c = compiled()
    a = plan()
    assert [unit_delivery(c, a, u) for u in range(3)] == [130, 230, 100]
    a2 = moved(a, A2, M, 100)  # at R the transit is 90
    assert unit_delivery(c, a2, 1) == 290


def test_an_orders_tardiness_is_its_last_units() -> None:
    """A (due 150) is late by its last rack's 230 - 150 = 80; B (due 500) is on time."""
    c = compiled()
    assert [order_tardiness(c, plan(), oi) for oi in range(2)] == [80, 0]


def test_evaluate_gives_scaled_weighted_tardiness_and_makespan() -> None:
    """Weight 1.5 scales weights by 10: 15 x 80 = 1,200 scaled (120 minutes); makespan 200."""
    c = compiled()
    assert c.weight_scale == 10
    assert evaluate(c, plan()) == (1200, 200)
    assert Scorer(c).figure(plan()) == 120


def test_the_score_puts_the_objective_first() -> None:
    """Tardiness first on due dates, makespan first on makespan: the schedule that ends
    later but delivers A sooner wins on due dates and loses on makespan."""
    sooner = plan()
    later = moved(moved(plan(), A2, L2, 0), B1, M, 300)  # A on time, B ends at 400
    tard = compiled()
    assert evaluate(tard, later) == (0, 400)
    assert score(tard, later) < score(tard, sooner)
    mk = compiled(objective="makespan")
    assert score(mk, later) == (400, 0) and score(mk, sooner) == (200, 1200)
    assert score(mk, sooner) < score(mk, later)


def _reference(**changes: Any) -> dict[str, Any]:
    c = compiled(**changes)
    return build_schedule(c, plan(), status=Status.FEASIBLE, lower_bound=0.0,
                          solve_seconds=0.0, source="dispatch")


@pytest.mark.parametrize(("op", "res", "start", "minutes"), [
    (A2, L1, 100, 0.0),  # where it was
    (A2, L1, 160, 2 + 1),  # another time: time, plus one started hour
    (A2, L1, 221, 2 + 3),  # 121 minutes later: three started hours
    (A1, L2, 0, 4),  # another resource of the same site, same time
    (B1, L2, 0, 10),  # another site
    (B1, L2, 30, 10 + 1),  # another site and time: the worst change, plus the hour
])
def test_a_move_costs_its_worst_change_plus_started_hours(
    op: int, res: int, start: int, minutes: float
) -> None:
    """`move_cost` with costs site 10, resource 4, time 2, per hour 1 (minutes of the
    primary figure, in objective units: `UNIT` times the weight scale per minute)."""
    c = compiled(_reference())
    a = moved(plan(), op, res, start)
    assert move_cost(c, a) == round(minutes * UNIT * c.weight_scale)
    assert moved_ops(c, a) == ([] if minutes == 0 else [op])


def test_fixed_steps_never_count_as_moves() -> None:
    """A step the problem fixes elsewhere than the reference had it costs nothing: it
    cannot move back."""
    fixed = [{"order": "A", "unit": 1, "op": "x", "resource": "L2",
              "start": T0, "end": "2026-12-01T01:40:00Z"}]
    c = compiled(_reference(), fixed=fixed)
    a = moved(plan(), A1, L2, 0)
    assert move_cost(c, a) == 0 and moved_ops(c, a) == []


def test_with_a_reference_the_primary_figure_pays_for_the_moves() -> None:
    """score = (UNIT x weighted tardiness + moves, makespan); the scorer's tardiness
    cutoff of a key is its primary figure less the moves, at most."""
    c = compiled(_reference())
    a = moved(plan(), A2, L1, 160)  # A late by 260 + 30 - 150 = 140, and one move
    wt, mk = evaluate(c, a)
    assert score(c, a) == (UNIT * wt + move_cost(c, a), mk)
    scorer = Scorer(c)
    assert not scorer.plain and scorer.reference is c.reference
    assert scorer.tardiness_cutoff(score(c, a)) == wt + move_cost(c, a) // UNIT
    assert Scorer(compiled()).tardiness_cutoff((1234, 5)) == 1234


def test_at_bound_needs_nothing_left_to_gain() -> None:
    """`Scorer.at_bound`: the primary figure equals the bound; with `both`, only on
    makespan (on due dates the makespan could still shrink)."""
    tard, mk = Scorer(compiled()), Scorer(compiled(objective="makespan"))
    assert tard.at_bound(plan(), 120) and not tard.at_bound(plan(), 119.5)
    assert not tard.at_bound(plan(), 120, both=True)
    assert mk.at_bound(plan(), 200, both=True) and not mk.at_bound(plan(), 199)
