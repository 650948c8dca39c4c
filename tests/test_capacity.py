"""Tests of the capacity report (`solver.planning.report`), its HTML page
(`solver.planning.html`) and ``rackplan capacity``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_solve import T0, at

from solver.cli import main
from solver.planning.html import render
from solver.planning.report import capacity_report
from solver.problem import Problem, ProblemError, load_problem
from solver.solve import SolveParams, solve
from solver.validate import validate

WEEK = 7 * 1440


def _data(racks: int = 2, due: int = 5000, **site: Any) -> dict[str, Any]:
    """One site open around the clock: a line for G1 racks, a line for G2 racks, a
    shared test cell; 600 minutes on the line (50 kW), 60 in test."""
    return {
        "name": "cap", "horizon_start": T0,
        "sites": [{"id": "S", **site}],
        "resources": [
            {"id": "L1", "site": "S", "kind": "line", "products": ["P1"]},
            {"id": "L2", "site": "S", "kind": "line", "products": ["P2"]},
            {"id": "T", "site": "S", "kind": "test", "capacity": 2},
        ],
        "products": [
            {"id": p, "family": fam, "routing": [
                {"op": "line", "kind": "line", "duration_min": 600, "power_kw": 50},
                {"op": "test", "kind": "test", "duration_min": 60}]}
            for p, fam in (("P1", "G1"), ("P2", "G2"))],
        "orders": [
            {"id": "A", "product": "P1", "quantity": racks, "due": at(due)},
            {"id": "B", "product": "P2", "quantity": 1, "due": at(due), "customer": "c"},
        ],
    }


def _solved(p: Problem) -> dict[str, Any]:
    s = solve(p, SolveParams(time_limit=3.0, workers=1, seed=1))
    assert s["status"] in ("OPTIMAL", "FEASIBLE") and validate(p, s) == []
    return s


def _group(report: dict[str, Any], gid: str) -> dict[str, Any]:
    g: dict[str, Any] = next(g for g in report["sites"][0]["groups"] if g["id"] == gid)
    return g


def test_groups_available_minutes_and_the_plans_load() -> None:
    """Resources of one kind and qualification form a group; a week of a 24x7 line is
    10,080 minutes; the plan's load is its steps' minutes, per family."""
    p = load_problem(_data())
    s = _solved(p)
    r = capacity_report(p, s, bucket="week").to_dict()
    assert r["bucket"] == "week" and r["bucket_minutes"] == WEEK
    assert [g["id"] for g in r["sites"][0]["groups"]] == ["S/line [P1]", "S/line [P2]",
                                                          "S/test"]
    line1 = _group(r, "S/line [P1]")
    assert line1["available_min"][0] == WEEK
    assert sum(line1["planned_min"]) == 1200
    assert line1["by_family"]["G1"]["planned_min"][0] == 1200
    assert "G2" not in line1["by_family"]
    test = _group(r, "S/test")
    assert test["available_min"][0] == 2 * WEEK
    assert sum(test["planned_min"]) == 180
    assert {f: sum(v["planned_min"]) for f, v in test["by_family"].items()} == {
        "G1": 120, "G2": 60}
    assert line1["utilisation"][0] == pytest.approx(1200 / WEEK, abs=1e-4)
    assert r["families"] == ["G1", "G2"] and r["plan"]["items"] == 6


def test_the_allocations_load_is_every_step_once() -> None:
    """The allocation's load holds each rack's step minutes once, within the buckets,
    and never more than a group has."""
    p = load_problem(_data(racks=3))
    r = capacity_report(p, bucket="day").to_dict()
    assert r["allocation"]["status"] in ("optimal", "feasible")
    line1, test = _group(r, "S/line [P1]"), _group(r, "S/test")
    assert sum(line1["allocated_min"]) == pytest.approx(1800, abs=1e-6)
    assert sum(test["allocated_min"]) == pytest.approx(240, abs=1e-6)
    assert sum(line1["by_family"]["G1"]["allocated_min"]) == pytest.approx(1800, abs=1e-6)
    for g in r["sites"][0]["groups"]:
        assert all(x <= a + 1e-6 for x, a in zip(g["allocated_min"], g["available_min"],
                                                  strict=True))
    assert line1["planned_min"] is None and r["plan"] is None


def test_power_energy_against_the_cap() -> None:
    """A 100 kW cap: 2,400 kWh a day; the line steps use 50 kW x 10 h = 500 kWh per rack,
    in the plan and in the allocation."""
    data = _data(power_cap_kw=100)
    p = load_problem(data)
    s = _solved(p)
    r = capacity_report(p, s, bucket="day").to_dict()
    power = r["sites"][0]["power"]
    assert power["available_kwh"][0] == 2400
    assert sum(power["planned_kwh"]) == pytest.approx(1500)
    assert sum(power["allocated_kwh"]) == pytest.approx(1500)
    assert {f: sum(v["planned_kwh"]) for f, v in power["by_family"].items()} == {
        "G1": 1000, "G2": 500}


def test_no_cap_no_power_row() -> None:
    """A site without a power cap has no power row."""
    p = load_problem(_data())
    assert capacity_report(p, bucket="week", allocation=False).to_dict()[
        "sites"][0]["power"] is None


def test_orders_late_whatever_the_sequence_with_their_bound() -> None:
    """Due 300 minutes after the start, a rack needs 660: late by at least 360 whatever
    the sequence (the solve agrees: no schedule does better)."""
    p = load_problem(_data(racks=1, due=300))
    r = capacity_report(p, bucket="week").to_dict()
    late = {o["id"]: o for o in r["late_orders"]}
    assert set(late) == {"A", "B"}
    assert late["A"]["tardiness_bound_min"] == 360
    assert late["A"]["earliest_delivery"] == at(660)
    assert late["B"]["family"] == "G2" and late["B"]["customer"] == "c"
    s = _solved(p)
    tard = {o["id"]: o["tardiness_min"] for o in s["orders"]}
    assert all(tard[o] >= late[o]["tardiness_bound_min"] for o in late)


def test_a_busy_line_is_named_a_bottleneck() -> None:
    """16 racks of 600 minutes on one line in a day's buckets: the line is full for
    days (100 %), named with its bucket; the other line is not."""
    p = load_problem(_data(racks=16))
    s = _solved(p)
    r = capacity_report(p, s, bucket="day").to_dict()
    hot = [(x["group"], x["bucket"]) for x in r["bottlenecks"]]
    assert ("S/line [P1]", 0) in hot and ("S/line [P1]", 5) in hot
    assert not any(g == "S/line [P2]" for g, _ in hot)
    assert all(x["utilisation"] >= 0.9 and x["source"] == "plan" for x in r["bottlenecks"])


@pytest.mark.parametrize("bucket", ["fortnight", "1.5", 0, -60, True])
def test_a_bad_bucket_is_an_error_naming_the_field(bucket: object) -> None:
    """A bucket that is not day, week or a whole number of minutes is refused, named."""
    p = load_problem(_data())
    with pytest.raises(ProblemError) as e:
        capacity_report(p, bucket=bucket)
    assert e.value.errors[0].startswith("bucket:")


def test_buckets_of_whole_minutes_are_allowed() -> None:
    """A bucket of 720 minutes (shifts of half a day) is a whole number of minutes."""
    p = load_problem(_data())
    r = capacity_report(p, bucket=720, allocation=False).to_dict()
    assert r["bucket_minutes"] == 720 and r["bucket"] == "720 min"
    assert _group(r, "S/line [P1]")["available_min"][0] == 720


def test_the_report_is_json_and_the_html_page_draws_it() -> None:
    """The report round-trips through JSON; the HTML page has a heat map per kind and
    power, each cell titled with its figures."""
    p = load_problem(_data(racks=16, power_cap_kw=100))
    s = _solved(p)
    r = json.loads(json.dumps(capacity_report(p, s, bucket="day").to_dict()))
    page = render(r)
    for caption in ("line", "test", "power"):
        assert f"<caption>{caption}</caption>" in page
    assert "utilisation 100%" in page and "G1" in page
    assert "<script" not in page and "http" not in page


# ---- rackplan capacity -------------------------------------------------------------------


def _files(tmp_path: Path, data: dict[str, Any]) -> Path:
    f = tmp_path / "p.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    return f


def test_cli_writes_the_report_and_its_page(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``rackplan capacity P -o R.json --html R.html``: exit 0, both files written; with a
    schedule, its load is in."""
    f = _files(tmp_path, _data())
    sched = tmp_path / "s.json"
    sched.write_text(json.dumps(_solved(load_problem(_data()))), encoding="utf-8")
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["capacity", str(f), "--bucket", "day", "--schedule", str(sched),
                 "-o", str(out), "--html", str(html)]) == 0
    r = json.loads(out.read_text())
    assert r["bucket"] == "day" and r["plan"]["items"] == 6
    assert "<table>" in html.read_text()
    assert main(["capacity", str(f), "--bucket", "week"]) == 0
    assert json.loads(capsys.readouterr().out)["bucket"] == "week"


def test_cli_bad_input_exits_2_naming_every_fault(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A bad bucket and a missing schedule: exit 2, both named, nothing written; a
    schedule that breaks a rule: exit 2."""
    f = _files(tmp_path, _data())
    out = tmp_path / "r.json"
    assert main(["capacity", str(f), "--bucket", "fortnight", "--schedule",
                 str(tmp_path / "none.json"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--bucket: 'fortnight'" in err and "none.json: no such file" in err
    assert not out.exists()
    s = _solved(load_problem(_data()))
    s["items"][0]["end_min"] += 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(s), encoding="utf-8")
    assert main(["capacity", str(f), "--schedule", str(bad), "-o", str(out)]) == 2
    assert "not a valid schedule" in capsys.readouterr().err and not out.exists()
