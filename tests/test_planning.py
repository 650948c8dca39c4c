"""Tests of `solver.planning`: buckets, SPEC section 6 inputs, the aggregate model, the
whole-rack power cuts and the proven bound.

The bound's argument is tested two ways: directly, every schedule the dispatch heuristic
builds (random small problems and generated instances) read into the model satisfies
every row and costs no more than its weighted tardiness there; and end to end, the
bound never exceeds the brute-force optimum of tiny problems, nor the weighted
tardiness of dispatch or solve schedules.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, seed
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brute import brute_force, count_free_ops
from test_properties import MAX_BRUTE, PROFILE, SEED, checked, dispatched, problems, with_fixed
from test_solve import at, make, order

from bench.instances import generate
from solver.dispatch import best_dispatch
from solver.planning import allocate, hull
from solver.planning.bound import build, compile_for, planning_bound
from solver.planning.grid import Grid, bucket_minutes
from solver.planning.model import objective_at, schedule_point, violations
from solver.planning.section6 import Section6, read_section6
from solver.problem import Objective, Problem, ProblemError, load_problem
from solver.solution import Assignment, evaluate
from solver.solve import SolveParams, solve


def tardiness(p: Problem) -> Problem:
    """The same problem with the weighted-tardiness objective."""
    return p.model_copy(update={"objective": Objective.TARDINESS})


def assignment_of(p: Problem, schedule: dict[str, Any]) -> tuple[Any, Assignment]:
    """A schedule document as (compiled problem, dense assignment) for `schedule_point`."""
    c = compile_for(p, 1440)
    res = {r: i for i, r in enumerate(c.res_ids)}
    at_: dict[tuple[str, int, str], dict[str, Any]] = {
        (it["order"], it["unit"], it["op"]): it for it in schedule["items"]}
    a = Assignment([-1] * c.n_ops, [0] * c.n_ops, [0] * c.n_ops)
    for o in range(c.n_ops):
        u = c.op_unit[o]
        it = at_[(c.order_ids[c.unit_order[u]], c.unit_no[u], c.op_name[o])]
        a.res[o], a.start[o], a.end[o] = res[it["group"]], it["start_min"], it["end_min"]
    return c, a


# ---- buckets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "minutes"), [
    ("day", 1440), ("week", 10080), (" Week ", 10080), (90, 90), (90.0, 90), ("240", 240),
])
def test_bucket_sizes(value: object, minutes: int) -> None:
    """Named sizes and whole numbers of minutes (as numbers or text) are accepted."""
    assert bucket_minutes(value) == minutes


@pytest.mark.parametrize("value", [90.5, "1.5", 0, -60, "fortnight", True, None, math.inf])
def test_bucket_not_whole_minutes_is_an_error_naming_the_field(value: object) -> None:
    """A bucket that is not a positive whole number of minutes is refused, naming it."""
    with pytest.raises(ProblemError) as exc:
        bucket_minutes(value)
    assert exc.value.errors[0].startswith("bucket: ")


def test_planning_bound_refuses_a_bad_bucket() -> None:
    """planning_bound names the bucket setting before building anything."""
    p = make(orders=[order("A", 100)])
    with pytest.raises(ProblemError, match=r"^bucket: 90\.5 minutes is not a whole number"):
        planning_bound(p, bucket=90.5)


def test_grid_overflow_bucket() -> None:
    """Minutes past the grid fall into the overflow bucket, which never ends."""
    g = Grid(60, 3)
    assert [g.of(t) for t in (-5, 0, 59, 60, 179, 180, 10_000)] == [0, 0, 0, 1, 2, 3, 3]
    assert g.stop(2) == 180 and math.isinf(g.stop(3))


# ---- SPEC section 6 --------------------------------------------------------------------------


def _two_site_data(**extra: Any) -> dict[str, Any]:
    """Near site N (no transit) with two lines, far site F (1,440 minutes away) with one;
    customer acme has two one-rack orders of 100 minutes due at 100."""
    data: dict[str, Any] = {
        "name": "quota",
        "horizon_start": at(0),
        "sites": [{"id": "N", "transit_min": {"east": 0}},
                  {"id": "F", "transit_min": {"east": 1440}}],
        "resources": [{"id": "N1", "site": "N", "kind": "line"},
                      {"id": "N2", "site": "N", "kind": "line"},
                      {"id": "F1", "site": "F", "kind": "line"}],
        "products": [{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 100}]}],
        "orders": [order("A", 100, customer="acme", destination="east"),
                   order("B", 100, customer="acme", destination="east")],
    }
    data.update(extra)
    return data


def _section6(data: dict[str, Any]) -> Section6:
    bare = {k: v for k, v in data.items() if k != "policies"}
    bare["sites"] = [{k: v for k, v in s.items() if k != "power_windows"}
                     for s in data["sites"]]
    return read_section6(data, load_problem(bare))


def test_section6_reads_quotas_and_windows_in_minutes() -> None:
    """Shares become exact fractions, windows minutes from horizon_start, sorted."""
    data = _two_site_data(policies={"max_site_share": 0.7, "customers": {"acme": {
        "max_site_share": 0.5}}})
    data["sites"][0]["power_windows"] = [
        {"start": at(600), "end": at(900), "power_cap_kw": 50},
        {"start": at(0), "end": at(60), "power_cap_kw": 10}]
    s6 = _section6(data)
    assert s6.quota("acme") == pytest.approx(0.5) and s6.quota("other") == pytest.approx(0.7)
    assert s6.quota(None) is None
    assert s6.limit(s6.quota("other") or 0, 10) == 7  # 0.7 x 10 exactly, not 7.000...1
    assert [(w.start, w.end, w.cap_kw) for w in s6.power_windows["N"]] == [
        (0, 60, 10), (600, 900, 50)]


def test_section6_faults_are_all_named_at_once() -> None:
    """Shares outside (0, 1], a window ending before it starts and overlapping windows
    are all reported, each naming its field."""
    data = _two_site_data(policies={"max_site_share": 1.5, "customers": {"acme": {
        "max_site_share": 0}}})
    data["sites"][1]["power_windows"] = [
        {"start": at(600), "end": at(500), "power_cap_kw": 50},
        {"start": at(0), "end": at(100), "power_cap_kw": 10},
        {"start": at(50), "end": at(200), "power_cap_kw": 10}]
    with pytest.raises(ProblemError) as exc:
        _section6(data)
    assert exc.value.errors == [
        "policies.max_site_share: 1.5 is not in (0, 1]",
        "policies.customers.acme.max_site_share: 0 is not in (0, 1]",
        "sites[1] (id 'F').power_windows[0].end: is not after start",
        "sites[1] (id 'F').power_windows: windows 1 and 2 overlap",
    ]


def test_a_quota_allowed_sites_make_impossible_names_customer_and_site() -> None:
    """Both of acme's racks may only go to N, but the quota lets N take one."""
    data = _two_site_data(policies={"max_site_share": 0.5})
    for o in data["orders"]:
        o["allowed_sites"] = ["N"]
    with pytest.raises(ProblemError) as exc:
        _section6(data)
    assert exc.value.errors == [
        "policies: customer 'acme' must have 2 of its 2 units built at site 'N' "
        "(allowed_sites and fixed steps), more than its quota 0.5 allows (1)"]


def test_a_quota_for_a_customer_without_orders_is_a_standing_policy() -> None:
    """A quota naming a customer with no open orders is no error."""
    data = _two_site_data(policies={"customers": {"nobody": {"max_site_share": 0.2}}})
    assert _section6(data).quota("nobody") == pytest.approx(0.2)


def test_quota_sends_a_rack_far_and_the_bound_sees_it() -> None:
    """Without a quota both racks are on time at N (bound 0); with acme at most half per
    site one rack goes to F and is 1,440 minutes late, which is the optimum."""
    data = _two_site_data(policies={"max_site_share": 0.5})
    s6 = _section6(data)
    p = load_problem({k: v for k, v in data.items() if k != "policies"})
    assert planning_bound(p, bucket=60).value == pytest.approx(0.0, abs=1e-6)
    got = planning_bound(p, bucket=60, section6=s6)
    assert got.value == pytest.approx(1440.0, rel=1e-6)


def _bay_problem(cap: float, racks: int, **site: Any) -> dict[str, Any]:
    """One site around the clock, one 8-slot bay; `racks` one-rack orders of a 600-minute
    step drawing 100 kW (132 kW with `heavy`), all due at 600."""
    return {
        "name": "bay", "horizon_start": at(0),
        "sites": [{"id": "S", "power_cap_kw": cap, **site}],
        "resources": [{"id": "B", "site": "S", "kind": "bay", "capacity": 8}],
        "products": [{"id": "P", "routing": [
            {"op": "burn_in", "kind": "bay", "duration_min": 600, "power_kw": 100}]}],
        "orders": [order(f"O{i}", 600) for i in range(racks)],
    }


def test_power_window_lowers_the_cap_and_the_bound_sees_it() -> None:
    """Two racks of 100 kW under 200 kW run together (bound 0); a window capping the site
    at 100 kW until minute 1,200 makes one wait, 600 minutes late (the optimum): the bound
    sees most of it."""
    data = _bay_problem(200, 2)
    p = load_problem(data)
    assert planning_bound(p, bucket=60).value == pytest.approx(0.0, abs=1e-6)
    data["sites"][0]["power_windows"] = [{"start": at(0), "end": at(1200),
                                          "power_cap_kw": 100}]
    got = planning_bound(p, bucket=60, section6=_section6(data))
    assert got.value is not None and 500 < got.value <= 600 + 1e-6


def test_whole_racks_under_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under 250 kW, 100 kW racks run two at a time, not 2.5: of three racks due at 600
    one waits until 600 (optimum 600, the brute-force figure). The whole-rack rows give
    the bound most of it; the fluid energy row alone, half as much."""
    p = load_problem(_bay_problem(250, 3))
    best = brute_force(p)
    assert best is not None and float(best[0]) == 600
    whole = planning_bound(p, bucket=60).value
    monkeypatch.setattr(hull, "cuts", lambda *_, **__: [])
    fluid = planning_bound(p, bucket=60).value
    assert whole is not None and fluid is not None
    assert 500 < whole <= 600 + 1e-6
    assert fluid < 0.6 * whole


# ---- whole-rack cuts -------------------------------------------------------------------------


def test_hull_cut_for_racks_under_a_cap() -> None:
    """330 kW and 132 kW racks in 8 slots: at most 2 at once (the fluid row allows 2.5)."""
    assert hull.cuts([132.0], [(frozenset({0}), 8)], 330.0)[0] == ((1,), 2)
    assert hull.cuts([100.0], [(frozenset({0}), 8)], 400.0) == []  # 4 fit exactly


@PROFILE
@seed(SEED)
@given(
    st.lists(st.integers(1, 15).map(lambda p: p * 10.0), min_size=1, max_size=3),
    st.integers(1, 40).map(lambda c: c * 10.0),
    st.lists(st.integers(1, 6), min_size=3, max_size=3),
)
def test_hull_cuts_hold_at_every_whole_point(powers: list[float], cap: float,
                                             slots: list[int]) -> None:
    """Every cut a . n <= beta holds at every whole point, and cuts some fluid point."""
    sets = [(frozenset({t}), slots[t]) for t in range(len(powers))]
    sets.append((frozenset(range(len(powers))), sum(slots[: len(powers)]) - 1 or 1))
    pts = hull.whole_points(powers, sets, cap) or []
    verts = hull.fluid_vertices(powers, sets, cap)
    for a, beta in hull.cuts(powers, sets, cap, limit=20):
        assert all(sum(x * y for x, y in zip(a, n, strict=True)) <= beta for n in pts)
        assert max(sum(x * y for x, y in zip(a, v, strict=True)) for v in verts) > beta


# ---- the relaxation, directly: every schedule maps into the model -----------------------------


@PROFILE
@seed(SEED)
@given(problems(), st.sampled_from([30, 60, 240, 1440]))
def test_dispatch_schedules_map_into_the_model(data: dict[str, Any], bucket: int) -> None:
    """A dispatch schedule read into the model keeps every row and bound, and the model
    prices it at no more than its weighted tardiness (the docstring's argument)."""
    p = tardiness(checked(data))
    c, s = dispatched(p)
    model = build(c, bucket=bucket)
    assume(model.grid.n > 0)
    a = best_dispatch(c, seed=3)  # the schedule `dispatched` built
    point = schedule_point(model, a)
    assert violations(model, point) == []
    assert objective_at(model, point) <= s["kpis"]["total_weighted_tardiness_min"] + 1e-6


@pytest.mark.parametrize(("racks", "seed_", "steps"), [(150, 1, 3), (120, 0, 4)])
def test_generated_dispatch_schedule_maps_into_the_model(racks: int, seed_: int,
                                                         steps: int) -> None:
    """The same on generated multi-site instances, day and 4-hour buckets."""
    p = load_problem(generate(racks, seed_, steps=steps))
    c = compile_for(p, 1440)
    a = best_dispatch(c, ("edd",))
    s = solve(p, SolveParams(time_limit=0.1, workers=1))
    wt = float(s["kpis"]["total_weighted_tardiness_min"])
    for bucket in ("day", 240):
        model = build(c, bucket=bucket)
        point = schedule_point(model, a)
        assert violations(model, point) == []
        got = schedule_point(model, assignment_of(p, s)[1])
        assert violations(model, got) == []
        assert objective_at(model, got) <= wt + 1e-6


# ---- the bound, end to end --------------------------------------------------------------------


def test_queue_on_one_line() -> None:
    """Six 600-minute racks due at 600 on one line: they end at 600, 1,200, ..., 3,600,
    9,000 minutes late in all (brute force agrees); 2-hour buckets see most of it, day
    buckets less, neither more."""
    p = make(products=[{"id": "P", "routing": [
        {"op": "x", "kind": "line", "duration_min": 600}]}],
        orders=[order(f"O{i}", 600) for i in range(6)])
    best = brute_force(p)
    assert best is not None and float(best[0]) == 9000
    fine = planning_bound(p, bucket=120)
    coarse = planning_bound(p, bucket="day")
    assert fine.value is not None and coarse.value is not None
    assert 8000 <= fine.value <= 9000 + 1e-6
    assert 0 < coarse.value <= fine.value
    assert fine.status == "Optimal" and fine.rows > 0 and fine.columns > 0


@PROFILE
@seed(SEED)
@given(problems(max_ops=5, min_orders=2), st.sampled_from([30, 60, 240, 1440]))
def test_bound_never_exceeds_the_brute_force_optimum(data: dict[str, Any], bucket: int) -> None:
    """On tiny random problems the bound is at most the optimal weighted tardiness."""
    p = tardiness(checked(data))
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assert best is not None
    got = planning_bound(p, bucket=bucket, time_limit=10)
    assert got.value is not None, got.reasons
    assert got.value <= float(best[0]) + 1e-6


@PROFILE
@seed(SEED)
@given(with_fixed(), st.sampled_from([60, 1440]))
def test_bound_with_fixed_steps_never_exceeds_the_optimum(data: dict[str, Any],
                                                          bucket: int) -> None:
    """With fixed steps too (consumed capacity, pinned sites, latest starts)."""
    p = tardiness(checked(data))
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assume(best is not None)
    assert best is not None
    got = planning_bound(p, bucket=bucket, time_limit=10)
    assert got.value is not None, got.reasons
    assert got.value <= float(best[0]) + 1e-6


@pytest.mark.parametrize(("racks", "seed_"), [(150, 0), (150, 1)])
def test_bound_below_dispatch_and_solve_on_generated(racks: int, seed_: int) -> None:
    """On generated instances the bound is at most the dispatch schedule's and a short
    solve's weighted tardiness, and at least the orders' floors."""
    p = load_problem(generate(racks, seed_))
    c = compile_for(p, 1440)
    a = best_dispatch(c)
    dispatch_wt = evaluate(c, a)[0] / c.weight_scale
    s = solve(p, SolveParams(time_limit=2.0, workers=1))
    got = planning_bound(c, time_limit=60)
    assert got.value is not None, got.reasons
    assert got.value <= min(dispatch_wt, float(s["objective_value"])) + 1e-6
    floors = sum(p.orders[oi].weight * f for oi, f in got.order_lb.items())
    assert got.value >= floors - 1e-6


def test_order_bounds_are_kept_as_floors() -> None:
    """A per-order bound passed in is kept: the bound is at least its weight times it."""
    p = make(orders=[order("A", 5000), order("B", 5000, weight=3)])
    assert planning_bound(p).value == pytest.approx(0.0, abs=1e-6)
    got = planning_bound(p, order_lb={1: 50})
    assert got.value == pytest.approx(150.0, rel=1e-6)
    assert got.order_lb == {1: 50}


def test_makespan_is_not_modelled() -> None:
    """A makespan problem gets no bound from this model, and says so."""
    p = make(orders=[order("A", 100)], objective="makespan")
    got = planning_bound(p)
    assert got.value is None and got.status == "not modelled"


# ---- site allocation --------------------------------------------------------------------------


def test_allocation_prefers_the_near_site_and_keeps_the_quota() -> None:
    """Without a quota both of acme's racks go to N (on time, no transit); with at most
    half per site one goes to F, and the plan is exactly one rack at each site."""
    data = _two_site_data(policies={"max_site_share": 0.5})
    p = load_problem({k: v for k, v in data.items() if k != "policies"})
    free = allocate(p, bucket=60, time_limit=30)
    assert free.status == "optimal"
    assert {o: [(sp.site, sp.racks) for sp in plans] for o, plans in free.orders.items()} == {
        "A": [("N", 1)], "B": [("N", 1)]}
    assert free.tardiness == pytest.approx(0.0, abs=1e-6)
    held = allocate(p, bucket=60, time_limit=30, section6=_section6(data))
    assert held.status == "optimal"
    sites = sorted(sp.site for plans in held.orders.values() for sp in plans)
    assert sites == ["F", "N"]
    assert held.tardiness == pytest.approx(1440.0, rel=1e-6)


def test_allocation_places_every_rack_once() -> None:
    """On a generated instance every order's racks add up to its quantity over the sites,
    each site's racks over the buckets, and only allowed sites are used."""
    p = load_problem(generate(150, 1))
    got = allocate(p, time_limit=60)
    assert got.status in ("optimal", "feasible"), got.reasons
    assert got.integers > 0
    for o in p.orders:
        plans = got.orders[o.id]
        assert sum(sp.racks for sp in plans) == o.quantity
        for sp in plans:
            assert sum(k for _, k in sp.buckets) == sp.racks
            assert o.allowed_sites is None or sp.site in o.allowed_sites


def test_allocation_refuses_a_bad_bucket() -> None:
    """The allocation names a bucket that is not whole minutes, as the bound does."""
    with pytest.raises(ProblemError, match=r"^bucket: "):
        allocate(make(orders=[order("A", 100)]), bucket="1.5")
