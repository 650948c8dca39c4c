"""Tests of `solver.solve.solve`: one tiny instance per rule and objective, optimum known.

Each instance is small enough to work out by hand (the working is in the docstring or a
comment) and is cross-checked against the brute-force oracle of `tests/brute.py`. Every
solve asserts the status, the exact objective value and that the independent validator
finds nothing wrong.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

# brute.py sits next to this file; bench/ is a scripts' folder, not an installed package
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brute import brute_force

from bench.instances import generate
from solver.compiled import compile_problem
from solver.dispatch import best_dispatch
from solver.problem import Objective, Problem, load_problem
from solver.solution import evaluate
from solver.solve import SolveParams, solve
from solver.tuning import Tuning
from solver.validate import validate

T0 = "2026-12-01T00:00:00Z"  # a Tuesday
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def at(minute: int, t0: str = T0) -> str:
    """The UTC time `minute` minutes after `t0`."""
    t = datetime.fromisoformat(t0) + timedelta(minutes=minute)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def one_step(op: str = "x", kind: str = "line", minutes: int = 100, **extra: Any) -> list[Any]:
    return [{"op": op, "kind": kind, "duration_min": minutes, **extra}]


def make(**fields: Any) -> Problem:
    """A problem: one UTC site open around the clock, one line, fields replaced."""
    data: dict[str, Any] = {
        "name": "t",
        "horizon_start": T0,
        "sites": [{"id": "S"}],
        "resources": [{"id": "L", "site": "S", "kind": "line"}],
        "products": [{"id": "P", "routing": one_step()}],
        "orders": [],
    }
    data.update(fields)
    return load_problem(data)


def order(oid: str, due: int, product: str = "P", **extra: Any) -> dict[str, Any]:
    return {"id": oid, "product": product, "quantity": 1, "due": at(due), **extra}


def run(problem: Problem, time_limit: float = 5.0, **kw: Any) -> dict[str, Any]:
    return solve(problem, SolveParams(time_limit=time_limit, workers=2, seed=1, **kw))


def check(problem: Problem, value: float, status: str = "OPTIMAL") -> dict[str, Any]:
    """Solve; assert status, objective value, validity and the brute-force optimum."""
    s = run(problem)
    assert validate(problem, s) == []
    assert s["status"] == status, s.get("reasons") or s.get("notes")
    assert s["objective_value"] == pytest.approx(value, abs=1e-6)
    assert s["lower_bound"] <= s["objective_value"] + 1e-9
    best = brute_force(problem)
    assert best is not None
    assert float(best[0]) == pytest.approx(value, abs=1e-6)
    return s


def item(s: dict[str, Any], iid: str) -> dict[str, Any]:
    return next(i for i in s["items"] if i["id"] == iid)


# ---- objectives ------------------------------------------------------------------------------


def two_orders() -> Problem:
    # A (due 100, w 1) and B (due 150, w 3), 100 min each on one line.
    # A then B: B ends 200, 50 late x 3 = 150.  B then A: A ends 200, 100 late x 1 = 100.
    return make(orders=[order("A", 100), order("B", 150, weight=3)])


def test_weighted_tardiness_two_orders_on_one_line() -> None:
    """Weighted tardiness: the heavier order goes first although it is due later (100)."""
    s = check(two_orders(), 100)
    assert item(s, "B/1/x")["start_min"] == 0
    assert s["kpis"]["makespan_min"] == 200


def test_makespan_on_a_2x2_job_shop() -> None:
    """Makespan: J1 = M1 30 -> M2 20, J2 = M2 20 -> M1 30 has the optimum 60 (M1 load)."""
    p = make(
        resources=[{"id": "M1", "site": "S"}, {"id": "M2", "site": "S"}],
        products=[
            {"id": "J1", "routing": [
                {"op": "o1", "alternatives": [{"resource": "M1", "duration_min": 30}]},
                {"op": "o2", "alternatives": [{"resource": "M2", "duration_min": 20}]}]},
            {"id": "J2", "routing": [
                {"op": "o1", "alternatives": [{"resource": "M2", "duration_min": 20}]},
                {"op": "o2", "alternatives": [{"resource": "M1", "duration_min": 30}]}]},
        ],
        orders=[order("J1", 0, "J1"), order("J2", 0, "J2")],
        objective="makespan",
    )
    s = check(p, 60)
    assert s["objective"] == "makespan"


def test_objective_parameter_overrides_the_problem() -> None:
    """SolveParams.objective=makespan on the two-order line gives makespan 200."""
    p = two_orders()
    s = run(p, objective=Objective.MAKESPAN)
    assert s["objective"] == "makespan"
    assert s["status"] == "OPTIMAL"
    assert s["objective_value"] == 200
    assert validate(p.model_copy(update={"objective": Objective.MAKESPAN}), s) == []


# ---- rules of section 2 ------------------------------------------------------------------------


def test_release_dates_delay_the_first_step() -> None:
    """Rule 3: B (release 50, due 160, w 2) first at 50, then A (due 200): 50 late x 1."""
    # A first: A 0-100, B 100-200 -> 40 x 2 = 80; B first: B 50-150, A 150-250 -> 50.
    p = make(orders=[order("A", 200), order("B", 160, weight=2, release=at(50))])
    s = check(p, 50)
    assert item(s, "B/1/x")["start_min"] == 50


def test_allowed_sites_restrict_an_order_to_the_slower_site() -> None:
    """Rule 4: allowed_sites keeps the order at R (120 min) although F takes 60: 60 late."""
    p = make(
        sites=[{"id": "F"}, {"id": "R"}],
        resources=[{"id": "F1", "site": "F"}, {"id": "R1", "site": "R"}],
        products=[{"id": "P", "routing": [{"op": "x", "alternatives": [
            {"resource": "F1", "duration_min": 60}, {"resource": "R1", "duration_min": 120}]}]}],
        orders=[order("A", 60, allowed_sites=["R"])],
    )
    s = check(p, 60)
    assert {i["site"] for i in s["items"]} == {"R"}


def test_transit_time_decides_the_site() -> None:
    """Rule 9: N is faster (60 vs 200 min) but 600 min from 'east'; M (60 min) wins: 60 late."""
    p = make(
        sites=[{"id": "N", "transit_min": {"east": 600}}, {"id": "M", "transit_min": {"east": 60}}],
        resources=[{"id": "N1", "site": "N"}, {"id": "M1", "site": "M"}],
        products=[{"id": "P", "routing": [{"op": "x", "alternatives": [
            {"resource": "N1", "duration_min": 60}, {"resource": "M1", "duration_min": 200}]}]}],
        orders=[order("A", 200, destination="east")],
    )
    s = check(p, 60)
    assert s["orders"][0]["sites"] == ["M"]
    assert s["orders"][0]["delivery"] == at(260)


def test_alternatives_with_different_durations() -> None:
    """Rule 5: two units on M1 (100 min) and M2 (150 min) in parallel: makespan 150."""
    p = make(
        resources=[{"id": "M1", "site": "S"}, {"id": "M2", "site": "S"}],
        products=[{"id": "P", "routing": [{"op": "x", "alternatives": [
            {"resource": "M1", "duration_min": 100}, {"resource": "M2", "duration_min": 150}]}]}],
        orders=[{"id": "A", "product": "P", "quantity": 2, "due": at(0)}],
        objective="makespan",
    )
    s = check(p, 150)
    assert sorted((i["group"], i["end_min"] - i["start_min"]) for i in s["items"]) == [
        ("M1", 100), ("M2", 150)]


def test_shift_end_pushes_a_step_to_the_next_morning() -> None:
    """Rule 6: step 2 (300 min) does not fit 11:00-14:00, so it runs Wed 06:00-11:00."""
    p = make(
        sites=[{"id": "S", "shifts": [{"days": WEEKDAYS, "start": "06:00", "end": "14:00"}]}],
        resources=[{"id": "L", "site": "S", "kind": "line"}],
        products=[{"id": "P", "routing": [
            {"op": "a", "kind": "line", "duration_min": 300},
            {"op": "b", "kind": "line", "duration_min": 300}]}],
        orders=[order("A", 840)],  # due Tue 14:00
    )
    s = check(p, 2100 - 840)
    assert item(s, "A/1/a")["start"] == "2026-12-01T06:00:00Z"
    assert item(s, "A/1/b")["start"] == "2026-12-02T06:00:00Z"


def test_holiday_has_no_shift() -> None:
    """Rule 6: released Tue 14:00, Wed is a holiday, so the step runs Thu 06:00-07:00."""
    p = make(
        sites=[{"id": "S", "shifts": [{"days": ALL_DAYS, "start": "06:00", "end": "14:00"}],
                "holidays": ["2026-12-02"]}],
        products=[{"id": "P", "routing": one_step(minutes=60)}],
        orders=[order("A", 840, release=at(840))],
    )
    s = check(p, 3300 - 840)
    assert s["items"][0]["start"] == "2026-12-03T06:00:00Z"


def test_downtime_moves_the_step_to_the_slower_resource() -> None:
    """Rule 6: L (120 min) is down 01:00-05:00 so ends at 07:00; M (300 min) ends 05:00."""
    p = make(
        resources=[
            {"id": "L", "site": "S", "calendar": "24x7",
             "downtime": [{"start": at(60), "end": at(300)}]},
            {"id": "M", "site": "S", "calendar": "24x7"},
        ],
        products=[{"id": "P", "routing": [{"op": "x", "alternatives": [
            {"resource": "L", "duration_min": 120}, {"resource": "M", "duration_min": 300}]}]}],
        orders=[order("A", 0)],
    )
    s = check(p, 300)
    assert s["items"][0]["group"] == "M"


def test_dst_fall_back_day_shift() -> None:
    """Rule 6: Chicago 06:00 is 12:00Z on Nov 1 2026 (CST), not 11:00Z (CDT) as on Oct 31."""
    t0 = "2026-10-31T12:00:00Z"  # Sat 07:00 CDT: 7 h of that shift left, the step needs 8
    p = make(
        horizon_start=t0,
        sites=[{"id": "S", "timezone": "America/Chicago",
                "shifts": [{"days": ALL_DAYS, "start": "06:00", "end": "14:00"}]}],
        products=[{"id": "P", "routing": one_step(minutes=480)}],
        orders=[{"id": "A", "product": "P", "quantity": 1, "due": t0}],
    )
    s = check(p, 1920)
    assert s["items"][0]["start"] == "2026-11-01T12:00:00Z"
    assert s["items"][0]["end"] == "2026-11-01T20:00:00Z"


def test_dst_fall_back_night_shift_is_an_hour_longer() -> None:
    """Rule 6: the 22:00-06:00 Chicago shift of Oct 31 2026 lasts 9 real hours, others 8."""
    t0 = "2026-10-31T00:00:00Z"
    p = make(
        horizon_start=t0,
        sites=[{"id": "S", "timezone": "America/Chicago",
                "shifts": [{"days": ALL_DAYS, "start": "22:00", "end": "06:00"}]}],
        products=[{"id": "P", "routing": one_step(minutes=540)}],
        orders=[{"id": "A", "product": "P", "quantity": 1, "due": t0}],
    )
    s = check(p, 2160)
    assert s["items"][0]["start"] == "2026-11-01T03:00:00Z"


def test_capacity_two_runs_two_steps_at_once() -> None:
    """Rule 7: capacity 2, three orders (w 1, 2, 3) due at 100: the light one waits, 100."""
    p = make(
        resources=[{"id": "L", "site": "S", "kind": "line", "capacity": 2}],
        orders=[order("A", 100), order("B", 100, weight=2), order("C", 100, weight=3)],
    )
    s = check(p, 100)
    assert item(s, "A/1/x")["start_min"] == 100


def test_power_cap_makes_burn_in_wait() -> None:
    """Rule 8: two 100 kW burn-ins under a 150 kW cap on a capacity-2 bay run one by one."""
    p = make(
        sites=[{"id": "S", "power_cap_kw": 150}],
        resources=[{"id": "BI", "site": "S", "kind": "burn_in", "capacity": 2}],
        products=[{"id": "P", "routing": one_step("bi", "burn_in", 60, power_kw=100)}],
        orders=[{"id": "A", "product": "P", "quantity": 2, "due": at(60)}],
    )
    s = check(p, 60)
    assert sorted(i["start_min"] for i in s["items"]) == [0, 60]


def test_fixed_step_kept_and_others_scheduled_around_it() -> None:
    """Fixed steps: F/1/x stays on L 60-180 (longer than routing); G's x waits: 230 late."""
    # P = x (L, 100) -> y (M, 50). G's x cannot fit in [0, 60): it runs 180-280, y 280-330.
    p = make(
        resources=[{"id": "L", "site": "S", "kind": "line"},
                   {"id": "M", "site": "S", "kind": "pack"}],
        products=[{"id": "P", "routing": [
            {"op": "x", "kind": "line", "duration_min": 100},
            {"op": "y", "kind": "pack", "duration_min": 50}]}],
        orders=[order("F", 14400), order("G", 100)],
        fixed=[{"order": "F", "unit": 1, "op": "x", "resource": "L",
                "start": at(60), "end": at(180)}],
    )
    s = check(p, 230)
    fx = item(s, "F/1/x")
    assert (fx["group"], fx["start_min"], fx["end_min"]) == ("L", 60, 180)
    assert item(s, "F/1/y")["start_min"] >= 180


def test_infeasible_fixed_steps_overlap() -> None:
    """Two fixed steps overlapping on a capacity-1 resource: INFEASIBLE naming it."""
    p = make(
        resources=[{"id": "LINE-7", "site": "S", "kind": "line"}],
        orders=[order("A", 1000), order("B", 1000)],
        fixed=[
            {"order": "A", "unit": 1, "op": "x", "resource": "LINE-7",
             "start": at(0), "end": at(100)},
            {"order": "B", "unit": 1, "op": "x", "resource": "LINE-7",
             "start": at(50), "end": at(150)},
        ],
    )
    s = run(p)
    assert s["status"] == "INFEASIBLE"
    assert s["items"] == []
    assert any("LINE-7" in r for r in s["reasons"])
    assert validate(p, s) == []
    assert brute_force(p) is None


def test_too_short_time_limit_returns_the_dispatch_schedule() -> None:
    """A 0.01 s limit: the dispatch schedule, FEASIBLE, valid, with a note saying so."""
    p = two_orders()
    s = run(p, time_limit=0.01)
    assert s["status"] == "FEASIBLE"
    assert s["source"] == "dispatch"
    assert any("dispatch" in n for n in s["notes"])
    assert s["objective_value"] >= 100
    assert validate(p, s) == []


def test_large_problem_through_lns_stays_valid() -> None:
    """A generated 150-rack instance (LNS, no full model) is valid and no worse than dispatch."""
    p = load_problem(generate(150, 3))
    s = run(p, time_limit=4.0)
    assert s["status"] == "FEASIBLE"
    assert validate(p, s) == []
    assert not any("failed validation" in n for n in s["notes"])
    c = compile_problem(p)
    wt, _ = evaluate(c, best_dispatch(c))
    assert s["objective_value"] <= wt / c.weight_scale


@pytest.mark.parametrize("racks, full", [(150, False), (30, True)])
def test_stop_request_ends_the_search_with_the_best_schedule(racks: int, full: bool) -> None:
    """A stop request (LNS or the full model) ends a 60 s solve within seconds, with a
    valid schedule and a note saying it was stopped."""
    import time

    p = load_problem(generate(racks, 1))  # seed 1: late orders, nothing proven early
    t0 = time.monotonic()
    s = solve(p, SolveParams(
        time_limit=60, workers=1, stop=lambda: time.monotonic() - t0 > 1.5,
        tuning=Tuning(full_model_limit_tardiness=10**6 if full else 0,
                      full_model_share_tardiness=1.0),
    ))
    assert time.monotonic() - t0 < 20
    assert s["status"] in ("FEASIBLE", "OPTIMAL")
    assert validate(p, s) == []
    assert s["status"] == "FEASIBLE"
    assert any("stopped on request" in n for n in s["notes"])


def test_no_orders() -> None:
    """A problem without orders: OPTIMAL, objective 0, no items."""
    p = make()
    s = run(p)
    assert s["status"] == "OPTIMAL"
    assert s["objective_value"] == 0
    assert s["items"] == []
    assert validate(p, s) == []


# ---- regression cases ----------------------------------------------------------------------


def test_fractional_weights_are_optimised_exactly() -> None:
    """Weights 0.006 (A) and 0.014 (B), both due 0, 10 min each: B first, 0.26 not 0.34."""
    p = make(
        products=[{"id": "P", "routing": one_step(minutes=10)}],
        orders=[order("A", 0, weight=0.006), order("B", 0, weight=0.014)],
    )
    check(p, 0.26)


def test_power_cap_with_many_decimals_is_exact() -> None:
    """Rule 8: two 33.3333 kW steps fit a 66.6666 kW cap together: tardiness 0."""
    p = make(
        sites=[{"id": "S", "power_cap_kw": 66.6666}],
        resources=[{"id": "L", "site": "S", "kind": "line", "capacity": 2}],
        products=[{"id": "P", "routing": one_step(minutes=10, power_kw=33.3333)}],
        orders=[order("A", 10), order("B", 10)],
    )
    check(p, 0)


def test_fixed_steps_within_capacity_two_are_feasible() -> None:
    """Rule 7: fixed 0-10, 20-30, 12-22, 5-15 never overlap 3-deep on a capacity-2 line."""
    def fx(o: str, a: int, b: int) -> dict[str, Any]:
        return {"order": o, "unit": 1, "op": "x", "resource": "L", "start": at(a), "end": at(b)}

    p = make(
        resources=[{"id": "L", "site": "S", "kind": "line", "capacity": 2}],
        products=[{"id": "P", "routing": one_step(minutes=10)}],
        orders=[order(k, 100) for k in "ABCD"],
        fixed=[fx("A", 0, 10), fx("B", 20, 30), fx("C", 12, 22), fx("D", 5, 15)],
    )
    check(p, 0)


def test_step_before_a_fixed_step_gets_its_slot() -> None:
    """Fixed X/1/y at 60-120: X/1/x must take L at 0-60, so Y (due 0) runs 60-120: 120."""
    p = make(
        resources=[{"id": "L", "site": "S", "kind": "a"}, {"id": "B", "site": "S", "kind": "b"}],
        products=[
            {"id": "P", "routing": [{"op": "x", "kind": "a", "duration_min": 60},
                                    {"op": "y", "kind": "b", "duration_min": 60}]},
            {"id": "Q", "routing": [{"op": "x", "kind": "a", "duration_min": 60}]},
        ],
        orders=[order("X", 7200), order("Y", 0, "Q")],
        fixed=[{"order": "X", "unit": 1, "op": "y", "resource": "B",
                "start": at(60), "end": at(120)}],
    )
    check(p, 120)


def test_a_schedule_from_cp_sat_alone_says_so() -> None:
    """Where the dispatch heuristic gets stuck (Y first by due date, then X/1/x cannot end
    before its fixed step) and the full model is not in the plan, the schedule is CP-SAT's
    alone: its source, its solve log and its notes say so, not the heuristic's."""
    p = make(
        resources=[{"id": "L", "site": "S", "kind": "a"}, {"id": "B", "site": "S", "kind": "b"}],
        products=[
            {"id": "P", "routing": [{"op": "x", "kind": "a", "duration_min": 60},
                                    {"op": "y", "kind": "b", "duration_min": 60}]},
            {"id": "Q", "routing": [{"op": "x", "kind": "a", "duration_min": 60}]},
        ],
        orders=[order("X", 7200), order("Y", 0, "Q")],
        fixed=[{"order": "X", "unit": 1, "op": "y", "resource": "B",
                "start": at(60), "end": at(120)}],
    )
    s = run(p, time_limit=2.0, tuning=Tuning(full_model_limit_tardiness=0))
    assert s["status"] == "FEASIBLE"
    assert s["objective_value"] == 120
    assert validate(p, s) == []
    assert s["source"] == "cp-sat"
    assert s["solve_log"][0]["phase"] == "cp-sat"
    assert not any("dispatch heuristic" in n for n in s["notes"])


def test_release_with_seconds() -> None:
    """Rule 3: release 00:00:30 means the first whole-minute start is 00:01; 11 min late."""
    p = make(
        products=[{"id": "P", "routing": one_step(minutes=10)}],
        orders=[order("A", 0, release="2026-12-01T00:00:30Z")],
    )
    s = run(p)
    assert s["status"] == "OPTIMAL", s.get("reasons")
    assert validate(p, s) == []


def test_due_with_seconds() -> None:
    """A due of 00:10:30 for a 10 min step at 0 is met: tardiness 0, valid schedule."""
    p = make(
        products=[{"id": "P", "routing": one_step(minutes=10)}],
        orders=[order("A", 0) | {"due": "2026-12-01T00:10:30Z"}],
    )
    s = run(p)
    assert s["status"] == "OPTIMAL", s.get("reasons")
    assert s["objective_value"] == 0
    assert validate(p, s) == []


def test_step_longer_than_the_default_horizon() -> None:
    """A 50000 min step on a 24x7 line due at once: makespan 50000, not a ProblemError."""
    p = make(
        resources=[{"id": "L", "site": "S", "kind": "line", "calendar": "24x7"}],
        products=[{"id": "P", "routing": one_step(minutes=50000)}],
        orders=[order("A", 0)],
    )
    check(p, 50000)


def test_inexact_weights_are_not_claimed_optimal() -> None:
    """Weights beyond 1/10000 (1/3, 2/3) are solved but never called OPTIMAL."""
    p = make(
        products=[{"id": "P", "routing": one_step(minutes=10)}],
        orders=[order("A", 0, weight=1 / 3), order("B", 0, weight=2 / 3)],
    )
    s = run(p)
    assert s["status"] == "FEASIBLE"
    assert s["objective_value"] == pytest.approx(20 / 3 + 20 / 3, abs=1e-6)  # B first
    assert validate(p, s) == []


# ---- contradictory fixed steps and inexact weights (once bugs) ------------------------------


def _two_step(**fields: Any) -> Problem:
    """O (1 unit) runs s0 (kind x, 60 min) then s1 (kind y, 10 min) at site A."""
    data: dict[str, Any] = {
        "sites": [{"id": "A"}],
        "resources": [{"id": "X", "site": "A", "kind": "x"}, {"id": "Y", "site": "A", "kind": "y"}],
        "products": [{"id": "P", "routing": [
            {"op": "s0", "kind": "x", "duration_min": 60},
            {"op": "s1", "kind": "y", "duration_min": 10}]}],
        "orders": [order("O", 0)],
    }
    data.update(fields)
    return make(**data)


def _fx(op: str, res: str, a: int, b: int) -> dict[str, Any]:
    return {"order": "O", "unit": 1, "op": op, "resource": res, "start": at(a), "end": at(b)}


def _assert_infeasible(p: Problem) -> None:
    assert brute_force(p) is None
    s = run(p)
    assert validate(p, s) == []
    assert s["status"] == "INFEASIBLE", s.get("reasons")
    assert s["items"] == []
    assert any("O" in r for r in s["reasons"])


def test_fixed_steps_out_of_routing_order_are_infeasible() -> None:
    """Rule 2: O/1/s1 fixed at 0-10 and O/1/s0 fixed at 60-120 cannot both hold: INFEASIBLE."""
    _assert_infeasible(_two_step(fixed=[_fx("s1", "Y", 0, 10), _fx("s0", "X", 60, 120)]))


def test_fixed_step_at_a_site_without_the_other_steps_is_infeasible() -> None:
    """Rule 4: O/1/s0 fixed on XB at site B, where no resource runs s1: INFEASIBLE."""
    p = _two_step(
        sites=[{"id": "A"}, {"id": "B"}],
        resources=[{"id": "X", "site": "A", "kind": "x"}, {"id": "Y", "site": "A", "kind": "y"},
                   {"id": "XB", "site": "B", "kind": "x"}],
        fixed=[_fx("s0", "XB", 0, 60)],
    )
    _assert_infeasible(p)


def test_no_room_before_a_fixed_step_is_infeasible() -> None:
    """Rule 2: O/1/s1 fixed at 30-40 leaves 30 min for the 60 min s0 before it: INFEASIBLE."""
    _assert_infeasible(_two_step(fixed=[_fx("s1", "Y", 30, 40)]))


def test_lower_bound_holds_for_inexact_weights() -> None:
    """lower_bound never exceeds the optimum: weights 0.00006 and 0.00014, optimum 0.0026."""
    p = make(
        products=[{"id": "P", "routing": one_step(minutes=10)}],
        orders=[order("A", 0, weight=0.00006), order("B", 0, weight=0.00014)],
    )
    best = brute_force(p)
    assert best is not None
    assert float(best[0]) == pytest.approx(0.0026)
    s = run(p)
    assert validate(p, s) == []
    assert s["lower_bound"] <= 0.0026 + 1e-9


# ---- the solve log -----------------------------------------------------------------------


def _check_log(s: dict[str, Any]) -> list[str]:
    """The log's phases, after checking what every log holds: an entry per phase with
    its seconds (within the solve's), the objective and a bound no higher than it, the
    last objective the schedule's."""
    log = s["solve_log"]
    assert all(set(e) == {"phase", "seconds", "objective", "bound"} for e in log)
    assert all(e["seconds"] >= 0 for e in log)
    assert sum(e["seconds"] for e in log) <= s["solve_seconds"] + 0.01 * len(log)
    assert all(e["bound"] <= e["objective"] + 1e-9 for e in log)
    assert log[-1]["objective"] == s["objective_value"]
    return [e["phase"] for e in log]


def test_the_solve_log_lists_the_phases_that_ran() -> None:
    """A small due-date problem (a job shop): dispatch, bounds, the weighted-tardiness
    search, the full model; proven optimal, nothing after it. The validator accepts the
    schedule with its log."""
    p = two_orders()
    s = run(p)
    assert s["status"] == "OPTIMAL"
    assert _check_log(s) == ["dispatch", "bounds", "twt", "cp-sat"]
    assert validate(p, s) == []


def test_the_solve_log_of_a_large_problem_and_its_progress_reports() -> None:
    """150 racks on due dates: dispatch, bounds, the planning bound, sequence search, LNS
    (each that ran), and every progress report carries the log as far as it has come."""
    p = load_problem(generate(150, 1))
    seen: list[Any] = []
    s = run(p, time_limit=4.0, progress=seen.append)
    phases = _check_log(s)
    assert phases[:2] == ["dispatch", "bounds"] and set(phases) <= {
        "dispatch", "bounds", "planning", "sequence", "lns"}
    assert seen[0].phase == "dispatch" and seen[0].solve_log == s["solve_log"][:1]
    assert seen[-1].phase == "done" and seen[-1].solve_log == s["solve_log"]
    assert all(len(a.solve_log) <= len(b.solve_log) for a, b in pairwise(seen))
    assert validate(p, s) == []


def test_schedules_without_items_carry_a_solve_log_too() -> None:
    """Infeasible fixed steps: nothing ran, the log is empty; too much work for every
    horizon: the dispatch ran, without a schedule."""
    p = _two_step(fixed=[_fx("s1", "Y", 0, 10), _fx("s0", "X", 60, 120)])
    s = run(p)
    assert s["status"] == "INFEASIBLE" and s["solve_log"] == []
    assert validate(p, s) == []
    p = make(products=[{"id": "P", "routing": one_step(minutes=2880)}],
             orders=[{**order("A", 0), "quantity": 250}],
             resources=[{"id": "L", "site": "S", "kind": "line", "calendar": "24x7"}])
    s = run(p)
    assert s["status"] == "UNKNOWN"
    assert [(e["phase"], e["objective"], e["bound"]) for e in s["solve_log"]] == [
        ("dispatch", None, None)]
    assert validate(p, s) == []
