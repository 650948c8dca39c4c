"""What-if scenarios in the solver: each change type applied, solved and compared
(`solver.scenario`, `solver.resilience`), bad changes named, and the command line's
`rackplan whatif` and `rackplan resilience`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from solver.cli import main
from solver.problem import Problem, load_problem
from solver.resilience import Variant, rank_sites, what_if
from solver.scenario import ChangeError, apply_changes, load_changes
from solver.validate import validate

SAMPLE = Path(__file__).resolve().parents[1] / "app" / "sample" / "sample.json"
T0 = "2026-12-01T00:00:00Z"


def _small_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    doc["orders"] = doc["orders"][:6]
    return doc


@pytest.fixture(scope="module")
def small() -> Problem:
    return load_problem(_small_doc())


# one change of every type, and what it does to the problem
CHANGES: dict[str, dict[str, Any]] = {
    "site_down": {"type": "site_down", "site": "HOU", "start": T0,
                  "end": "2026-12-08T00:00:00Z"},
    "resource_down": {"type": "resource_down", "resource": "PHX-TST-01", "start": T0,
                      "end": "2026-12-04T00:00:00Z"},
    "resource_add": {"type": "resource_add", "like": "CMH-TST-01", "count": 2},
    "resource_remove": {"type": "resource_remove", "resource": "SJC-ASM-02"},
    "shifts": {"type": "shifts", "site": "CMH", "shifts": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat"], "start": "06:00",
         "end": "22:00"}]},
    "power_cap": {"type": "power_cap", "site": "PHX", "power_cap_kw": 300,
                  "start": "2026-12-02T00:00:00Z", "end": "2026-12-09T00:00:00Z"},
    "duration": {"type": "duration", "product": "GB300-NVL72", "op": "test", "factor": 2},
    "order_add": {"type": "order_add", "id": "SO-NEW", "customer": "Stratus AI",
                  "product": "GB200-NVL72", "quantity": 4, "due": "2026-12-20T00:00:00Z",
                  "destination": "us-west"},
    "order_change": {"type": "order_change", "id": "SO-1001", "due": "2026-12-08T00:00:00Z",
                     "weight": 5},
    "order_cancel": {"type": "order_cancel", "id": "SO-1002"},
    "quota": {"type": "quota", "max_site_share": 0.5},
}


def _effect(kind: str, p: Problem, q: Problem) -> bool:
    res = {r.id: r for r in q.resources}
    if kind == "site_down":
        return all(len(r.downtime) == len(o.downtime) + 1 for o in p.resources
                   if o.site == "HOU" for r in [res[o.id]])
    if kind == "resource_down":
        return len(res["PHX-TST-01"].downtime) == 1
    if kind == "resource_add":
        return {"CMH-TST-01+1", "CMH-TST-01+2"} <= set(res) and res["CMH-TST-01+1"].site == "CMH"
    if kind == "resource_remove":
        return "SJC-ASM-02" not in res
    if kind == "shifts":
        return len(q.site("CMH").shifts) == 1
    if kind == "power_cap":
        w = q.site("PHX").power_windows or []
        return [x.power_cap_kw for x in w] == [300] and q.site("PHX").power_cap_kw == 540
    if kind == "duration":
        def minutes(x: Problem) -> list[list[int]]:
            return [[s.duration_min] if s.duration_min is not None
                    else [a.duration_min for a in s.alternatives or []]
                    for s in x.product("GB300-NVL72").routing]
        ops = [s.op for s in p.product("GB300-NVL72").routing]
        return minutes(q) == [[2 * m if op == "test" else m for m in ms]
                              for op, ms in zip(ops, minutes(p), strict=True)]
    if kind == "order_add":
        return any(o.id == "SO-NEW" for o in q.orders)
    if kind == "order_change":
        o = next(o for o in q.orders if o.id == "SO-1001")
        return o.weight == 5 and o.due.day == 8
    if kind == "order_cancel":
        return all(o.id != "SO-1002" for o in q.orders)
    return q.policies is not None and q.policies.max_site_share == 0.5


@pytest.mark.parametrize("kind", list(CHANGES))
def test_each_change_type_changes_the_problem(small: Problem, kind: str) -> None:
    """Each change type gives a checked problem with exactly its effect."""
    q = apply_changes(small, load_changes([CHANGES[kind]], small))
    assert _effect(kind, small, q)


def test_every_change_type_solved_and_compared(small: Problem) -> None:
    """The base and one variant per change type solved with the same limit: every plan
    passes the validator, and the comparison has per variant its figures, its sites and
    the orders whose delivery changed (the cancelled and added ones named so)."""
    variants = [Variant(k, load_changes([c], small)) for k, c in CHANGES.items()]
    out = what_if(small, variants, time_limit=0.5, seed=1)
    assert out["base"]["status"] in ("OPTIMAL", "FEASIBLE")
    by_name = {v["name"]: v for v in out["variants"]}
    assert set(by_name) == set(CHANGES)
    for v, var in zip(out["variants"], variants, strict=True):
        q = apply_changes(small, var.changes)
        assert v["status"] in ("OPTIMAL", "FEASIBLE"), v
        assert [s["site"] for s in v["sites"]] == [s.id for s in q.sites]
        assert v["heat"] is not None and v["heat"]["sites"]
        assert v["weighted_tardiness_min_change"] == (
            v["weighted_tardiness_min"] - out["base"]["weighted_tardiness_min"])
    assert {r["order"]: r["change"] for r in by_name["order_cancel"]["order_changes"]
            }.get("SO-1002") == "cancelled"
    assert {r["order"]: r["change"] for r in by_name["order_add"]["order_changes"]
            }.get("SO-NEW") == "added"
    # HOU down for a week from the start: nothing can start there before the 8th
    assert by_name["site_down"]["sites"][0]["site"] == "HOU"


def test_a_site_down_moves_work_and_the_schedule_is_valid(small: Problem) -> None:
    """A site down from the start: the variant's schedule is valid for the changed problem
    and puts no step on that site within the window."""
    changes = load_changes([CHANGES["site_down"]], small)
    out = what_if(small, [Variant("down", changes)], time_limit=0.5)
    assert out["variants"][0]["status"] in ("OPTIMAL", "FEASIBLE")
    from solver.solve import SolveParams, solve

    q = apply_changes(small, changes)
    sch = solve(q, SolveParams(time_limit=0.5, workers=1))
    assert validate(q, sch) == []
    assert all(it["start"] >= "2026-12-08T00:00:00Z" for it in sch["items"]
               if it["site"] == "HOU")


def test_bad_changes_are_named_all_at_once(small: Problem) -> None:
    """Every fault at once, each naming the change's index, type and field: a parse fault
    and a reference fault in one answer."""
    bad = [
        {"type": "site_down", "site": "NOWHERE", "start": T0, "end": "2026-12-02T00:00:00Z"},
        {"type": "resource_down", "resource": "PHX-TST-01", "start": "2026-12-02T00:00:00",
         "end": T0},
        {"type": "warp"},
        {"type": "duration", "product": "GB300-NVL72", "op": "paint", "factor": 2},
        {"type": "order_change", "id": "SO-1001"},
        {"type": "order_add", "id": "SO-1001", "product": "GB200-NVL72", "quantity": 1,
         "due": T0},
        {"type": "resource_remove", "resource": "SJC-TST-01"},
    ]
    with pytest.raises(ChangeError) as exc:
        load_changes(bad, small)
    where = [(f["index"], f.get("field")) for f in exc.value.faults]
    assert (0, "site") in where
    assert (1, "start") in where
    assert (2, "type") in where
    assert (3, "op") in where
    assert (4, None) in where
    assert (5, "id") in where
    # SJC's only test cell gone: the orders allowed only there (none here) or steps named
    assert all(f["index"] != 6 for f in exc.value.faults)
    assert exc.value.errors[0].startswith("changes[0] (site_down).site: site 'NOWHERE'")


def test_a_change_that_breaks_the_problem_is_blamed(small: Problem) -> None:
    """A change after which the problem no longer checks names that change and the fault;
    the good changes beside it are not blamed."""
    mars = {**CHANGES["order_add"], "destination": "mars"}
    with pytest.raises(ChangeError) as exc:
        load_changes([CHANGES["quota"], mars], small)
    assert {f["index"] for f in exc.value.faults} == {1}
    assert any("destination 'mars' is missing" in e for e in exc.value.errors)


def test_a_power_window_replaces_the_windows_it_overlaps(small: Problem) -> None:
    """A power_cap window cuts the site's existing windows around it."""
    first = apply_changes(small, load_changes([
        {"type": "power_cap", "site": "HOU", "power_cap_kw": 1200, "start": T0,
         "end": "2026-12-20T00:00:00Z"}]))
    second = apply_changes(first, load_changes([
        {"type": "power_cap", "site": "HOU", "power_cap_kw": 300,
         "start": "2026-12-05T00:00:00Z", "end": "2026-12-06T00:00:00Z"}]))
    w = second.site("HOU").power_windows or []
    assert [(x.start.day, x.end.day, x.power_cap_kw) for x in w] == [
        (1, 5, 1200), (5, 6, 300), (6, 20, 1200)]


def test_a_duration_over_a_time_range_holds_for_the_orders_released_in_it(
        small: Problem) -> None:
    """A duration change with a range builds the orders released in it as a copy of the
    product with the slower step; the other orders keep the product."""
    change = {"type": "duration", "product": "GB200-NVL72", "op": "test", "minutes": 999,
              "end": "2026-12-03T00:00:00Z"}
    q = apply_changes(small, load_changes([change], small))
    slow = [o for o in q.orders if o.product == "GB200-NVL72@0"]
    kept = [o for o in q.orders if o.product == "GB200-NVL72"]
    assert slow and all((o.release or q.horizon_start) < q.horizon_start.replace(day=3)
                        for o in slow)
    assert all((o.release or q.horizon_start).day >= 3 for o in kept)
    assert [s.duration_min for s in q.product("GB200-NVL72@0").routing if s.op == "test"] == [999]


def test_rank_sites_orders_by_added_tardiness() -> None:
    """The site whose loss adds the most weighted tardiness ranks first, with the orders
    that slip."""
    base = {"weighted_tardiness_min": 10, "on_time": 3, "orders": 3}
    comp = {"base": base, "variants": [
        {"name": "A", "status": "FEASIBLE", "weighted_tardiness_min": 20,
         "weighted_tardiness_min_change": 10, "on_time": 2, "orders": 3,
         "order_changes": [{"order": "o1", "change": "later", "delivery_change_min": 60,
                            "base_tardiness_min": 0, "tardiness_min": 10}]},
        {"name": "B", "status": "FEASIBLE", "weighted_tardiness_min": 110,
         "weighted_tardiness_min_change": 100, "on_time": 1, "orders": 3,
         "order_changes": []}]}
    got = rank_sites(comp, 7)
    assert [(r["rank"], r["site"]) for r in got["sites"]] == [(1, "B"), (2, "A")]
    assert got["sites"][1]["slipped"][0]["order"] == "o1"


def test_cli_whatif_prints_a_table_and_writes_the_comparison(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rackplan whatif`: a table with the base and each variant, the JSON with -o."""
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(_small_doc()))
    ch = tmp_path / "hou.json"
    ch.write_text(json.dumps({"name": "HOU down", "changes": [CHANGES["site_down"]]}))
    out = tmp_path / "c.json"
    code = main(["whatif", str(prob), str(ch), "-o", str(out), "--time-limit", "0.5"])
    text = capsys.readouterr().out
    assert code == 0
    assert text.splitlines()[0].split()[:2] == ["variant", "status"]
    assert text.splitlines()[1].startswith("base ") and text.splitlines()[2].startswith("HOU down")
    comp = json.loads(out.read_text())
    assert comp["variants"][0]["name"] == "HOU down" and comp["time_limit"] == 0.5


def test_cli_whatif_names_file_index_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad change: exit 2, each line naming the file, the change's index and field."""
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(_small_doc()))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([CHANGES["quota"], {"type": "order_cancel", "id": "SO-404"},
                               {"type": "shifts", "site": "CMH", "shifts": "all day"}]))
    code = main(["whatif", str(prob), str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}: changes[1] (order_cancel).id: order 'SO-404' is not in the problem" in err
    assert f"{bad}: changes[2] (shifts).shifts:" in err
    assert "Traceback" not in err


def test_cli_resilience_ranks_every_site(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rackplan resilience`: one row per site, ranked, the JSON with -o."""
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(_small_doc()))
    out = tmp_path / "r.json"
    code = main(["resilience", str(prob), "--days", "5", "--time-limit", "0.5",
                 "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    got = json.loads(out.read_text())
    assert sorted(r["site"] for r in got["sites"]) == ["CMH", "HOU", "PHX", "SJC"]
    assert [r["rank"] for r in got["sites"]] == [1, 2, 3, 4]
    added = [r["weighted_tardiness_added_min"] for r in got["sites"]]
    assert added == sorted(added, reverse=True)
    assert "rank" in text and "HOU" in text
