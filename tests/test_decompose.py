"""Decomposition by site (`solver.decompose`): small instances, fixed seeds, short limits.

Every decomposed answer must be a valid schedule of the original problem: every unit
scheduled once with the original order ids and unit numbers, the fixed steps where they
were, the validator silent; its solve log shows the phases.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench.instances import generate
from solver import decompose as dec
from solver.cli import main
from solver.planning import Allocation, SitePlan, allocate
from solver.problem import Problem, load_problem
from solver.solve import SolveParams, solve
from solver.tuning import Tuning
from solver.validate import validate


def _problem(racks: int = 30, seed: int = 0, fixed: bool = True) -> Problem:
    """A generated 3-site instance; with `fixed`, the first step of one rack fixed where
    the dispatch schedule put it."""
    p = load_problem(generate(racks, seed, steps=4, n_sites=3))
    if not fixed:
        return p
    first = solve(p, SolveParams(time_limit=1, workers=1, seed=0, decompose=False))
    item = next(i for i in first["items"] if i["unit"] == 2 and i["depends_on"] == [])
    data = p.model_dump(mode="json")
    data["fixed"] = [{k: item[k] for k in ("order", "unit", "op", "start", "end")}
                     | {"resource": item["group"]}]
    return load_problem(data)


def _check(p: Problem, schedule: dict[str, Any]) -> None:
    """Valid, every step of every unit once under its original ids, fixed steps kept."""
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE"), schedule.get("reasons")
    assert validate(p, schedule) == []
    got = Counter((i["order"], i["unit"], i["op"]) for i in schedule["items"])
    want = Counter(
        (o.id, u, st.op) for o in p.orders for u in range(1, o.quantity + 1)
        for st in p.product(o.product).routing
    )
    assert got == want
    at = {(i["order"], i["unit"], i["op"]): i for i in schedule["items"]}
    for f in p.fixed:
        item = at[(f.order, f.unit, f.op)]
        assert item["group"] == f.resource
        assert item["start"] == f.start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _phases(schedule: dict[str, Any]) -> list[str]:
    return [e["phase"] for e in schedule["solve_log"]]


def test_decomposed_schedule_is_valid_and_keeps_ids_and_fixed_steps() -> None:
    p = _problem()
    out = solve(p, SolveParams(time_limit=6, workers=1, seed=3, decompose=True))
    _check(p, out)
    assert out["source"] == "decompose"
    phases = _phases(out)
    assert phases[:3] == [dec.ALLOCATE, dec.DISPATCH, dec.CHECK]
    k = phases.index(dec.JOIN)
    assert k >= 5, phases  # the allocation used several sites
    assert all(x.startswith("site ") for x in phases[3:k])
    assert all(x.startswith(("repair ", dec.POLISH)) for x in phases[k + 1:])
    for e in out["solve_log"]:
        assert set(e) >= {"phase", "seconds", "objective", "bound"}
        assert e["seconds"] >= 0
    # the joined figure is the original problem's: split orders count their latest rack
    assert out["objective_value"] == out["kpis"]["total_weighted_tardiness_min"]
    assert out["solve_log"][-1]["objective"] == out["objective_value"]


def test_parts_in_child_processes_join_the_same_way() -> None:
    """With two workers and time enough the parts run in child processes."""
    p = _problem(fixed=False)
    tuning = Tuning(decompose_process_min_seconds=0.5)
    out = solve(p, SolveParams(time_limit=12, workers=2, seed=1, decompose=True,
                               tuning=tuning))
    _check(p, out)
    assert any(x.startswith("site ") for x in _phases(out))


def _heavy(p: Problem) -> Allocation:
    """All racks at the first site, promised in the first week."""
    first = p.sites[0].id
    heavy = Allocation("feasible", 0.0, 0.0, None, {
        o.id: [SitePlan(first, o.quantity, [(p.horizon_start.strftime(
            "%Y-%m-%dT%H:%M:%SZ"), o.quantity)])]
        for o in p.orders if o.allowed_sites is None or first in o.allowed_sites
    })
    assert all(o.id in heavy.orders for o in p.orders)
    return heavy


def test_a_site_heavy_allocation_is_repaired(monkeypatch: pytest.MonkeyPatch) -> None:
    """All racks at one site (an allocation that promises what the site cannot keep),
    with no dispatch schedule to check it against: the repair moves racks to the other
    sites and the repaired join is better."""
    p = _problem(40, 0, fixed=False)
    monkeypatch.setattr(dec._Run, "dispatched", lambda self: None)
    params = SolveParams(time_limit=8, workers=1, seed=0, decompose=True,
                         tuning=Tuning(decompose_repair_share=0.5))
    out = dec.decompose(p, params, solve, allocation=_heavy(p))
    _check(p, out)
    log = {e["phase"]: e for e in out["solve_log"]}
    assert "repair 1" in log, _phases(out)
    assert log["repair 1"]["kept"] is True
    assert log["repair 1"]["objective"] < log[dec.JOIN]["objective"]
    assert len({s for o in out["orders"] for s in o["sites"]}) > 1


def test_an_allocation_worse_than_the_dispatch_gives_way_to_its_sites() -> None:
    """The site-heavy allocation, dispatched site by site, is later than the dispatch
    schedule of the whole problem: the parts are the dispatch schedule's sites."""
    p = _problem(40, 0, fixed=False)
    out = dec.decompose(p, SolveParams(time_limit=5, workers=1, seed=0), solve,
                        allocation=_heavy(p))
    _check(p, out)
    log = {e["phase"]: e for e in out["solve_log"]}
    assert log[dec.CHECK]["kept"] is False
    assert log[dec.CHECK]["objective"] > log[dec.DISPATCH]["objective"]
    assert any("dispatch schedule of the whole problem" in n for n in out["notes"])
    assert len([x for x in log if x.startswith("site ")]) > 1
    assert out["objective_value"] <= log[dec.DISPATCH]["objective"]


def test_without_an_allocation_the_dispatch_schedule_splits_the_sites() -> None:
    """When HiGHS gives no allocation in time the parts are the dispatch schedule's
    sites, and the answer is no worse than that schedule."""
    p = _problem()
    none = Allocation("Time limit reached", None, None, None,
                      reasons=["HiGHS found no allocation (Time limit reached)"])
    out = dec.decompose(p, SolveParams(time_limit=5, workers=1, seed=0), solve,
                        allocation=none)
    _check(p, out)
    phases = _phases(out)
    assert phases[:2] == [dec.ALLOCATE, dec.DISPATCH]
    assert phases[2].startswith("site ")
    log = {e["phase"]: e for e in out["solve_log"]}
    assert log[dec.ALLOCATE]["objective"] is None
    assert out["objective_value"] <= log[dec.DISPATCH]["objective"]
    assert any("dispatch schedule" in n for n in out["notes"])


def test_the_threshold_comes_from_the_tuning() -> None:
    p = _problem(fixed=False)
    racks = sum(o.quantity for o in p.orders)
    assert not dec.wanted(p, SolveParams())
    assert dec.wanted(p, SolveParams(tuning=Tuning(decompose_min_racks=racks)))
    assert not dec.wanted(p, SolveParams(tuning=Tuning(decompose_min_racks=racks + 1)))
    assert not dec.wanted(p, SolveParams(decompose=False,
                                         tuning=Tuning(decompose_min_racks=1)))
    assert dec.wanted(p, SolveParams(decompose=True))
    one_site = p.model_copy(update={
        "sites": p.sites[:1], "resources": [r for r in p.resources if r.site == p.sites[0].id],
        "orders": [], "fixed": []})
    assert not dec.wanted(one_site, SolveParams(decompose=True))
    out = solve(p, SolveParams(time_limit=4, workers=1, seed=0,
                               tuning=Tuning(decompose_min_racks=racks)))
    assert _phases(out)[0] == dec.ALLOCATE


def test_cli_decompose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _problem(fixed=False)
    path = tmp_path / "p.json"
    path.write_text(p.model_dump_json(), encoding="utf-8")
    out_path = tmp_path / "s.json"
    code = main(["solve", str(path), "--decompose", "--time-limit", "4", "--workers", "1",
                 "--quiet", "-o", str(out_path)])
    assert code == 0
    schedule = json.loads(out_path.read_text(encoding="utf-8"))
    _check(p, schedule)
    assert _phases(schedule)[0] == dec.ALLOCATE
    code = main(["solve", str(path), "--no-decompose", "--time-limit", "2", "--workers", "1",
                 "--quiet", "-o", str(out_path)])
    assert code == 0
    assert _phases(json.loads(out_path.read_text(encoding="utf-8")))[0] == "dispatch"


def test_reference_steps_follow_their_racks_into_the_parts() -> None:
    """With a reference schedule a rack stays at the reference's site while the
    allocation has room there, and each part sees the reference's steps of its racks
    under its own unit numbers; the decomposed reschedule is valid."""
    p = _problem(fixed=False)
    ref = solve(p, SolveParams(time_limit=2, workers=1, seed=0, decompose=False))
    params = SolveParams(time_limit=6, workers=1, seed=0, decompose=True, reference=ref)
    run = dec._Run(p, params, solve)
    alloc = allocate(run.base, time_limit=30)
    split = run.split_of(alloc)
    ref_site = {(i["order"], i["unit"]): i["site"] for i in ref["items"]}
    for o in p.orders:
        for sp in alloc.orders[o.id]:
            there = split.units[sp.site].get(o.id, [])
            assert len(there) == sp.racks
            was = sum(1 for u in range(1, o.quantity + 1) if ref_site[(o.id, u)] == sp.site)
            kept = sum(1 for u in there if ref_site[(o.id, u)] == sp.site)
            assert kept == min(was, sp.racks)
    for site in split.sites():
        part_ref = run.part_reference(split.units[site])
        assert part_ref is not None
        for item in part_ref["items"]:
            original = split.units[site][item["order"]][item["unit"] - 1]
            match = [r for r in ref["items"] if (r["order"], r["unit"], r["op"]) ==
                     (item["order"], original, item["op"])]
            assert len(match) == 1 and match[0]["start"] == item["start"]
        assert len(part_ref["items"]) == 4 * split.racks(site)
    _check(p, solve(p, params))


def test_rounded_allocation_places_every_rack_once() -> None:
    """The relaxation rounded (what large problems get): every order's racks add up, each
    site's over its buckets, at allowed sites only."""
    p = load_problem(generate(150, 1))
    got = allocate(p, time_limit=60, integer=False)
    assert got.status == "rounded", got.reasons
    for o in p.orders:
        plans = got.orders[o.id]
        assert sum(sp.racks for sp in plans) == o.quantity
        for sp in plans:
            assert sp.racks > 0
            assert sum(k for _, k in sp.buckets) == sp.racks
            assert o.allowed_sites is None or sp.site in o.allowed_sites
