"""SPEC section 6 end to end: power windows and spread-risk quotas in the problem model,
the validator, the dispatch heuristic and a full solve.

The two power cases: a hall energised on a given date (the cap is low before, high
after) and a utility's demand-response evening (the cap drops for a few hours). The quota
case: a customer whose racks would all go to its nearest site.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brute import brute_force
from test_solve import at, order

from solver.cli import main
from solver.compiled import compile_problem
from solver.dispatch import dispatch, rule_keys
from solver.problem import Problem, ProblemError, load_problem
from solver.schedule import Status, build_schedule
from solver.solution import Assignment
from solver.solve import SolveParams, solve
from solver.validate import validate


def _bay(cap: float | None, racks: int, kw: float = 100, **site: Any) -> dict[str, Any]:
    """One site around the clock with one 8-slot bay; `racks` one-rack orders of a
    600-minute burn-in drawing `kw`, all due at 600."""
    s: dict[str, Any] = {"id": "S", **site}
    if cap is not None:
        s["power_cap_kw"] = cap
    return {
        "name": "bay", "horizon_start": at(0), "sites": [s],
        "resources": [{"id": "B", "site": "S", "kind": "bay", "capacity": 8}],
        "products": [{"id": "P", "routing": [
            {"op": "burn_in", "kind": "bay", "duration_min": 600, "power_kw": kw}]}],
        "orders": [order(f"O{i}", 600) for i in range(racks)],
    }


def energised(window: bool = True) -> dict[str, Any]:
    """A hall energised at minute 1,200: 100 kW before (one rack at a time), 400 kW after
    (the rest at once). Four racks: 0 + 600 + 1,200 + 1,200 = 3,000 late; without the new
    hall, one at a time: 0 + 600 + 1,200 + 1,800 = 3,600."""
    data = _bay(100, 4)
    if window:
        data["sites"][0]["power_windows"] = [
            {"start": at(1200), "end": at(60 * 1440), "power_cap_kw": 400}]
    return data


def demand_response(window: bool = True) -> dict[str, Any]:
    """200 kW, but 100 kW during a demand-response evening [300, 900): two 100 kW racks
    cannot both run in it, so the second waits until the first ends at 600 (600 late);
    without the evening both run at once (0)."""
    data = _bay(200, 2)
    if window:
        data["sites"][0]["power_windows"] = [
            {"start": at(300), "end": at(900), "power_cap_kw": 100}]
    return data


def nearest_site(quota: float | None = 0.5, racks: int = 4) -> dict[str, Any]:
    """Customer acme's `racks` racks (one order, due at 100) at N (no transit; 4 lines) or
    F (1,440 minutes away; 2 lines): all at N are on time; under a quota of one half, half
    go to F, and the order is 1,440 minutes late. Customer other's rack has no quota."""
    data: dict[str, Any] = {
        "name": "quota", "horizon_start": at(0),
        "sites": [{"id": "N", "transit_min": {"east": 0}},
                  {"id": "F", "transit_min": {"east": 1440}}],
        "resources": [*({"id": f"N{i}", "site": "N", "kind": "line"} for i in range(5)),
                      *({"id": f"F{i}", "site": "F", "kind": "line"} for i in range(2))],
        "products": [{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 100}]}],
        "orders": [order("A", 100, customer="acme", quantity=racks, destination="east"),
                   order("Z", 100, customer="other", destination="east")],
    }
    if quota is not None:
        data["policies"] = {"customers": {"acme": {"max_site_share": quota}}}
    return data


def _schedule(p: Problem, a: Assignment) -> dict[str, Any]:
    return build_schedule(compile_problem(p), a, status=Status.FEASIBLE, lower_bound=0.0,
                          solve_seconds=0.0, source="dispatch")


def _solve(p: Problem) -> dict[str, Any]:
    s = solve(p, SolveParams(time_limit=5.0, workers=2, seed=1))
    assert validate(p, s) == [], s.get("notes")
    assert s["lower_bound"] <= s["objective_value"] + 1e-9
    return s


def _sites(s: dict[str, Any], oid: str) -> list[str]:
    """The site of each unit of order `oid`, by unit."""
    return [i["site"] for i in sorted(s["items"], key=lambda i: i["unit"]) if i["order"] == oid]


# ---- the problem model -----------------------------------------------------------------------


def test_section6_round_trips_with_the_problem() -> None:
    """Power windows and policies are read and written back with the rest of the problem."""
    data = demand_response()
    data["policies"] = {"max_site_share": 0.6, "customers": {"acme": {"max_site_share": 0.5}}}
    p = load_problem(data)
    assert p.policies is not None and p.policies.share("acme") == 0.5
    assert p.policies.share("other") == 0.6 and p.policies.share(None) is None
    out = p.model_dump(mode="json", exclude_none=True)
    assert out["policies"] == data["policies"]
    assert load_problem(json.dumps(out)) == p
    assert "power_windows" not in load_problem(_bay(100, 1)).model_dump(exclude_none=True)[
        "sites"][0]


def test_every_section6_fault_is_named_at_once() -> None:
    """A share outside (0, 1], a window whose end is not after its start and overlapping
    windows are each reported, naming the field, in one error."""
    data = demand_response()
    data["policies"] = {"max_site_share": 1.5, "customers": {"acme": {"max_site_share": 0}}}
    data["sites"][0]["power_windows"] = [
        {"start": at(600), "end": at(600), "power_cap_kw": 50},
        {"start": at(0), "end": at(100), "power_cap_kw": 10},
        {"start": at(50), "end": at(200), "power_cap_kw": 10}]
    with pytest.raises(ProblemError) as exc:
        load_problem(data)
    assert exc.value.errors == [
        "policies.max_site_share: 1.5 is not in (0, 1]",
        "policies.customers.acme.max_site_share: 0 is not in (0, 1]",
        "sites[0] (id 'S').power_windows[0].end: is not after start",
        "sites[0] (id 'S').power_windows: windows 1 and 2 overlap",
    ]


def test_a_window_without_a_cap_or_offset_is_named() -> None:
    """A window's fields are checked like the rest: a missing cap, a time without offset."""
    data = demand_response()
    data["sites"][0]["power_windows"] = [{"start": "2026-12-01T05:00:00", "end": at(900)}]
    with pytest.raises(ProblemError) as exc:
        load_problem(data)
    text = "\n".join(exc.value.errors)
    assert "sites[0] (id 'S').power_windows[0].start: time has no UTC offset" in text
    assert "sites[0] (id 'S').power_windows[0].power_cap_kw: Field required" in text


def test_a_quota_allowed_sites_make_impossible_names_the_customer_and_site() -> None:
    """acme's four racks may only go to N, whose quota share is two."""
    data = nearest_site()
    data["orders"][0]["allowed_sites"] = ["N"]
    with pytest.raises(ProblemError) as exc:
        load_problem(data)
    assert exc.value.errors == [
        "policies: customer 'acme' must have 4 of its 4 units built at site 'N' "
        "(allowed_sites and fixed steps), more than its quota 0.5 allows (2)"]


def test_a_quota_two_sites_cannot_keep_together_names_both() -> None:
    """Five racks of acme between N and F, a third site Z allowed to none of them: at
    most two per site (0.3 of 6 racks) is four, one short."""
    data = nearest_site(0.3, racks=5)
    data["sites"].append({"id": "Z", "transit_min": {"east": 0}})
    data["resources"].append({"id": "Z0", "site": "Z", "kind": "line"})
    data["orders"][0]["allowed_sites"] = ["N", "F"]
    data["orders"].append(order("Y", 100, customer="acme", destination="east"))
    with pytest.raises(ProblemError) as exc:
        load_problem(data)
    assert exc.value.errors == [
        "policies: customer 'acme' must have 5 of its 6 units built at sites 'F', 'N' "
        "(allowed_sites and fixed steps), more than its quota 0.3 allows there (2 per site)"]


def test_fixed_units_count_against_the_quota() -> None:
    """Three of acme's racks fixed at N are more than its share there (two of four)."""
    data = nearest_site()
    data["fixed"] = [{"order": "A", "unit": u, "op": "x", "resource": f"N{u}",
                      "start": at(0), "end": at(100)} for u in (1, 2, 3)]
    with pytest.raises(ProblemError) as exc:
        load_problem(data)
    assert "must have 3 of its 4 units built at site 'N'" in exc.value.errors[0]


def test_a_quota_for_a_customer_without_orders_is_a_standing_policy() -> None:
    """A quota naming a customer with no orders is no error."""
    data = nearest_site(None)
    data["policies"] = {"customers": {"nobody": {"max_site_share": 0.1}}}
    assert load_problem(data).policies is not None


@pytest.mark.parametrize(("change", "needle"), [
    (lambda d: d["policies"].update(max_site_share=2), "policies.max_site_share"),
    (lambda d: d["sites"][0].update(power_windows=[
        {"start": at(100), "end": at(50), "power_cap_kw": 10}]), "power_windows[0].end"),
    (lambda d: d["sites"][0].update(power_windows=[
        {"start": at(0), "end": at(100), "power_cap_kw": 10},
        {"start": at(99), "end": at(200), "power_cap_kw": 10}]), "windows 0 and 1 overlap"),
])
def test_cli_exits_2_naming_the_section6_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, needle: str
) -> None:
    """`rackplan solve` on each section 6 fault exits 2 naming the field, no traceback."""
    data = copy.deepcopy(nearest_site())
    change(data)
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = main(["solve", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert needle in err, err


def test_cli_a_quota_the_orders_cannot_keep_is_infeasible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quota an order's sites cannot keep leaves that order unbuildable: `rackplan
    solve` answers INFEASIBLE (exit 1) naming the customer and the order."""
    data = copy.deepcopy(nearest_site())
    data["orders"][0].update(allowed_sites=["N"])
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = main(["solve", str(path), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and json.loads(out)["status"] == "INFEASIBLE"
    assert "customer 'acme'" in err and "order '" in err and "Traceback" not in err, err


# ---- the validator ---------------------------------------------------------------------------


def test_validator_rule8_holds_the_cap_in_force_at_each_moment() -> None:
    """Both racks at once is valid under 200 kW; in the demand-response evening it is a
    rule 8 violation at 300, naming the cap in force."""
    plain = load_problem(demand_response(window=False))
    s = _solve(plain)
    assert s["objective_value"] == 0
    got = validate(load_problem(demand_response()), s)
    assert len(got) == 1 and got[0].startswith(
        f"rule 8: site 'S' draws 200 kW at {at(300)} (power cap in force 100)"), got


def test_validator_rule8_without_a_cap_outside_the_windows() -> None:
    """No power_cap_kw: only the window caps the site; before it three racks run at once."""
    data = _bay(None, 3)
    data["sites"][0]["power_windows"] = [
        {"start": at(1000), "end": at(2000), "power_cap_kw": 100}]
    p = load_problem(data)
    s = _solve(p)
    assert s["objective_value"] == 0  # all three in [0, 600)
    late = copy.deepcopy(s)
    for i in late["items"]:
        i["start"], i["end"] = at(1200), at(1800)
    faults = [f for f in validate(p, late) if f.startswith("rule 8")]
    assert faults == [f"rule 8: site 'S' draws 300 kW at {at(1200)} (power cap in force 100): "
                      "O0/1/burn_in, O1/1/burn_in, O2/1/burn_in"]


def test_validator_rule10_counts_each_customers_units_per_site() -> None:
    """All four of acme's racks at N break its quota (two): one rule 10 line."""
    s = _solve(load_problem(nearest_site(None)))
    assert _sites(s, "A") == ["N"] * 4
    got = validate(load_problem(nearest_site()), s)
    assert got == ["rule 10: site 'N' builds 4 of customer 'acme''s 4 units, more than its "
                   "quota 0.5 allows (2): A/1, A/2, A/3, A/4"]


def test_validator_rule10_uses_the_default_share_and_exempts_orders_without_customer() -> None:
    """max_site_share applies to every customer without its own; an order without a
    customer is exempt."""
    s = _solve(load_problem(nearest_site(None)))
    data = nearest_site(None)
    data["policies"] = {"max_site_share": 0.5}
    data["orders"][1].pop("customer")
    assert [f[:24] for f in validate(load_problem(data), s)] == ["rule 10: site 'N' builds"]
    data["orders"][0].pop("customer")
    assert validate(load_problem(data), s) == []


# ---- dispatch --------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "starts"), [
    (energised, [0, 600, 1200, 1200]),
    (demand_response, [0, 600]),
])
def test_dispatch_waits_for_the_cap_in_force(case: Any, starts: list[int]) -> None:
    """Dispatch places each rack where the cap in force lets it run its whole step."""
    p = load_problem(case())
    c = compile_problem(p)
    a = dispatch(c, rule_keys(c, "edd"))
    assert sorted(a.start) == starts
    assert validate(p, _schedule(p, a)) == []


def test_dispatch_keeps_the_quota() -> None:
    """Half of acme's racks go to the far site; the other customer's rack stays near."""
    p = load_problem(nearest_site())
    c = compile_problem(p)
    a = dispatch(c)
    s = _schedule(p, a)
    assert validate(p, s) == []
    assert sorted(_sites(s, "A")) == ["F", "F", "N", "N"] and _sites(s, "Z") == ["N"]


def test_dispatch_leaves_room_for_the_customers_later_units() -> None:
    """acme's order A (due first, N or F) comes before Y (N only); the quota (two of four
    per site) leaves N two places: A must not take both, or Y would have no site."""
    data = nearest_site(racks=2)
    data["orders"][0]["due"] = at(50)
    data["orders"].append(order("Y", 100, customer="acme", quantity=2,
                                destination="east", allowed_sites=["N"]))
    p = load_problem(data)
    c = compile_problem(p)
    a = dispatch(c, rule_keys(c, "edd"))
    s = _schedule(p, a)
    assert validate(p, s) == []
    assert _sites(s, "A") == ["F", "F"] and _sites(s, "Y") == ["N", "N"]


# ---- the full solve --------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "value"), [
    (energised, 3000), (demand_response, 600)])
def test_solve_under_power_windows(case: Any, value: int) -> None:
    """The solve finds the optimum (the brute-force figure) under the windowed cap, a
    figure the same site without the window does not have."""
    p = load_problem(case())
    s = _solve(p)
    assert s["objective_value"] == pytest.approx(value)
    best = brute_force(p)
    assert best is not None and float(best[0]) == value
    plain = _solve(load_problem(case(window=False)))
    assert plain["objective_value"] != value  # the window binds


def test_solve_spreads_a_customer_over_sites() -> None:
    """Without a quota all of acme's racks are built at N, on time; with one half per
    site two go to F and the order is 1,440 minutes late, the optimum."""
    free = _solve(load_problem(nearest_site(None)))
    assert free["objective_value"] == 0 and _sites(free, "A") == ["N"] * 4
    p = load_problem(nearest_site())
    s = _solve(p)
    assert s["objective_value"] == pytest.approx(1440)
    assert sorted(_sites(s, "A")) == ["F", "F", "N", "N"]
    assert s["status"] == "OPTIMAL"
