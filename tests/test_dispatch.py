"""Tests of `solver.dispatch`: the heuristic alone must already give valid schedules.

The dispatch schedule is CP-SAT's hint and the answer of last resort, so every rule of
SPEC section 2 has to hold for it on the sample, on generated multi-site instances (shift
calendars across DST, holidays, downtime, power caps, alternatives, capacities > 1) and
with fixed steps. Each check goes through the independent validator.
"""

from __future__ import annotations

import json
import random
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.instances import generate  # noqa: E402
from solver.compiled import compile_problem  # noqa: E402
from solver.dispatch import (  # noqa: E402
    Cutoff,
    DispatchFailed,
    HorizonTooShort,
    best_dispatch,
    dispatch,
    rule_keys,
)
from solver.problem import Problem, load_problem  # noqa: E402
from solver.schedule import Status, build_schedule  # noqa: E402
from solver.solution import Assignment, score  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

SAMPLE = ROOT / "app" / "sample" / "sample.json"
SEEDS = (1, 2, 3)
RULES = ("edd", "slack", "mwkr", "random")


@cache
def instance(name: str) -> Problem:
    """The sample, or a generated 150-rack instance named 'gen-SEED'."""
    if name == "sample":
        return load_problem(SAMPLE)
    return load_problem(generate(150, int(name.removeprefix("gen-"))))


def schedule_of(problem: Problem, a: Assignment) -> dict[str, Any]:
    c = compile_problem(problem)
    return build_schedule(
        c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0, source="dispatch"
    )


NAMES = ["sample", *(f"gen-{s}" for s in SEEDS)]


@pytest.mark.parametrize("name", NAMES)
def test_best_dispatch_is_valid(name: str) -> None:
    """best_dispatch on the sample and generated instances passes the validator."""
    p = instance(name)
    c = compile_problem(p)
    a = best_dispatch(c, seed=0, tries=2)
    assert all(r >= 0 for r in a.res)
    assert validate(p, schedule_of(p, a)) == []


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("name", ["sample", "gen-1"])
def test_each_priority_rule_is_valid(name: str, rule: str) -> None:
    """Every priority rule (edd, slack, mwkr, random) alone gives a valid schedule."""
    p = instance(name)
    c = compile_problem(p)
    a = dispatch(c, rule_keys(c, rule, random.Random(7)))
    assert validate(p, schedule_of(p, a)) == []


def test_best_dispatch_is_the_best_of_its_rules() -> None:
    """best_dispatch scores no worse than each of the rules it tries."""
    c = compile_problem(instance("gen-2"))
    best = score(c, best_dispatch(c))
    for rule in ("edd", "slack", "mwkr"):
        assert best <= score(c, dispatch(c, rule_keys(c, rule)))


def test_dispatch_is_deterministic() -> None:
    """The same problem and rule give the same assignment twice."""
    c = compile_problem(instance("gen-3"))
    a, b = dispatch(c), dispatch(c)
    assert (a.res, a.start, a.end) == (b.res, b.start, b.end)


def test_cutoff_stops_a_pass_worse_than_it_and_changes_nothing_else() -> None:
    """A cutoff below the schedule's weighted tardiness raises Cutoff; at or above it the
    pass gives the very same schedule as without one."""
    c = compile_problem(instance("gen-1"))
    a = dispatch(c)
    wt = score(c, a)[0]
    assert wt > 0  # the instance has late orders, so the cutoff is put to work
    with pytest.raises(Cutoff):
        dispatch(c, cutoff=wt - 1)
    for cut in (wt, wt + 1):
        b = dispatch(c, cutoff=cut)
        assert (a.res, a.start, a.end) == (b.res, b.start, b.end)


def _freeze(problem: Problem, donor: dict[str, Any], units: set[tuple[str, int]],
            first_only: set[tuple[str, int]]) -> Problem:
    """The problem with the donor schedule's items of `units` as fixed steps."""
    fixed = []
    seen_first: set[tuple[str, int]] = set()
    for it in donor["items"]:
        key = (it["order"], it["unit"])
        if key in first_only:
            if key in seen_first:
                continue
            seen_first.add(key)
        elif key not in units:
            continue
        fixed.append({"order": it["order"], "unit": it["unit"], "op": it["op"],
                      "resource": it["group"], "start": it["start"], "end": it["end"]})
    data = json.loads(problem.model_dump_json())
    data["fixed"] = fixed
    return load_problem(data)


@pytest.mark.parametrize("seed", SEEDS)
def test_dispatch_keeps_fixed_steps(seed: int) -> None:
    """Steps frozen from another rule's schedule are kept exactly; the rest stay valid."""
    p = instance(f"gen-{seed}")
    c = compile_problem(p)
    donor = schedule_of(p, dispatch(c, rule_keys(c, "random", random.Random(seed))))
    keys = sorted({(it["order"], it["unit"]) for it in donor["items"]})
    rng = random.Random(seed)
    whole = set(rng.sample(keys, 15))
    first = set(rng.sample([k for k in keys if k not in whole], 15))
    q = _freeze(p, donor, whole, first)
    assert len(q.fixed) > 30
    cq = compile_problem(q)
    a = dispatch(cq)
    s = schedule_of(q, a)
    assert validate(q, s) == []
    by_id = {i["id"]: i for i in s["items"]}
    for f in q.fixed:
        got = by_id[f"{f.order}/{f.unit}/{f.op}"]
        assert (got["group"], got["start"], got["end"]) == (
            f.resource, f.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            f.end.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _line_problem(**fields: Any) -> Problem:
    data: dict[str, Any] = {
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "S"}],
        "resources": [{"id": "L", "site": "S", "kind": "line"},
                      {"id": "T", "site": "S", "kind": "test"}],
        "products": [{"id": "P", "routing": [
            {"op": "a", "kind": "line", "duration_min": 60},
            {"op": "b", "kind": "test", "duration_min": 60},
            {"op": "c", "kind": "line", "duration_min": 60}]}],
        "orders": [{"id": "A", "product": "P", "quantity": 3, "due": "2026-12-01T00:00:00Z"}],
    }
    data.update(fields)
    return load_problem(data)


def test_fixed_middle_step_is_kept_and_work_fits_around_it() -> None:
    """A fixed middle step (A/2/b at 300-360 on T) stays; its neighbours respect it."""
    p = _line_problem(fixed=[{"order": "A", "unit": 2, "op": "b", "resource": "T",
                              "start": "2026-12-01T05:00:00Z", "end": "2026-12-01T06:00:00Z"}])
    c = compile_problem(p)
    a = dispatch(c)
    s = schedule_of(p, a)
    assert validate(p, s) == []
    it = {i["id"]: i for i in s["items"]}
    assert (it["A/2/b"]["start_min"], it["A/2/b"]["end_min"]) == (300, 360)
    assert it["A/2/a"]["end_min"] <= 300
    assert it["A/2/c"]["start_min"] >= 360


def test_fixed_steps_overlapping_beyond_capacity_fail() -> None:
    """Fixed steps overlapping on a capacity-1 resource raise DispatchFailed naming it."""
    p = _line_problem(fixed=[
        {"order": "A", "unit": 1, "op": "a", "resource": "L",
         "start": "2026-12-01T00:00:00Z", "end": "2026-12-01T01:00:00Z"},
        {"order": "A", "unit": 2, "op": "a", "resource": "L",
         "start": "2026-12-01T00:30:00Z", "end": "2026-12-01T01:30:00Z"},
    ])
    with pytest.raises(DispatchFailed) as err:
        dispatch(compile_problem(p))
    assert any("'L'" in r for r in err.value.reasons)


def test_fixed_steps_within_capacity_two_are_accepted() -> None:
    """Fixed 0-10, 20-30, 12-22, 5-15 on a capacity-2 line never overlap 3-deep: accepted."""
    def fx(o: str, a: int, b: int) -> dict[str, Any]:
        return {"order": o, "unit": 1, "op": "x", "resource": "L",
                "start": f"2026-12-01T00:{a:02d}:00Z", "end": f"2026-12-01T00:{b:02d}:00Z"}

    p = load_problem({
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "S"}],
        "resources": [{"id": "L", "site": "S", "kind": "line", "capacity": 2}],
        "products": [{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 10}]}],
        "orders": [{"id": k, "product": "P", "quantity": 1, "due": "2026-12-02T00:00:00Z"}
                   for k in "ABCD"],
        "fixed": [fx("A", 0, 10), fx("B", 20, 30), fx("C", 12, 22), fx("D", 5, 15)],
    })
    a = dispatch(compile_problem(p))
    assert validate(p, schedule_of(p, a)) == []


def _long_problem(quantity: int) -> Problem:
    """`quantity` two-day steps on one 24x7 line, all due at the start."""
    return load_problem({
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "S"}],
        "resources": [{"id": "L", "site": "S", "kind": "line", "calendar": "24x7"}],
        "products": [{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 2880}]}],
        "orders": [{"id": "A", "product": "P", "quantity": quantity,
                    "due": "2026-12-01T00:00:00Z"}],
    })


def test_horizon_too_short_is_grown_by_solve() -> None:
    """40 days of work past a 28-day horizon: dispatch raises, solve grows it and solves."""
    p = _long_problem(20)
    with pytest.raises(HorizonTooShort):
        dispatch(compile_problem(p))
    s = solve(p, SolveParams(time_limit=5, workers=2, seed=0))
    assert validate(p, s) == []
    assert s["status"] == "OPTIMAL"
    assert s["objective_value"] == 20 * 2880
    assert s["kpis"]["makespan_min"] == 20 * 2880


def test_horizon_growth_gives_up_with_unknown() -> None:
    """500 days of work on one line exceeds every grown horizon: UNKNOWN with a reason."""
    p = _long_problem(250)
    s = solve(p, SolveParams(time_limit=5, workers=2, seed=0))
    assert s["status"] == "UNKNOWN"
    assert s["items"] == []
    assert s["reasons"]
    assert validate(p, s) == []


def test_horizon_growth_reason_names_a_horizon_that_was_tried() -> None:
    """The UNKNOWN reason's 'within N days' is a horizon that truly failed (N < 500 here)."""
    s = solve(_long_problem(250), SolveParams(time_limit=5, workers=2, seed=0))
    days = [int(m) for r in s["reasons"] for m in re.findall(r"within (\d+) days", r)]
    assert days
    assert all(d < 500 for d in days), s["reasons"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_site_trials_cut_by_the_rest_of_the_routing_change_nothing(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site trial stops a step's search once the rest of the routing (at its least
    durations) could no longer deliver by the best site's time. That only saves work:
    with the rest taken as 0 (the cut at the delivery alone), every rule gives the very
    same schedule on a generated four-site instance."""
    p = load_problem(generate(150, seed, steps=4))
    c = compile_problem(p)
    keys = {rule: rule_keys(c, rule, random.Random(seed)) for rule in RULES}
    with_rest = {rule: dispatch(c, k) for rule, k in keys.items()}
    monkeypatch.setattr(type(c), "route_rest", lambda self, u, site: [0] * len(self.unit_ops[u]))
    for rule, k in keys.items():
        a, b = with_rest[rule], dispatch(c, k)
        assert (a.res, a.start, a.end) == (b.res, b.start, b.end), rule



@pytest.mark.parametrize("seed", SEEDS)
def test_site_trials_kept_for_the_next_racks_of_an_order_change_nothing(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass keeps each site's trial for the next rack of the same route class and ready
    time until something is placed at that site. That only saves work: with every rack
    in a class of its own (no trial kept), every rule gives the very same schedule, and
    so does a sequence decode that keeps the first orders of a schedule in place."""
    from solver.search.sequence import _Decoder, order_sequence
    from solver.solution import Scorer

    p = load_problem(generate(150, seed, steps=4))
    c = compile_problem(p)
    assert len(set(c.route_classes())) < len(c.unit_ops)  # racks do share classes here
    keys = {rule: rule_keys(c, rule, random.Random(seed)) for rule in RULES}
    kept = {rule: dispatch(c, k) for rule, k in keys.items()}
    dec = _Decoder(Scorer(c))
    base = kept["edd"]
    seq = order_sequence(c, base, dec.movable)
    seq.insert(2, seq.pop(len(seq) // 2))
    decoded = dec.decode(seq, base, 2)
    monkeypatch.setattr(type(c), "route_classes", lambda self: list(range(len(self.unit_ops))))
    for rule, k in keys.items():
        a, b = kept[rule], dispatch(c, k)
        assert (a.res, a.start, a.end) == (b.res, b.start, b.end), rule
    b = dec.decode(seq, base, 2)
    assert (decoded.res, decoded.start, decoded.end) == (b.res, b.start, b.end)
