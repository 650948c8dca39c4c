"""Tests of `solver.whatif`: each kind of counterfactual on a tiny plan where it is the one that
helps, with its figures reproduced by validating the schedule it came from; then every
counterfactual of a generated instance's late orders, reproduced the same way."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import first_schedule  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.explain import ExplainError, explain  # noqa: E402
from solver.problem import Problem, load_problem  # noqa: E402
from solver.validate import validate  # noqa: E402
from solver.whatif import WhatIf, WhatIfError, apply_change, what_if  # noqa: E402
from tests.test_explain import _plan, _problem  # noqa: E402  (the same hand-made cases)

SECONDS = 2.0


def _reproduced(p: Problem, schedule: dict[str, Any], order: str, w: WhatIf) -> None:
    """The counterfactual's schedule validates on the changed problem, and every figure it
    claims is read back from that schedule."""
    changed = apply_change(p, w["change"])
    got = w["schedule"]
    assert validate(changed, got) == []
    after = {o["id"]: o["tardiness_min"] for o in got["orders"]}
    before = {o["id"]: o["tardiness_min"] for o in schedule["orders"]}
    weight = {o.id: o.weight for o in p.orders}
    assert w["tardiness_min"] == after[order] < before[order] == w["tardiness_before_min"]
    assert w["on_time"] == (after[order] == 0)
    moved = {m["order"]: m["delta_min"] for m in w["others"]}
    assert moved == {x: after[x] - before[x] for x in before
                     if x != order and after[x] != before[x]}
    cost = sum(weight[x] * d for x, d in moved.items())
    assert w["others_weighted_delta_min"] == pytest.approx(cost)
    assert w["text"]


def _kinds(ws: list[WhatIf]) -> list[str]:
    return [w["kind"] for w in ws]


def _run(p: Problem, s: dict[str, Any], order: str) -> list[WhatIf]:
    ws = what_if(p, s, order, seconds=SECONDS, keep_schedules=True)
    for w in ws:
        _reproduced(p, s, order, w)
    return ws


# ---- one kind at a time -------------------------------------------------------------------


def test_priority_moves_it_ahead_of_the_order_that_held_it() -> None:
    """A heavy order behind a light one on the only bay: going first makes it on time, and
    the light order's loss is named."""
    p = _problem([{"id": "A", "due": "2026-11-02T11:00:00Z", "weight": 3},
                  {"id": "B", "due": "2026-11-03T00:00:00Z", "weight": 1}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    ws = _run(p, s, "A")
    pr = next(w for w in ws if w["kind"] == "priority")
    assert pr["change"]["ahead_of"] == ["B"]
    assert pr["tardiness_before_min"] == 540 and pr["tardiness_min"] == 0 and pr["on_time"]
    # B now runs 600-1200 and is due at 1440: still on time, so nobody loses
    assert pr["others"] == [] and pr["others_weighted_delta_min"] == 0
    assert "priority over B" in pr["text"] and "on time" in pr["text"]


def test_priority_names_what_the_others_lose() -> None:
    """When going first makes another order late, its minutes and the weighted sum are
    given."""
    p = _problem([{"id": "A", "due": "2026-11-02T11:00:00Z", "weight": 3},
                  {"id": "B", "due": "2026-11-02T12:00:00Z", "weight": 1}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    ws = _run(p, s, "A")
    pr = next(w for w in ws if w["kind"] == "priority")
    assert pr["tardiness_min"] == 0
    assert [(m["order"], m["delta_min"]) for m in pr["others"]] == [("B", 480)]
    assert pr["others_weighted_delta_min"] == 480
    assert "B 8 h later" in pr["text"]


def test_one_more_bay_makes_both_on_time() -> None:
    """Two orders due together on one bay: only another bay helps without a cost."""
    p = _problem([{"id": "A", "due": "2026-11-02T10:00:00Z"},
                  {"id": "B", "due": "2026-11-02T10:00:00Z"}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    ws = _run(p, s, "A")
    assert ws[0]["kind"] == "resource"
    assert ws[0]["change"] == {"kind": "resource", "copy_of": "BI-1", "id": "BI-1-NEW"}
    assert ws[0]["tardiness_min"] == 0 and ws[0]["others"] == []
    pr = next(w for w in ws if w["kind"] == "priority")
    assert pr["tardiness_min"] == 0 and pr["others_weighted_delta_min"] == 600
    assert _kinds(ws) == ["resource", "priority"]


def test_raising_the_power_cap() -> None:
    """Two bays but power for one step at a time: a higher cap runs both at once."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T10:00:00Z"}, {"id": "B", "due": "2026-11-02T10:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "power_cap_kw": 200}],
        resources=[{"id": "BI-1", "site": "S", "kind": "burn_in"},
                   {"id": "BI-2", "site": "S", "kind": "burn_in"}],
        routing=[{"op": "burn_in", "kind": "burn_in", "duration_min": 600, "power_kw": 145}],
    )
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-2", 600)})
    ws = _run(p, s, "A")
    assert ws[0]["kind"] == "power"
    assert ws[0]["change"] == {"kind": "power", "site": "S", "add_kw": 150}
    assert ws[0]["tardiness_min"] == 0 and ws[0]["others"] == []
    assert "by 150 kW (to 350 kW)" in ws[0]["text"]
    assert "resource" not in _kinds(ws)  # the bays were free: another one would not help


def test_a_weekend_shift() -> None:
    """An assembly that waits over the weekend: a weekend shift makes it on time."""
    p = _problem(
        [{"id": "A", "due": "2026-11-01T12:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "shifts": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "22:00"}]}],
        resources=[{"id": "ASM-1", "site": "S", "kind": "assembly"}],
        routing=[{"op": "assembly", "kind": "assembly", "duration_min": 480}],
        start="2026-10-30T16:00:00Z",
    )
    s = _plan(p, {"A/1/assembly": ("ASM-1", 3720)})  # Monday 06:00
    ws = _run(p, s, "A")
    assert _kinds(ws) == ["shift"]
    ch = ws[0]["change"]
    assert ch["site"] == "S" and ch["what"] == "weekend"
    assert ch["shift"] == {"days": ["sat", "sun"], "start": "06:00", "end": "22:00"}
    assert ws[0]["tardiness_min"] == 0


def test_a_night_shift() -> None:
    """A step that waits overnight for the next shift: a night shift makes it on time."""
    p = _problem(
        [{"id": "A", "due": "2026-11-03T02:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "shifts": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "18:00"}]}],
        resources=[{"id": "ASM-1", "site": "S", "kind": "assembly"}],
        routing=[{"op": "assembly", "kind": "assembly", "duration_min": 480}],
        start="2026-11-02T14:00:00Z",
    )
    s = _plan(p, {"A/1/assembly": ("ASM-1", 960)})  # Tuesday 06:00
    ws = _run(p, s, "A")
    assert _kinds(ws) == ["shift"]
    assert ws[0]["change"]["shift"] == {
        "days": ["mon", "tue", "wed", "thu", "fri"], "start": "18:00", "end": "06:00"}
    assert ws[0]["tardiness_min"] == 0


def test_another_site() -> None:
    """An order allowed only at a busy site: allowing the idle one makes it on time."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T11:00:00Z", "allowed_sites": ["X"]},
         {"id": "B", "due": "2026-11-02T10:00:00Z", "allowed_sites": ["X"]}],
        sites=[{"id": "X", "timezone": "UTC"}, {"id": "Y", "timezone": "UTC"}],
        resources=[{"id": "X-1", "site": "X", "kind": "burn_in"},
                   {"id": "Y-1", "site": "Y", "kind": "burn_in"}],
    )
    s = _plan(p, {"B/1/burn_in": ("X-1", 0), "A/1/burn_in": ("X-1", 600)})
    ws = _run(p, s, "A")
    site = next(w for w in ws if w["kind"] == "site")
    assert site["change"] == {"kind": "site", "order": "A", "sites": ["Y"]}
    assert site["tardiness_min"] == 0 and site["others"] == []
    assert any(it["group"] == "Y-1" for it in site["schedule"]["items"] if it["order"] == "A")


def test_nothing_helps_a_structurally_late_order() -> None:
    """An order released too late for its due date gets no counterfactual: none is
    invented."""
    p = _problem([{"id": "A", "due": "2026-11-02T11:40:00Z",
                   "release": "2026-11-02T05:00:00Z"}])
    s = _plan(p, {"A/1/burn_in": ("BI-1", 300)})
    assert what_if(p, s, "A", seconds=SECONDS) == []


def test_on_time_and_unknown_orders() -> None:
    """An on-time order has nothing to change; an unknown one is an error naming it."""
    p = _problem([{"id": "A", "due": "2026-11-03T00:00:00Z"}])
    s = _plan(p, {"A/1/burn_in": ("BI-1", 0)})
    assert what_if(p, s, "A") == []
    with pytest.raises(ExplainError, match="'Z'"):
        what_if(p, s, "Z")


def test_apply_change_refuses_what_the_problem_lacks() -> None:
    """A change naming a resource or site the problem lacks is refused, naming it."""
    p = _problem([{"id": "A", "due": "2026-11-03T00:00:00Z"}])
    with pytest.raises(WhatIfError, match="no resource 'NOPE'"):
        apply_change(p, {"kind": "resource", "copy_of": "NOPE", "id": "X"})
    with pytest.raises(WhatIfError, match="no site 'NOPE'"):
        apply_change(p, {"kind": "power", "site": "NOPE", "add_kw": 10})
    with pytest.raises(WhatIfError, match="unknown kind"):
        apply_change(p, {"kind": "magic"})


def test_alternatives_list_the_new_resource() -> None:
    """A copied resource runs the steps whose alternatives list the original, in the same
    time."""
    p = _problem(
        [{"id": "A", "due": "2026-11-03T00:00:00Z"}],
        resources=[{"id": "M1", "site": "S"}],
        routing=[{"op": "cut", "alternatives": [{"resource": "M1", "duration_min": 7}]}],
    )
    q = apply_change(p, {"kind": "resource", "copy_of": "M1", "id": "M1-NEW"})
    alts = q.products[0].routing[0].alternatives
    assert alts is not None
    assert [(a.resource, a.duration_min) for a in alts] == [("M1", 7), ("M1-NEW", 7)]


# ---- generated instances --------------------------------------------------------------------


def test_every_counterfactual_of_a_dispatch_plan_is_reproduced() -> None:
    """On a generated instance's dispatch plan, every counterfactual of the first late
    orders validates on its changed problem and its figures read back from its schedule."""
    p = load_problem(generate(300, 2, steps=4, n_sites=4))
    fs = first_schedule(p, 0)
    assert fs.schedule is not None
    ex = explain(p, fs.schedule)
    assert ex["orders"]
    found = 0
    for o in ex["orders"][:2]:
        ws = what_if(p, fs.schedule, o["order"], explanation=o, seconds=1.0,
                     keep_schedules=True)
        assert len(ws) <= 3
        for w in ws:
            _reproduced(p, fs.schedule, o["order"], w)
        found += len(ws)
    assert found > 0
