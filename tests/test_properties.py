"""Properties of `solve` and the dispatch heuristic on random small problems (hypothesis).

The strategy draws valid SPEC problems with 1-2 sites in assorted time zones (DST and
half-hour offsets included), shift calendars or around-the-clock sites, holidays,
downtime, 1-4 resources per kind with capacity 1-2, power caps, steps by kind or by
alternatives, releases, weights, destinations, allowed sites and both objectives.

Properties: every schedule `solve` returns passes the validator; so does the dispatch
heuristic's; the solver is never worse than the dispatch, nor are LNS and the
order-sequence search than their start; `lower_bound` never exceeds the objective; and on
problems of at most five steps, an OPTIMAL answer equals the brute-force optimum of
`tests/brute.py` (which is never beaten and never below the bound).
Every test runs on one fixed hypothesis seed and seeded solver calls, so the suite is
repeatable, and the tests draw the same examples (each problem is solved once).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from brute import Key, brute_force, count_free_ops

from solver.compiled import Compiled, compile_problem, default_horizon
from solver.dispatch import DispatchFailed, HorizonTooShort, best_dispatch
from solver.problem import Problem, ProblemError, eligible, load_problem
from solver.schedule import Status, build_schedule
from solver.search.context import Context
from solver.search.lns import Lns, RelaxedLns
from solver.search.sequence import Sequence, _Decoder
from solver.solution import Assignment, Scorer, score
from solver.solve import SolveParams, solve
from solver.validate import validate

ZONES = [
    "UTC", "America/Chicago", "Europe/Berlin", "Asia/Kolkata", "America/Phoenix",
    "Australia/Adelaide", "Asia/Kathmandu", "America/St_Johns",
]
# US and EU fall-back, US and EU spring-forward, Adelaide's DST end, plain December
STARTS = [
    "2026-12-01T00:00:00Z", "2026-10-31T18:00:00Z", "2026-10-24T20:00:00Z",
    "2026-03-07T12:00:00Z", "2026-03-28T06:00:00Z", "2026-04-04T10:30:00Z",
]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
KINDS = ["k1", "k2"]
DESTS = ["d1", "d2"]
TIME_LIMIT = 3.0
MAX_BRUTE = 5  # free steps brute force enumerates (all interleavings x modes)
SEED = 20261201  # one fixed seed: every test draws the same examples (solves are memoised)

PROFILE = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _iso(t0: str, minutes: int) -> str:
    t = datetime.fromisoformat(t0) + timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


@st.composite
def problems(draw: st.DrawFn, max_ops: int = 16, min_orders: int = 1) -> dict[str, Any]:
    """A random small problem as JSON-like data (checked later by `load_problem`)."""
    t0 = draw(st.sampled_from(STARTS))
    n_sites = draw(st.integers(1, 2))
    sites: list[dict[str, Any]] = []
    for i in range(n_sites):
        site: dict[str, Any] = {
            "id": f"S{i}",
            "timezone": draw(st.sampled_from(ZONES)),
            "transit_min": {d: draw(st.integers(0, 40)) * 30 for d in DESTS},
        }
        if draw(st.booleans()):
            shifts = []
            for _ in range(draw(st.integers(1, 2))):
                start = draw(st.integers(0, 47)) * 30
                length = draw(st.integers(8, 24)) * 30  # 4 to 12 hours
                days = draw(st.lists(st.sampled_from(DAYS), min_size=3, max_size=7,
                                     unique=True))
                end = _hhmm(start + length)
                if end == "00:00" and draw(st.booleans()):
                    end = "24:00"  # the same midnight, written the other way
                shifts.append({"days": days, "start": _hhmm(start), "end": end})
            site["shifts"] = shifts
        if draw(st.integers(0, 3)) == 0:
            day = datetime.fromisoformat(t0).date() + timedelta(days=draw(st.integers(0, 6)))
            site["holidays"] = [day.isoformat()]
        sites.append(site)

    resources: list[dict[str, Any]] = []
    for kind in KINDS:
        for k in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
            res: dict[str, Any] = {
                "id": f"{kind}-{k}",
                "site": "S0" if k == 0 else f"S{draw(st.integers(0, n_sites - 1))}",
                "kind": kind,
                "capacity": draw(st.integers(1, 2)),
            }
            if draw(st.booleans()):
                res["calendar"] = "24x7"
            if draw(st.integers(0, 3)) == 0:
                a = draw(st.integers(0, 96)) * 30
                res["downtime"] = [{"start": _iso(t0, a),
                                    "end": _iso(t0, a + draw(st.integers(1, 20)) * 30)}]
            if k > 0 and draw(st.integers(0, 4)) == 0:
                res["products"] = ["P0"]
            resources.append(res)
    res_ids = [r["id"] for r in resources]

    products: list[dict[str, Any]] = []
    for pi in range(draw(st.integers(1, 2))):
        routing = []
        for j in range(draw(st.integers(1, 3))):
            step: dict[str, Any] = {"op": f"s{j}"}
            if draw(st.integers(0, 2)) == 0:
                picks = draw(st.lists(st.sampled_from(res_ids), min_size=1, max_size=3,
                                      unique=True))
                step["alternatives"] = [
                    {"resource": r, "duration_min": draw(st.integers(1, 48)) * 5}
                    for r in picks
                ]
            else:
                step["kind"] = draw(st.sampled_from(KINDS))
                step["duration_min"] = draw(st.integers(1, 48)) * 5
            if draw(st.booleans()):
                step["power_kw"] = draw(st.integers(1, 10)) * 10
            routing.append(step)
        products.append({"id": f"P{pi}", "routing": routing})
    top = max((s.get("power_kw", 0) for p in products for s in p["routing"]), default=0)
    for site in sites:
        if top and draw(st.booleans()):
            site["power_cap_kw"] = top + draw(st.integers(0, 10)) * 10

    orders: list[dict[str, Any]] = []
    ops = 0
    for oi in range(draw(st.integers(min_orders, 4))):
        prod = draw(st.sampled_from(products))
        qty = draw(st.integers(1, 2))
        if ops + qty * len(prod["routing"]) > max_ops:
            qty = 1
            if ops + len(prod["routing"]) > max_ops:
                break
        ops += qty * len(prod["routing"])
        o: dict[str, Any] = {
            "id": f"O{oi}", "product": prod["id"], "quantity": qty,
            "due": _iso(t0, draw(st.integers(0, 48)) * 30),
            "weight": draw(st.sampled_from([1, 1, 2, 3, 0.5, 2.5])),
        }
        if draw(st.booleans()):
            o["release"] = _iso(t0, draw(st.integers(0, 24)) * 30)
        if draw(st.booleans()):
            o["destination"] = draw(st.sampled_from(DESTS))
        runnable = _runnable_sites(prod, resources, sites)
        if n_sites > 1 and len(runnable) > 1 and draw(st.integers(0, 2)) == 0:
            o["allowed_sites"] = [draw(st.sampled_from(runnable))]
        orders.append(o)
    return {
        "name": "hypothesis",
        "horizon_start": t0,
        "sites": sites,
        "resources": resources,
        "products": products,
        "orders": orders,
        "objective": draw(st.sampled_from(["tardiness", "makespan"])),
    }


@st.composite
def with_fixed(draw: st.DrawFn, max_ops: int = 5) -> dict[str, Any]:
    """A tiny problem plus one or two fixed steps (eligible resource, allowed site)."""
    data = draw(problems(max_ops=max_ops, min_orders=2))
    try:
        p = load_problem(data)
    except ProblemError:
        return data
    fixed: list[dict[str, Any]] = []
    unit_site: dict[tuple[str, int], str] = {}
    for _ in range(draw(st.integers(1, 2))):
        o = draw(st.sampled_from(p.orders))
        u = draw(st.integers(1, o.quantity))
        prod = p.product(o.product)
        step = draw(st.sampled_from(prod.routing))
        allowed = o.allowed_sites or [x.id for x in p.sites]
        choices = [r for r, _ in eligible(p, prod, step)
                   if r.site in allowed and unit_site.get((o.id, u), r.site) == r.site]
        if not choices or any((f["order"], f["unit"], f["op"]) == (o.id, u, step.op)
                              for f in fixed):
            continue
        r = draw(st.sampled_from(choices))
        unit_site[o.id, u] = r.site
        a = draw(st.integers(-4, 48)) * 30
        fixed.append({"order": o.id, "unit": u, "op": step.op, "resource": r.id,
                      "start": _iso(data["horizon_start"], a),
                      "end": _iso(data["horizon_start"], a + draw(st.integers(1, 48)) * 5)})
    return {**data, "fixed": fixed}


def _runnable_sites(
    product: dict[str, Any], resources: list[dict[str, Any]], sites: list[dict[str, Any]]
) -> list[str]:
    """Sites with a qualified resource for every step of the product (power aside)."""
    def ok(res: dict[str, Any], site: str) -> bool:
        return res["site"] == site and product["id"] in res.get("products", [product["id"]])

    out = []
    for site in (s["id"] for s in sites):
        if all(
            any(ok(r, site) for r in resources if r["id"] in
                {a["resource"] for a in step["alternatives"]})
            if "alternatives" in step
            else any(ok(r, site) for r in resources if r["kind"] == step["kind"])
            for step in product["routing"]
        ):
            out.append(site)
    return out


def checked(data: dict[str, Any]) -> Problem:
    """The problem, or reject the example when it is not a valid one."""
    try:
        p = load_problem(data)
        compile_problem(p)
    except ProblemError:
        assume(False)
        raise
    return p


@cache
def _solved(text: str, time_limit: float) -> str:
    p = load_problem(text)
    return json.dumps(solve(p, SolveParams(time_limit=time_limit, workers=2, seed=3)))


def solved(p: Problem, time_limit: float = TIME_LIMIT) -> dict[str, Any]:
    """`solve` on the problem, memoised: the tests share the examples they draw."""
    out: dict[str, Any] = json.loads(_solved(p.model_dump_json(), time_limit))
    return out


def dispatched(p: Problem) -> tuple[Compiled, dict[str, Any]]:
    """The best_dispatch schedule, on the horizon solve would grow to."""
    horizon = default_horizon(p)
    for _ in range(5):
        c = compile_problem(p, horizon)
        try:
            a = best_dispatch(c, seed=3)
        except HorizonTooShort:
            horizon *= 2
            continue
        return c, build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0,
                                 solve_seconds=0.0, source="dispatch")
    raise AssertionError("dispatch found no horizon")


def _figures(p: Problem, s: dict[str, Any]) -> Key:
    """(primary, secondary) of a schedule, as brute force keys them."""
    wt = Fraction(str(s["kpis"]["total_weighted_tardiness_min"]))
    mk = int(s["kpis"]["makespan_min"])
    if p.objective == "makespan":
        return (Fraction(mk), int(wt * 1_000_000))
    return (wt, mk)


# ---- properties on small problems ----------------------------------------------------------


@PROFILE
@seed(SEED)
@given(problems())
def test_solve_schedules_pass_the_validator(data: dict[str, Any]) -> None:
    """Every schedule solve returns is a schedule (not UNKNOWN) that passes the validator."""
    p = checked(data)
    s = solved(p)
    assert s["status"] in ("OPTIMAL", "FEASIBLE"), s.get("reasons")
    assert validate(p, s) == []
    assert not any("failed validation" in n for n in s["notes"]), s["notes"]


@PROFILE
@seed(SEED)
@given(problems())
def test_dispatch_schedules_pass_the_validator(data: dict[str, Any]) -> None:
    """The dispatch heuristic's schedule passes the validator."""
    p = checked(data)
    _, s = dispatched(p)
    assert validate(p, s) == []


@PROFILE
@seed(SEED)
@given(problems())
def test_solver_never_worse_than_dispatch(data: dict[str, Any]) -> None:
    """solve's objective is never worse than best_dispatch's on the same problem."""
    p = checked(data)
    _, d = dispatched(p)
    s = solved(p)
    assert s["objective_value"] <= d["objective_value"] + 1e-9
    assert _figures(p, s) <= _figures(p, d)


@PROFILE
@seed(SEED)
@given(problems())
def test_lower_bound_at_most_objective(data: dict[str, Any]) -> None:
    """lower_bound <= objective_value, and gap = (value - bound) / value."""
    p = checked(data)
    s = solved(p)
    assert s["lower_bound"] <= s["objective_value"] + 1e-9
    v = s["objective_value"]
    assert s["gap"] == pytest.approx((v - s["lower_bound"]) / v if v else 0.0, abs=1e-6)


@PROFILE
@seed(SEED)
@given(problems())
def test_tiny_time_limit_still_gives_a_valid_schedule(data: dict[str, Any]) -> None:
    """With a limit so short only the heuristic answers, the schedule still validates."""
    p = checked(data)
    s = solve(p, SolveParams(time_limit=0.01, workers=2, seed=3))
    assert s["status"] in ("OPTIMAL", "FEASIBLE"), s.get("reasons")
    assert s["source"] == "dispatch"
    assert validate(p, s) == []
    _, d = dispatched(p)
    assert s["objective_value"] == pytest.approx(d["objective_value"], abs=1e-6)


def _valid_start(p: Problem) -> tuple[Compiled, Assignment]:
    """The compiled problem and the best dispatch, a start for the searches (the example
    is skipped when dispatch gives none or an invalid one: fixed steps against routing
    order pass through dispatch unnoticed, a known bug, see
    test_solve.py::test_fixed_steps_out_of_routing_order_are_infeasible)."""
    try:
        c, d = dispatched(p)
        start = best_dispatch(c, seed=3)
    except DispatchFailed:
        assume(False)
        raise
    assume(validate(p, d) == [])
    return c, start


@settings(PROFILE, max_examples=20)
@seed(SEED)
@given(st.one_of(problems(max_ops=10), with_fixed(max_ops=8)), st.sampled_from(["lns", "relaxed"]))
def test_lns_keeps_every_rule_and_never_worsens(data: dict[str, Any], kind: str) -> None:
    """Both LNS variants, started from the dispatch, return valid schedules no worse."""
    p = checked(data)
    c, start = _valid_start(p)
    phase = Lns(0.2) if kind == "lns" else RelaxedLns(0.2)
    a = phase.run(Context(c, workers=2, seed=3), start, 0.5)
    assert score(c, a) <= score(c, start)
    s = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source=kind)
    assert validate(p, s) == []


@settings(PROFILE, max_examples=20)
@seed(SEED)
@given(st.one_of(problems(max_ops=10), with_fixed(max_ops=8)))
def test_sequence_search_keeps_every_rule_and_never_worsens(data: dict[str, Any]) -> None:
    """The order-sequence search, started from the dispatch, returns a valid schedule no
    worse (every sequence it tries decodes through dispatch, kept prefix included)."""
    p = checked(data)
    c, start = _valid_start(p)
    a = Sequence(max_steps=40).run(Context(c, seed=3), start, 5.0)
    assert score(c, a) <= score(c, start)
    s = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="sequence")
    assert validate(p, s) == []


@settings(PROFILE, max_examples=30)
@seed(SEED)
@given(st.one_of(problems(max_ops=12, min_orders=2), with_fixed(max_ops=8)), st.randoms())
def test_a_decode_from_saved_states_is_the_whole_decode(data: dict[str, Any], rng: Any) -> None:
    """The sequence decoder goes on from the states of the last committed sequence: after
    any run of moves, each decode gives the schedule a fresh decoder gives (or fails as
    it does)."""
    p = checked(data)
    c, _ = _valid_start(p)
    dec = _Decoder(Scorer(c))
    dec.every = 1  # a state at every place: the most resumes
    seq = dec.movable[:]
    rng.shuffle(seq)
    fresh = _Decoder(Scorer(c))
    try:
        base = dec.decode(seq)
    except (HorizonTooShort, DispatchFailed):
        assume(False)
        raise
    dec.commit()
    for _ in range(6):
        i, j = rng.randrange(len(seq)), rng.randrange(len(seq))
        moved = seq[:]
        moved.insert(j, moved.pop(i))
        try:
            want = fresh.decode(moved)
        except (HorizonTooShort, DispatchFailed) as exc:
            with pytest.raises(type(exc)):
                dec.decode(moved, base, min(i, j))
            continue
        got = dec.decode(moved, base, min(i, j))
        assert (got.res, got.start, got.end) == (want.res, want.start, want.end)
        if rng.random() < 0.5:  # the move is taken: its states become the current ones
            dec.commit()
            seq, base = moved, got


# ---- exactness on problems brute force can enumerate ---------------------------------------


@PROFILE
@seed(SEED)
@given(problems(max_ops=5, min_orders=2))
def test_optimal_equals_brute_force(data: dict[str, Any]) -> None:
    """OPTIMAL equals the brute-force optimum, which solve never beats nor the bound exceeds."""
    p = checked(data)
    assume(count_free_ops(p) <= MAX_BRUTE)
    s = solved(p)
    assert validate(p, s) == []
    best = brute_force(p)
    assert best is not None
    got = _figures(p, s)
    assert best[0] <= got[0] + 1e-9, "solve beat the brute-force optimum"
    assert s["lower_bound"] <= float(best[0]) + 1e-6, "lower_bound above the optimum"
    if s["status"] == "OPTIMAL":
        assert float(got[0]) == pytest.approx(float(best[0]), abs=1e-6)
        if p.objective == "tardiness":
            assert got[1] == best[1], "tardiness ties are broken by the least makespan"


@PROFILE
@seed(SEED)
@given(with_fixed())
def test_fixed_steps_solvable_problems_are_solved_exactly(data: dict[str, Any]) -> None:
    """With fixed steps, whenever brute force finds a schedule so does solve, kept exactly."""
    p = checked(data)
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assume(best is not None)
    assert best is not None
    s = solved(p)
    assert s["status"] in ("OPTIMAL", "FEASIBLE"), s.get("reasons")
    assert validate(p, s) == []
    got = _figures(p, s)
    assert best[0] <= got[0] + 1e-9, "solve beat the brute-force optimum"
    assert s["lower_bound"] <= float(best[0]) + 1e-6, "lower_bound above the optimum"
    if s["status"] == "OPTIMAL":
        assert float(got[0]) == pytest.approx(float(best[0]), abs=1e-6)


@settings(PROFILE)
@seed(SEED)
@given(with_fixed())
def test_fixed_steps_unsolvable_problems_are_infeasible(data: dict[str, Any]) -> None:
    """With fixed steps, when brute force finds no schedule, solve says INFEASIBLE."""
    p = checked(data)
    assume(count_free_ops(p) <= MAX_BRUTE)
    assume(brute_force(p) is None)
    s = solved(p)
    assert validate(p, s) == []
    assert s["status"] == "INFEASIBLE", s.get("reasons")


# ---- SPEC section 6: power windows and spread-risk quotas -----------------------------------


@st.composite
def with_section6(draw: st.DrawFn, max_ops: int = 10) -> dict[str, Any]:
    """A random problem plus power windows on its sites (caps below and above the site's,
    some sites capped by windows alone) and customers with spread-risk quotas."""
    data = draw(problems(max_ops=max_ops, min_orders=2))
    t0 = data["horizon_start"]
    top = max((s.get("power_kw", 0) for p in data["products"] for s in p["routing"]),
              default=0)
    for site in data["sites"]:
        if not top or draw(st.booleans()):
            continue
        if draw(st.integers(0, 3)) == 0:
            site.pop("power_cap_kw", None)
        windows, t = [], 0
        for _ in range(draw(st.integers(1, 2))):
            t += draw(st.integers(0, 24)) * 30
            length = draw(st.integers(1, 24)) * 30
            windows.append({"start": _iso(t0, t), "end": _iso(t0, t + length),
                            "power_cap_kw": max(10, top + draw(st.integers(-6, 4)) * 10)})
            t += length
        site["power_windows"] = windows
    for o in data["orders"]:
        if draw(st.integers(0, 3)):
            o["customer"] = draw(st.sampled_from(["c1", "c2"]))
    data["policies"] = {"max_site_share": draw(st.sampled_from([0.5, 0.6, 1.0]))}
    if draw(st.booleans()):
        data["policies"]["customers"] = {"c1": {"max_site_share": draw(
            st.sampled_from([0.34, 0.5, 0.75]))}}
    return data


@settings(PROFILE, max_examples=20)
@seed(SEED)
@given(with_section6())
def test_section6_schedules_pass_the_validator(data: dict[str, Any]) -> None:
    """With power windows and quotas, dispatch's and solve's schedules pass the validator
    (rules 8 and 10 included), and solve is no worse than dispatch."""
    p = checked(data)
    _, d = dispatched(p)
    assert validate(p, d) == []
    s = solved(p)
    assert s["status"] in ("OPTIMAL", "FEASIBLE"), s.get("reasons")
    assert validate(p, s) == []
    assert not any("failed validation" in n for n in s["notes"]), s["notes"]
    assert _figures(p, s) <= _figures(p, d)


@settings(PROFILE, max_examples=15)
@seed(SEED)
@given(with_section6(), st.sampled_from(["lns", "relaxed", "sequence"]))
def test_section6_searches_keep_every_rule(data: dict[str, Any], kind: str) -> None:
    """LNS, relaxed LNS and the order-sequence search keep the windows and quotas."""
    p = checked(data)
    c, start = _valid_start(p)
    phase = {"lns": Lns(0.2), "relaxed": RelaxedLns(0.2),
             "sequence": Sequence(max_steps=30)}[kind]
    a = phase.run(Context(c, workers=2, seed=3), start, 0.5)
    assert score(c, a) <= score(c, start)
    s = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source=kind)
    assert validate(p, s) == []


@settings(PROFILE, max_examples=20)
@seed(SEED)
@given(with_section6(max_ops=5))
def test_section6_optimal_equals_brute_force(data: dict[str, Any]) -> None:
    """With power windows and quotas, OPTIMAL equals the brute-force optimum, which solve
    never beats nor the bound exceeds."""
    p = checked(data)
    assume(count_free_ops(p) <= MAX_BRUTE)
    best = brute_force(p)
    assume(best is not None)
    assert best is not None
    s = solved(p)
    assert validate(p, s) == []
    got = _figures(p, s)
    assert best[0] <= got[0] + 1e-9, "solve beat the brute-force optimum"
    assert s["lower_bound"] <= float(best[0]) + 1e-6, "lower_bound above the optimum"
    if s["status"] == "OPTIMAL":
        assert float(got[0]) == pytest.approx(float(best[0]), abs=1e-6)
