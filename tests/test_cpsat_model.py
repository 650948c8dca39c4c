"""Tests of `solver.cpsat.model`: each rule of SPEC section 2 on the CP-SAT builder itself.

One tiny instance per rule, where the rule binds: solved with the builder alone (every op
free, no hint, no heuristic), its optimum is the value worked out in the docstring, the
brute-force oracle of `tests/brute.py` agrees, and the same instance with the rule
relaxed (a twin that differs only there) has the other optimum the docstring names. The
schedule read back passes the validator. All the builder's API the tests use is in
`optimum` below.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ortools.sat.python import cp_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brute import brute_force
from test_section6 import demand_response, energised, nearest_site
from test_solve import ALL_DAYS, at, make, one_step, order

from solver.compiled import compile_problem, default_horizon
from solver.cpsat.model import ModelBuilder, read_back, set_objective
from solver.problem import Objective, Problem, load_problem
from solver.schedule import Status, build_schedule
from solver.solution import Assignment
from solver.validate import validate

SEED = 1
TIME_LIMIT = 5.0


def optimum(problem: Problem) -> dict[str, Any]:
    """Build, solve and read back the full model of `problem` with the builder alone.

    Asserts that CP-SAT proves the optimum (one worker, fixed seed), that its bound read as
    the schedule's figure equals the schedule's objective value, and that the schedule
    passes the validator. Returns the schedule.
    """
    c = compile_problem(problem, default_horizon(problem))
    built = ModelBuilder(c, None).build()
    set_objective(built, c.objective)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = SEED
    solver.parameters.max_time_in_seconds = TIME_LIMIT
    status = solver.solve(built.model)
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    base = Assignment([-1] * c.n_ops, [0] * c.n_ops, [0] * c.n_ops)
    for o, f in enumerate(c.op_fixed):
        if f is not None:
            base.res[o], base.start[o], base.end[o] = f
    a = read_back(built, solver, base)
    bound = solver.best_objective_bound
    figure = (bound // built.weight / c.weight_scale if c.objective == Objective.TARDINESS
              else bound)
    schedule = build_schedule(c, a, status=Status.OPTIMAL, lower_bound=figure,
                              solve_seconds=solver.wall_time, source="cp-sat")
    assert validate(problem, schedule) == []
    assert schedule["objective_value"] == pytest.approx(figure, abs=1e-9)
    return schedule


def check(problem: Problem, value: float, relaxed: Problem, relaxed_value: float) -> dict[str, Any]:
    """The optimum of `problem` is `value` (builder and brute force) and that of its
    relaxed twin `relaxed_value`, a different figure: the rule binds."""
    assert value != relaxed_value
    got = {}
    for p, want in ((problem, value), (relaxed, relaxed_value)):
        s = optimum(p)
        assert s["objective_value"] == pytest.approx(want, abs=1e-9), p.name
        best = brute_force(p)
        assert best is not None and float(best[0]) == pytest.approx(want, abs=1e-9)
        got[p.name] = s
    return got[problem.name]


def item(s: dict[str, Any], iid: str) -> dict[str, Any]:
    return next(i for i in s["items"] if i["id"] == iid)


def line_pair(a: int, b: int) -> list[dict[str, Any]]:
    """Machines A and B of site S, and a product AB routed A (`a` min) then B (`b` min)."""
    return [{"id": "AB", "routing": [
        {"op": "a", "alternatives": [{"resource": "A", "duration_min": a}]},
        {"op": "b", "alternatives": [{"resource": "B", "duration_min": b}]}]}]


AB_RESOURCES = [{"id": "A", "site": "S"}, {"id": "B", "site": "S"}]


# ---- rules 1, 2, 3: every step, routing order, release and horizon_start --------------------


def test_rule2_routing_order_makes_a_flow_shop() -> None:
    """Rules 1 and 2: two units of A (30) -> B (20) take 30 + 30 + 20 = 80 minutes; were
    the steps unordered (four one-step orders) the longer machine would end at 60."""
    p = make(name="routing", resources=AB_RESOURCES, products=line_pair(30, 20),
             orders=[order("J", 0, "AB", quantity=2)], objective="makespan")
    free = make(name="free", resources=AB_RESOURCES, products=[
        {"id": "A1", "routing": line_pair(30, 20)[0]["routing"][:1]},
        {"id": "B1", "routing": line_pair(30, 20)[0]["routing"][1:]}],
        orders=[order("J", 0, "A1", quantity=2), order("K", 0, "B1", quantity=2)],
        objective="makespan")
    s = check(p, 80, free, 60)
    assert len(s["items"]) == 4
    for u in (1, 2):
        assert item(s, f"J/{u}/b")["start_min"] >= item(s, f"J/{u}/a")["end_min"]


def test_rule3_release_delays_the_first_step() -> None:
    """Rule 3: B (release 50, due 160, weight 2) runs 50-150, then A (due 200) 150-250:
    50 late x 1; released at 0, B would run first and nothing would be late."""
    orders = [order("A", 200), order("B", 160, weight=2, release=at(50))]
    p = make(name="release", orders=orders)
    s = check(p, 50, make(name="no release", orders=[order("A", 200), order("B", 160, weight=2)]),
              0)
    assert item(s, "B/1/x")["start_min"] == 50


def test_rule3_nothing_starts_before_horizon_start() -> None:
    """Rule 3: an order released an hour before horizon_start (due 100 min after the old
    start, 100 min of work) starts at horizon_start and is 60 late; seen from the release
    it would be on time."""
    orders = [order("A", 100, release=at(0))]
    p = make(name="late start", horizon_start=at(60), orders=orders)
    s = check(p, 60, make(name="early start", orders=orders), 0)
    assert item(s, "A/1/x")["start_min"] == 0


# ---- rule 4: one site per unit, one of the order's allowed sites ----------------------------


def two_sites(**order_fields: Any) -> dict[str, Any]:
    """Sites S (a 10, b 60) and T (a 40, b 10); a unit across both would take 10 + 10."""
    return {
        "sites": [{"id": "S"}, {"id": "T"}],
        "resources": [{"id": "SA", "site": "S"}, {"id": "SB", "site": "S"},
                      {"id": "TA", "site": "T"}, {"id": "TB", "site": "T"}],
        "products": [{"id": "P", "routing": [
            {"op": "a", "alternatives": [{"resource": "SA", "duration_min": 10},
                                         {"resource": "TA", "duration_min": 40}]},
            {"op": "b", "alternatives": [{"resource": "SB", "duration_min": 60},
                                         {"resource": "TB", "duration_min": 10}]}]}],
        "orders": [order("U", 0, **order_fields)],
        "objective": "makespan",
    }


def test_rule4_a_unit_runs_at_one_site() -> None:
    """Rule 4: all of a unit at T takes 40 + 10 = 50 (at S 70); as two one-step orders
    (no unit to keep together: a at S, b at T, at once) the steps would take 10."""
    split = two_sites()
    split["products"] = [
        {"id": "PA", "routing": [{"op": "a", "alternatives": [
            {"resource": "SA", "duration_min": 10}]}]},
        {"id": "PB", "routing": [{"op": "b", "alternatives": [
            {"resource": "TB", "duration_min": 10}]}]}]
    split["orders"] = [order("U", 0, "PA"), order("V", 0, "PB")]
    s = check(make(name="one site", **two_sites()), 50, make(name="split", **split), 10)
    assert {i["site"] for i in s["items"]} == {"T"}


def test_rule4_allowed_sites_keep_the_order_at_the_slower_site() -> None:
    """Rule 4: allowed only at S, the unit takes 10 + 60 = 70; allowed anywhere, 50 at T."""
    s = check(make(name="at S", **two_sites(allowed_sites=["S"])), 70,
              make(name="anywhere", **two_sites()), 50)
    assert {i["site"] for i in s["items"]} == {"S"}


# ---- rule 5: an eligible resource, for its own duration -------------------------------------


def test_rule5_durations_differ_per_resource() -> None:
    """Rule 5: two racks, step on M1 (30) or M2 (50): one on each ends at 50 (both on M1
    at 60); were M2 as fast, 30."""
    def data(slow: int) -> dict[str, Any]:
        return {"resources": [{"id": "M1", "site": "S"}, {"id": "M2", "site": "S"}],
                "products": [{"id": "P", "routing": [{"op": "x", "alternatives": [
                    {"resource": "M1", "duration_min": 30},
                    {"resource": "M2", "duration_min": slow}]}]}],
                "orders": [order("A", 0, quantity=2)], "objective": "makespan"}

    s = check(make(name="slow M2", **data(50)), 50, make(name="fast M2", **data(30)), 30)
    assert sorted(i["group"] for i in s["items"]) == ["M1", "M2"]


def test_rule5_only_qualified_resources_run_a_product() -> None:
    """Rule 5: line L2 is qualified for product Q only, so both P racks run on L1 (200);
    qualified for P too, L2 takes one (100)."""
    def data(products: list[str]) -> dict[str, Any]:
        return {"resources": [{"id": "L1", "site": "S", "kind": "line"},
                              {"id": "L2", "site": "S", "kind": "line", "products": products}],
                "products": [{"id": "P", "routing": one_step()},
                             {"id": "Q", "routing": one_step()}],
                "orders": [order("A", 0, quantity=2)], "objective": "makespan"}

    s = check(make(name="Q only", **data(["Q"])), 200, make(name="P and Q", **data(["P", "Q"])),
              100)
    assert {i["group"] for i in s["items"]} == {"L1"}


# ---- rule 6: windows, shifts, holidays, downtime --------------------------------------------

DAY_SHIFT = [{"days": ALL_DAYS, "start": "06:00", "end": "14:00"}]


@pytest.mark.parametrize(("site", "resource", "value"), [
    # two 300-min steps: 06:00-11:00, then not 11:00-16:00 (past 14:00, not split) but
    # 06:00-11:00 the next day
    ({"shifts": DAY_SHIFT}, {}, 1440 + 660),
    # Tuesday 1 December is a holiday: both run on the next two mornings
    ({"shifts": DAY_SHIFT, "holidays": ["2026-12-01"]}, {}, 2 * 1440 + 660),
    # 06:00 in Chicago is 12:00 UTC in December; the second step goes to the next day
    ({"timezone": "America/Chicago", "shifts": DAY_SHIFT}, {}, 1440 + 360 + 660),
    # around the clock, but down 100-400: no 300-min step fits before, both run after
    ({}, {"downtime": [{"start": at(100), "end": at(400)}]}, 1000),
    # a 24x7 resource ignores the site's shifts; downtime 0-50 still counts
    ({"shifts": DAY_SHIFT}, {"calendar": "24x7",
                             "downtime": [{"start": at(0), "end": at(50)}]}, 650),
])
def test_rule6_steps_lie_inside_one_available_window(
    site: dict[str, Any], resource: dict[str, Any], value: int
) -> None:
    """Rule 6: two 300-min steps on one line end at `value`; open around the clock they
    would end at 600."""
    def data(s: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
        return {"sites": [{"id": "S", **s}], "resources": [{"id": "L", "site": "S",
                                                            "kind": "line", **r}],
                "products": [{"id": "P", "routing": one_step(minutes=300)}],
                "orders": [order("A", 0, quantity=2)], "objective": "makespan"}

    check(make(name="calendar", **data(site, resource)), value, make(name="24x7", **data({}, {})),
          600)


# ---- rules 7 and 8: capacity and power caps -------------------------------------------------


def test_rule7_capacity_two_runs_two_at_once() -> None:
    """Rule 7: three 100-min racks on a capacity-2 bay end at 200; at capacity 3, 100."""
    def data(cap: int) -> dict[str, Any]:
        return {"resources": [{"id": "L", "site": "S", "kind": "line", "capacity": cap}],
                "orders": [order("A", 0, quantity=3)], "objective": "makespan"}

    check(make(name="cap 2", **data(2)), 200, make(name="cap 3", **data(3)), 100)


def test_rule8_the_power_cap_limits_what_runs_at_once() -> None:
    """Rule 8: three 40 kW burn-ins in a bay for three under a 100 kW cap: two at once,
    the third after (200); under 120 kW all three at once (100)."""
    def data(cap: float) -> dict[str, Any]:
        return {"sites": [{"id": "S", "power_cap_kw": cap}],
                "resources": [{"id": "BI", "site": "S", "kind": "line", "capacity": 3}],
                "products": [{"id": "P", "routing": one_step(power_kw=40)}],
                "orders": [order("A", 0, quantity=3)], "objective": "makespan"}

    check(make(name="100 kW", **data(100)), 200, make(name="120 kW", **data(120)), 100)


def test_rule8_the_cap_is_per_site() -> None:
    """Rule 8: the 100 kW of site S do not cap site T: a 60 kW rack at each runs at once
    (100); with both bays at S, one after the other (200)."""
    def data(t_site: str) -> dict[str, Any]:
        return {"sites": [{"id": "S", "power_cap_kw": 100}, {"id": "T", "power_cap_kw": 100}],
                "resources": [{"id": "B1", "site": "S", "kind": "line"},
                              {"id": "B2", "site": t_site, "kind": "line"}],
                "products": [{"id": "P", "routing": one_step(power_kw=60)}],
                "orders": [order("A", 0, quantity=2)], "objective": "makespan"}

    check(make(name="two sites", **data("T")), 100, make(name="one site", **data("S")), 200)


def test_rule8_a_demand_response_window_lowers_the_cap() -> None:
    """Rule 8 with SPEC section 6 power windows: two 100 kW racks under 200 kW run at once
    (0 late), but 100 kW in force over [300, 900) makes the second wait until the first
    ends at 600 (600 late)."""
    check(load_problem({**demand_response(), "name": "evening"}), 600,
          load_problem({**demand_response(window=False), "name": "no evening"}), 0)


def test_rule8_a_hall_energised_on_a_date_raises_the_cap() -> None:
    """Rule 8 with a window raising the cap from minute 1,200: four 100 kW racks one at a
    time under 100 kW, then the last two at once (3,000 late); without it 3,600."""
    check(load_problem({**energised(), "name": "energised"}), 3000,
          load_problem({**energised(window=False), "name": "old hall"}), 3600)


def test_rule10_a_quota_sends_a_rack_to_the_far_site() -> None:
    """Rule 10: acme's two racks on time at N (two lines), but at most one of them per
    site: the other goes to F, 1,440 minutes away (1,440 late)."""
    def data(quota: bool) -> dict[str, Any]:
        d = nearest_site(0.5 if quota else None, racks=2)
        d["name"] = f"quota {quota}"
        d["resources"] = [{"id": "N0", "site": "N", "kind": "line"},
                          {"id": "N1", "site": "N", "kind": "line"},
                          {"id": "F0", "site": "F", "kind": "line"}]
        d["orders"] = d["orders"][:1]
        return d

    s = check(load_problem(data(True)), 1440, load_problem(data(False)), 0)
    assert sorted(i["site"] for i in s["items"]) == ["F", "N"]


# ---- rule 9 and the objective: transit, delivery, weighted tardiness ------------------------


def test_rule9_transit_decides_the_site() -> None:
    """Rule 9: due at 200 to 'east', weight 2: from N (100 min, 600 transit) 500 late,
    from M (150 min, 60 transit) 10 late: 20; without a destination N is on time (0)."""
    def data(**extra: Any) -> dict[str, Any]:
        return {"sites": [{"id": "N", "transit_min": {"east": 600}},
                          {"id": "M", "transit_min": {"east": 60}}],
                "resources": [{"id": "LN", "site": "N"}, {"id": "LM", "site": "M"}],
                "products": [{"id": "P", "routing": [{"op": "x", "alternatives": [
                    {"resource": "LN", "duration_min": 100},
                    {"resource": "LM", "duration_min": 150}]}]}],
                "orders": [order("A", 200, weight=2, **extra)]}

    s = check(make(name="east", **data(destination="east")), 20, make(name="local", **data()), 0)
    assert s["orders"][0]["sites"] == ["M"]
    assert s["kpis"]["makespan_min"] == 150


def test_rule9_an_order_is_delivered_with_its_last_unit() -> None:
    """Rule 9: A (2 racks, due 150, weight 3) and B (1 rack, due 300) on one line: A's two
    racks first end at 200, 50 x 3 = 150 late, B on time at 300; one rack of A alone
    (B unchanged) is on time (0)."""
    def data(qty: int) -> dict[str, Any]:
        return {"orders": [order("A", 150, weight=3, quantity=qty), order("B", 300)]}

    s = check(make(name="two racks", **data(2)), 150, make(name="one rack", **data(1)), 0)
    assert s["orders"][0]["tardiness_min"] == 50
    assert s["kpis"]["makespan_min"] == 300


def test_weighted_tardiness_then_makespan() -> None:
    """The objective: A (due 100, weight 1) and B (due 150, weight 3), 100 min each on one
    line: B first, A 100 late (100), not A first (B 50 x 3 = 150); with weight 1 for B,
    A first (B 50 late, 50). Among optima the makespan is least: 200."""
    s = check(make(name="heavy B", orders=[order("A", 100), order("B", 150, weight=3)]), 100,
              make(name="light B", orders=[order("A", 100), order("B", 150)]), 50)
    assert item(s, "B/1/x")["start_min"] == 0
    assert s["kpis"]["makespan_min"] == 200


# ---- fixed steps ------------------------------------------------------------------------------


def test_fixed_steps_occupy_their_resource() -> None:
    """Fixed: F's step runs 0-100 on L, the only line for A (100 min, due 100), so A ends
    at 200, 100 late; with F fixed on L3 instead, A is on time."""
    def data(res: str) -> dict[str, Any]:
        either = [{"resource": "L", "duration_min": 100}, {"resource": "L3", "duration_min": 100}]
        return {"resources": [{"id": "L", "site": "S"}, {"id": "L3", "site": "S"}],
                "products": [{"id": "P", "routing": [{"op": "x", "alternatives": either[:1]}]},
                             {"id": "R", "routing": [{"op": "x", "alternatives": either}]}],
                "orders": [order("A", 100), order("F", 1000, "R")],
                "fixed": [{"order": "F", "unit": 1, "op": "x", "resource": res,
                           "start": at(0), "end": at(100)}]}

    s = check(make(name="on L", **data("L")), 100, make(name="on L3", **data("L3")), 0)
    assert item(s, "F/1/x")["group"] == "L" and item(s, "F/1/x")["start_min"] == 0
    assert item(s, "A/1/x")["start_min"] == 100


def test_a_fixed_step_pins_its_unit_to_its_site() -> None:
    """Fixed: step a of U already ran at S (SA, 0-10), so b runs at S too (SB, 60 min,
    ends 70); with a fixed at T (TA, 0-40), b runs at T (ends 50)."""
    def data(res: str, end: int) -> dict[str, Any]:
        return {**two_sites(), "fixed": [{"order": "U", "unit": 1, "op": "a", "resource": res,
                                          "start": at(0), "end": at(end)}]}

    s = check(make(name="at S", **data("SA", 10)), 70, make(name="at T", **data("TA", 40)), 50)
    assert item(s, "U/1/b")["group"] == "SB"
