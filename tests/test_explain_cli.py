"""Tests of ``rackplan explain``: the text report and JSON, what-if on request, and exit 2
with a clear message (never a traceback) for a bad file, an invalid schedule or an unknown
order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from solver.cli import main
from solver.compiled import compile_problem
from solver.problem import load_problem
from solver.schedule import Status, build_schedule
from solver.solution import Assignment
from solver.validate import validate

PROBLEM: dict[str, Any] = {
    "name": "two-on-one-bay",
    "horizon_start": "2026-11-02T00:00:00Z",
    "sites": [{"id": "S", "timezone": "UTC"}],
    "resources": [{"id": "BI-1", "site": "S", "kind": "burn_in"}],
    "products": [{"id": "P", "routing": [
        {"op": "burn_in", "kind": "burn_in", "duration_min": 600}]}],
    "orders": [
        {"id": "A", "product": "P", "quantity": 1, "due": "2026-11-02T11:00:00Z", "weight": 3},
        {"id": "B", "product": "P", "quantity": 1, "due": "2026-11-03T00:00:00Z"},
    ],
}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """The problem and a valid plan where A waits for B on the only bay."""
    p = load_problem(PROBLEM)
    c = compile_problem(p)
    starts = {"B": 0, "A": 600}
    a = Assignment([0, 0], [starts[c.order_ids[c.unit_order[c.op_unit[o]]]] for o in (0, 1)],
                   [])
    a.end = [s + 600 for s in a.start]
    sched = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0, solve_seconds=0.0,
                           source="test")
    assert validate(p, sched) == []
    pp, sp = tmp_path / "problem.json", tmp_path / "schedule.json"
    pp.write_text(json.dumps(PROBLEM))
    sp.write_text(json.dumps(sched))
    return pp, sp


def test_text_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default report names the late order, its cause and the order that held it."""
    pp, sp = _files(tmp_path)
    assert main(["explain", str(pp), str(sp)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 orders late" in out
    assert "A  9 h late  [priority]" in out and "B (rack 1)" in out
    assert "What would make it on time" not in out  # only on request


def test_json_with_what_if(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json --what-if gives the explanation with checked counterfactuals per order."""
    pp, sp = _files(tmp_path)
    assert main(["explain", str(pp), str(sp), "--json", "--what-if",
                 "--what-if-time", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    (o,) = data["orders"]
    assert o["order"] == "A" and o["tardiness_min"] == 540
    kinds = [w["kind"] for w in o["what_if"]]
    assert "priority" in kinds
    pr = o["what_if"][kinds.index("priority")]
    assert pr["tardiness_min"] == 0 and pr["change"]["ahead_of"] == ["B"]
    assert "schedule" not in pr


def test_what_if_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--what-if adds the numbered sentences to the text report."""
    pp, sp = _files(tmp_path)
    assert main(["explain", str(pp), str(sp), "--order", "A", "--what-if"]) == 0
    out = capsys.readouterr().out
    assert "What would make it on time (each re-solved and validated):" in out
    assert "1. " in out and "priority over B" in out


def test_on_time_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An on-time order gets a clear answer and exit 0."""
    pp, sp = _files(tmp_path)
    assert main(["explain", str(pp), str(sp), "--order", "B"]) == 0
    assert "order 'B' is on time" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--order", "Z"], "--order: order 'Z' is not in"),
    (["--what-if-time", "0"], "must be a positive number"),
])
def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       args: list[str], message: str) -> None:
    """An unknown order or a bad time limit: exit 2 naming it."""
    pp, sp = _files(tmp_path)
    assert main(["explain", str(pp), str(sp), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing files, broken JSON and a schedule of another problem: exit 2, every fault
    named, no traceback."""
    pp, sp = _files(tmp_path)
    assert main(["explain", str(tmp_path / "nope.json"), str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert "nope.json: no such file" in err and "none.json: no such file" in err
    sp.write_text("{not json")
    assert main(["explain", str(pp), str(sp)]) == 2
    assert "the schedule is not valid JSON" in capsys.readouterr().err
    sp.write_text("[]")
    assert main(["explain", str(pp), str(sp)]) == 2
    assert "must be a JSON object" in capsys.readouterr().err
    _, sp = _files(tmp_path)
    sched = json.loads(sp.read_text())
    sched["items"][0]["end_min"] += 5
    sched["items"][0]["end"] = "2026-11-02T10:05:00Z"
    sp.write_text(json.dumps(sched))
    assert main(["explain", str(pp), str(sp)]) == 2
    err = capsys.readouterr().err
    assert "is not a valid schedule of" in err and "Traceback" not in err
