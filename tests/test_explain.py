"""Tests of `solver.explain`: each cause alone on a tiny hand-made plan, then every late order
of generated instances (the chain's minutes add up, the bound holds, the site choice's
placements validate)."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import FirstSchedule, first_schedule  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.compiled import compile_problem  # noqa: E402
from solver.explain import (  # noqa: E402
    CLASSES,
    ExplainError,
    Explanation,
    OrderExplanation,
    explain,
    render_text,
)
from solver.problem import Problem, load_problem  # noqa: E402
from solver.schedule import Status, build_schedule  # noqa: E402
from solver.solution import Assignment  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

H0 = "2026-11-02T00:00:00Z"  # a Monday
WAITS = {"resource", "power", "shift", "weekend", "holiday", "downtime", "idle", "fixed",
         "horizon_start"}


# ---- building tiny problems and plans -----------------------------------------------------


def _problem(
    orders: list[dict[str, Any]],
    *,
    resources: list[dict[str, Any]] | None = None,
    routing: list[dict[str, Any]] | None = None,
    sites: list[dict[str, Any]] | None = None,
    start: str = H0,
) -> Problem:
    """One product, one site open around the clock with one burn-in bay, unless told."""
    return load_problem({
        "horizon_start": start,
        "sites": sites or [{"id": "S", "timezone": "UTC"}],
        "resources": resources or [{"id": "BI-1", "site": "S", "kind": "burn_in"}],
        "products": [{"id": "P", "routing": routing or [
            {"op": "burn_in", "kind": "burn_in", "duration_min": 600}]}],
        "orders": [{"product": "P", "quantity": 1, **o} for o in orders],
    })


def _plan(p: Problem, at: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """The validated schedule putting each step ``order/unit/op`` on (resource, start)."""
    c = compile_problem(p)
    a = Assignment([], [], [])
    for o in range(c.n_ops):
        u = c.op_unit[o]
        rid, s = at[f"{c.order_ids[c.unit_order[u]]}/{c.unit_no[u]}/{c.op_name[o]}"]
        r = c.res_ids.index(rid)
        d = next(m.duration for m in c.op_modes[o] if m.resource == r)
        a.res.append(r)
        a.start.append(s)
        a.end.append(s + d)
    sched = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0, solve_seconds=0.0,
                           source="test")
    assert validate(p, sched) == []
    return sched


def _only(ex: Explanation, order: str) -> OrderExplanation:
    assert [o["order"] for o in ex["orders"]] == [order]
    return ex["orders"][0]


def _waits(o: OrderExplanation) -> list[tuple[str, int]]:
    return [(w["cause"], w["minutes"]) for st in o["chain"] for w in (*st["waits"], *st["slower"])]


def _causes(o: OrderExplanation) -> list[str]:
    return [c["cause"] for c in o["causes"]]


def _adds_up(o: OrderExplanation) -> None:
    assert o["chain_min"] == o["tardiness_min"] + o["slack_min"]


# ---- one cause at a time ------------------------------------------------------------------


def test_busy_bay_is_the_only_cause() -> None:
    """A bay busy with another order: one resource wait naming that order's step."""
    p = _problem([{"id": "A", "due": "2026-11-02T15:00:00Z"},
                  {"id": "B", "due": "2026-11-02T11:40:00Z"}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    o = _only(explain(p, s), "A")
    assert (o["tardiness_min"], o["slack_min"], o["chain_min"]) == (300, 900, 1200)
    assert _waits(o) == [("resource", 600)]
    w = o["chain"][0]["waits"][0]
    assert (w["from_min"], w["to_min"]) == (0, 600)
    assert w["ids"] == {"resources": ["BI-1"], "items": ["B/1/burn_in"], "orders": ["B"]}
    assert _causes(o) == ["resource"]
    assert o["class"] == "capacity" and o["structural_bound_min"] == 0
    assert [(g["group"], g["minutes"], g["weeks"]) for g in o["capacity"]] == [
        ("burn_in at S", 600, ["2026-W45"])]
    assert o["priority"] == [] and o["site_choice"] is None


def test_all_slots_taken_names_every_holder() -> None:
    """A bay of capacity 2 holds a rack only while both slots are taken; both are named."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T15:00:00Z"}, {"id": "B", "due": "2026-11-02T11:00:00Z"},
         {"id": "C", "due": "2026-11-02T14:00:00Z"}],
        resources=[{"id": "BI-1", "site": "S", "kind": "burn_in", "capacity": 2}],
    )
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "C/1/burn_in": ("BI-1", 200),
                  "A/1/burn_in": ("BI-1", 600)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("resource", 600)]  # a start before 200 would run into [200, 600)
    w = o["chain"][0]["waits"][0]
    assert w["ids"]["items"] == ["B/1/burn_in", "C/1/burn_in"]
    _adds_up(o)


def test_waiting_behind_a_lower_priority_order_is_priority() -> None:
    """A heavier order that waits for a lighter one due later is classed priority."""
    p = _problem([{"id": "A", "due": "2026-11-02T15:00:00Z", "weight": 3},
                  {"id": "B", "due": "2026-11-05T00:00:00Z", "weight": 1}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    o = _only(explain(p, s), "A")
    assert o["class"] == "priority"
    assert [(y["order"], y["minutes"]) for y in o["priority"]] == [("B", 600)]
    assert "B" in o["summary"]


def test_power_cap_is_the_only_cause() -> None:
    """A free bay held by the site's power cap: one power wait naming the cap and the step
    that drew the power."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T15:00:00Z"}, {"id": "B", "due": "2026-11-02T11:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "power_cap_kw": 200}],
        resources=[{"id": "BI-1", "site": "S", "kind": "burn_in"},
                   {"id": "BI-2", "site": "S", "kind": "burn_in"}],
        routing=[{"op": "burn_in", "kind": "burn_in", "duration_min": 600, "power_kw": 150}],
    )
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-2", 600)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("power", 600)]
    ids = o["chain"][0]["waits"][0]["ids"]
    assert ids["site"] == "S" and ids["cap_kw"] == [200.0] and ids["step_kw"] == 150.0
    assert ids["items"] == ["B/1/burn_in"] and ids["peak_kw"] == 150.0
    assert _causes(o) == ["power"] and o["class"] == "capacity"
    assert o["capacity"][0]["group"] == "power at S"


def test_power_window_cap_in_force() -> None:
    """A site whose only cap is a power window below the step's draw: the wait names the
    window's cap, and the order is structural (it would wait alone too)."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T11:40:00Z"}],
        routing=[{"op": "burn_in", "kind": "burn_in", "duration_min": 300, "power_kw": 150}],
        sites=[{"id": "S", "timezone": "UTC", "power_windows": [
            {"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T10:00:00Z",
             "power_cap_kw": 100}]}],
    )
    s = _plan(p, {"A/1/burn_in": ("BI-1", 600)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("power", 600)]
    assert o["chain"][0]["waits"][0]["ids"]["cap_kw"] == [100.0]
    assert o["class"] == "structural" and o["structural_bound_min"] == 200


def test_weekend_is_the_only_cause() -> None:
    """An assembly that cannot finish before Friday's shift ends waits for the weekend."""
    p = _problem(
        [{"id": "A", "due": "2026-10-31T12:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "shifts": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "22:00"}]}],
        resources=[{"id": "ASM-1", "site": "S", "kind": "assembly"}],
        routing=[{"op": "assembly", "kind": "assembly", "duration_min": 480}],
        start="2026-10-30T16:00:00Z",
    )
    s = _plan(p, {"A/1/assembly": ("ASM-1", 3720)})  # Monday 06:00
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("weekend", 3720)]
    assert o["chain"][0]["waits"][0]["ids"] == {"resource": "ASM-1", "site": "S"}
    assert _causes(o) == ["weekend"]
    assert o["tardiness_min"] == 3000 and o["structural_bound_min"] == 3000
    assert o["class"] == "structural"
    _adds_up(o)


def test_holiday_is_the_only_cause() -> None:
    """A site open every day but closed on a holiday: the wait names the holiday's date."""
    p = _problem(
        [{"id": "A", "due": "2026-11-26T12:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "holidays": ["2026-11-26"], "shifts": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
             "start": "06:00", "end": "22:00"}]}],
        resources=[{"id": "ASM-1", "site": "S", "kind": "assembly"}],
        routing=[{"op": "assembly", "kind": "assembly", "duration_min": 480}],
        start="2026-11-25T16:00:00Z",
    )
    s = _plan(p, {"A/1/assembly": ("ASM-1", 2280)})  # Friday 06:00
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("holiday", 2280)]
    assert o["chain"][0]["waits"][0]["ids"]["holidays"] == ["2026-11-26"]
    assert _causes(o) == ["holiday"] and o["class"] == "structural"


def test_downtime_is_the_only_cause() -> None:
    """A bay down for maintenance: the wait names the downtime window."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T11:40:00Z"}],
        resources=[{"id": "BI-1", "site": "S", "kind": "burn_in", "downtime": [
            {"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T08:00:00Z"}]}],
    )
    s = _plan(p, {"A/1/burn_in": ("BI-1", 480)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("downtime", 480)]
    assert o["chain"][0]["waits"][0]["ids"]["downtime"] == [
        {"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T08:00:00Z"}]
    assert _causes(o) == ["downtime"]
    assert o["tardiness_min"] == 380 and o["structural_bound_min"] == 380


def test_late_release_is_the_only_cause() -> None:
    """An order released too close to its due date: no wait, the release explains it."""
    p = _problem([{"id": "A", "due": "2026-11-02T11:40:00Z",
                   "release": "2026-11-02T05:00:00Z"}])
    s = _plan(p, {"A/1/burn_in": ("BI-1", 300)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == []
    assert [(c["cause"], c["minutes"]) for c in o["causes"]] == [("release", 200)]
    assert o["causes"][0]["ids"] == {"order": "A", "release": "2026-11-02T05:00:00Z"}
    assert o["chain_start_from"] == "release" and o["slack_min"] == 400
    assert o["class"] == "structural" and o["structural_bound_min"] == 200
    _adds_up(o)


def test_transit_is_the_only_cause() -> None:
    """Built in time but shipped too far: the transit is the only cause."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T11:40:00Z", "destination": "west"}],
        sites=[{"id": "S", "timezone": "UTC", "transit_min": {"west": 300}}],
    )
    s = _plan(p, {"A/1/burn_in": ("BI-1", 0)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == []
    assert [(c["cause"], c["minutes"]) for c in o["causes"]] == [("transit", 300)]
    assert o["transit"]["minutes"] == 300 and o["transit"]["destination"] == "west"
    assert o["class"] == "structural" and o["structural_bound_min"] == 200
    _adds_up(o)


def _two_sites() -> Problem:
    return _problem(
        [{"id": "A", "due": "2026-11-02T11:40:00Z"}],
        sites=[{"id": "X", "timezone": "UTC"}, {"id": "Y", "timezone": "UTC"}],
        resources=[{"id": "X-1", "site": "X"}, {"id": "Y-1", "site": "Y"}],
        routing=[{"op": "build", "alternatives": [
            {"resource": "X-1", "duration_min": 900}, {"resource": "Y-1", "duration_min": 600}]}],
    )


def test_worse_site_is_the_only_cause() -> None:
    """Built at the slower site with the faster one idle: only the site choice is named,
    and its placement validates."""
    p = _two_sites()
    s = _plan(p, {"A/1/build": ("X-1", 0)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == []
    assert [(c["cause"], c["minutes"]) for c in o["causes"]] == [("site", 300)]
    sc = o["site_choice"]
    assert sc is not None
    assert (sc["site"], sc["better_site"], sc["minutes"], sc["on_time_there"]) == (
        "X", "Y", 300, True)
    assert [(m["item"], m["resource"], m["start_min"]) for m in sc["moved"]] == [
        ("A/1/build", "Y-1", 0)]
    assert o["class"] == "site" and o["structural_bound_min"] == 0
    assert validate(p, _plan(p, {"A/1/build": ("Y-1", 0)})) == []


def _quota_sites(policies: dict[str, Any] | None) -> Problem:
    """Customer C's two racks (orders A and B); Y is faster and has room for both."""
    return load_problem({
        "horizon_start": H0,
        "sites": [{"id": "X", "timezone": "UTC"}, {"id": "Y", "timezone": "UTC"}],
        "resources": [{"id": "X-1", "site": "X"}, {"id": "Y-1", "site": "Y", "capacity": 2}],
        "products": [{"id": "P", "routing": [{"op": "build", "alternatives": [
            {"resource": "X-1", "duration_min": 900},
            {"resource": "Y-1", "duration_min": 600}]}]}],
        "orders": [{"id": o, "product": "P", "quantity": 1, "customer": "C",
                    "due": "2026-11-02T10:00:00Z"} for o in ("A", "B")],
        **({"policies": policies} if policies is not None else {}),
    })


def test_quota_holds_racks_from_the_better_site() -> None:
    """Customer C may build at most one of its two racks at one site: A, at the slower X,
    would be on time at Y, but B is there already. The quota is the cause, with the minutes
    and ids, and no site move is offered that would break it."""
    p = _quota_sites({"max_site_share": 0.5})
    s = _plan(p, {"A/1/build": ("X-1", 0), "B/1/build": ("Y-1", 0)})
    o = _only(explain(p, s), "A")
    assert [(c["cause"], c["minutes"]) for c in o["causes"]] == [("quota", 300)]
    q = o["causes"][0]
    assert q["ids"] == {"customer": "C", "site": "Y", "share": 0.5, "limit": 1, "built": 1}
    assert o["site_choice"] is None
    assert o["class"] == "quota" and "quota" in o["summary"]
    # without the quota the same plan is a site choice: A would be on time at Y
    o = _only(explain(_quota_sites(None), s), "A")
    assert [(c["cause"], c["minutes"]) for c in o["causes"]] == [("site", 300)]
    assert o["class"] == "site"


def test_quota_lets_some_racks_move() -> None:
    """With a share of 1 the quota allows both racks at Y: the move is offered whole and
    no quota cause is named."""
    p = _quota_sites({"max_site_share": 1})
    s = _plan(p, {"A/1/build": ("X-1", 0), "B/1/build": ("Y-1", 0)})
    o = _only(explain(p, s), "A")
    assert [(c["cause"], c["minutes"]) for c in o["causes"]] == [("site", 300)]
    sc = o["site_choice"]
    assert sc is not None and sc["on_time_there"]


def test_slower_resource_while_the_faster_is_busy() -> None:
    """A step run on the slower of two test cells because the faster one was taken: its
    extra minutes are a resource wait naming the step that held the faster cell."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T04:10:00Z"}, {"id": "B", "due": "2026-11-02T04:00:00Z"}],
        resources=[{"id": "T-FAST", "site": "S"}, {"id": "T-SLOW", "site": "S"}],
        routing=[{"op": "test", "alternatives": [
            {"resource": "T-FAST", "duration_min": 240},
            {"resource": "T-SLOW", "duration_min": 300}]}],
    )
    s = _plan(p, {"B/1/test": ("T-FAST", 0), "A/1/test": ("T-SLOW", 0)})
    o = _only(explain(p, s), "A")
    st = o["chain"][0]
    assert st["waits"] == [] and (st["run_min"], st["fastest_min"]) == (300, 240)
    assert [(w["cause"], w["minutes"], w["ids"]["items"]) for w in st["slower"]] == [
        ("resource", 60, ["B/1/test"])]
    assert o["class"] == "capacity"
    _adds_up(o)


def test_idle_minutes_are_named_as_idle() -> None:
    """A step started later than anything required: the wait is idle, the class plan."""
    p = _problem([{"id": "A", "due": "2026-11-02T10:50:00Z"}])
    s = _plan(p, {"A/1/burn_in": ("BI-1", 100)})
    o = _only(explain(p, s), "A")
    assert _waits(o) == [("idle", 100)]
    assert o["chain"][0]["waits"][0]["ids"] == {"resources": ["BI-1"]}
    assert o["class"] == "plan" and o["structural_bound_min"] == 0


def test_several_causes_are_named_in_time_order() -> None:
    """A wait first behind another order, then for a downtime, names both in that order."""
    p = _problem(
        [{"id": "A", "due": "2026-11-02T15:00:00Z"}, {"id": "B", "due": "2026-11-02T11:00:00Z"}],
        resources=[{"id": "BI-1", "site": "S", "kind": "burn_in", "downtime": [
            {"start": "2026-11-02T10:00:00Z", "end": "2026-11-02T12:00:00Z"}]}],
        routing=[{"op": "burn_in", "kind": "burn_in", "duration_min": 300}],
    )
    s = _plan(p, {"B/1/burn_in": ("BI-1", 100), "A/1/burn_in": ("BI-1", 720)})
    o = _only(explain(p, s), "A")
    # a start before 400 meets B's [100, 400) first; a later one the downtime [600, 720)
    assert _waits(o) == [("resource", 400), ("downtime", 320)]
    assert o["chain"][0]["waits"][0]["also"] == ["downtime"]  # from 301 it no longer fits
    _adds_up(o)


def test_fixed_step_wait_is_fixed() -> None:
    """A step fixed late in the problem: its wait is 'fixed', and the bound keeps it there."""
    base = _problem([{"id": "A", "due": "2026-11-02T11:40:00Z"}])
    p = load_problem({**base.model_dump(mode="json"), "fixed": [
        {"order": "A", "unit": 1, "op": "burn_in", "resource": "BI-1",
         "start": "2026-11-02T05:00:00Z", "end": "2026-11-02T15:00:00Z"}]})
    s = _plan(p, {"A/1/burn_in": ("BI-1", 300)})
    o = _only(explain(p, s, order="A"), "A")
    assert _waits(o) == [("fixed", 300)]
    assert o["chain"][0]["waits"][0]["ids"] == {"item": "A/1/burn_in"}
    assert o["class"] == "structural" and o["structural_bound_min"] == 200
    _adds_up(o)


def test_on_time_orders_get_no_explanation() -> None:
    """Asking about an on-time order explains nothing and says it is on time."""
    p = _problem([{"id": "A", "due": "2026-11-02T15:00:00Z"},
                  {"id": "B", "due": "2026-11-02T11:40:00Z"}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    ex = explain(p, s, order="B")
    assert ex["orders"] == [] and "on time" in ex["reasons"][0]
    assert ex["summary"]["late"] == 1 and ex["summary"]["explained"] == 0


def test_no_plan_explains_nothing() -> None:
    """An INFEASIBLE schedule explains nothing and says why, its own reasons kept."""
    p = _problem([{"id": "A", "due": "2026-11-02T15:00:00Z"}])
    ex = explain(p, {"status": "INFEASIBLE", "reasons": ["order 'A' cannot run"], "items": []})
    assert ex["orders"] == [] and ex["status"] == "INFEASIBLE"
    assert "INFEASIBLE" in ex["reasons"][0] and ex["reasons"][1] == "order 'A' cannot run"


def test_bad_input_is_an_error_naming_it() -> None:
    """An unknown order, or a schedule missing a step, raises ExplainError naming it."""
    p = _problem([{"id": "A", "due": "2026-11-02T15:00:00Z"}])
    s = _plan(p, {"A/1/burn_in": ("BI-1", 0)})
    with pytest.raises(ExplainError, match="'Z' is not in the problem"):
        explain(p, s, order="Z")
    with pytest.raises(ExplainError, match="order 'A' unit 1"):
        explain(p, {**s, "items": []})


def test_text_report_and_json() -> None:
    """The text report names the order, its causes and the minutes' sum; the result is JSON."""
    p = _problem([{"id": "A", "due": "2026-11-02T15:00:00Z"},
                  {"id": "B", "due": "2026-11-02T11:40:00Z"}])
    s = _plan(p, {"B/1/burn_in": ("BI-1", 0), "A/1/burn_in": ("BI-1", 600)})
    ex = explain(p, s)
    text = render_text(ex)
    assert "A  5 h late  [capacity]" in text and "resource" in text and "B (rack 1)" in text
    assert "Chain 1,200 min = tardiness 300 + slack 900" in text
    assert json.loads(json.dumps(ex)) == ex


# ---- generated instances ------------------------------------------------------------------


@cache
def _dispatched(n: int, seed: int) -> tuple[Problem, FirstSchedule]:
    p = load_problem(generate(n, seed))
    fs = first_schedule(p)
    assert fs.ok, fs.error or fs.faults
    return p, fs


def _check_chain(o: OrderExplanation, schedule: dict[str, Any]) -> None:
    """The chain tiles the span from its start to the delivery, each wait a known cause."""
    _adds_up(o)
    claimed = {x["id"]: x["tardiness_min"] for x in schedule["orders"]}
    assert o["tardiness_min"] == claimed[o["order"]] > 0
    t = o["chain"][0]["ready_min"]
    for st in o["chain"]:
        assert st["ready_min"] == t
        for w in st["waits"]:
            assert w["from_min"] == t and w["minutes"] == w["to_min"] - w["from_min"] > 0
            assert w["cause"] in WAITS and w["text"]
            t = w["to_min"]
        assert t == st["start_min"]
        assert st["run_min"] - st["fastest_min"] == sum(w["minutes"] for w in st["slower"])
        t = st["end_min"]
    assert o["class"] in CLASSES
    assert 0 <= o["structural_bound_min"] <= o["tardiness_min"]
    assert o["earliest_delivery"] <= o["delivery"]


@pytest.mark.parametrize(("n", "seed"), [(150, 0), (150, 1), (300, 2)])
def test_every_late_order_of_a_dispatch_plan_adds_up(n: int, seed: int) -> None:
    """Every late order of a dispatch plan, and only those, gets a chain whose minutes add
    up to its tardiness plus its slack."""
    p, fs = _dispatched(n, seed)
    assert fs.schedule is not None
    ex = explain(p, fs.schedule)
    late = {x["id"] for x in fs.schedule["orders"] if x["tardiness_min"] > 0}
    assert late and {o["order"] for o in ex["orders"]} == late
    for o in ex["orders"]:
        _check_chain(o, fs.schedule)
        assert o["summary"].startswith(o["order"])
    assert sum(ex["summary"]["by_class"].values()) == len(late)
    on_time = next(x["id"] for x in fs.schedule["orders"] if x["tardiness_min"] == 0)
    assert explain(p, fs.schedule, order=on_time)["orders"] == []


@cache
def _pinned(n: int, seed: int) -> tuple[Problem, FirstSchedule]:
    """A dispatch plan of the generated problem in which every other order was pinned to
    one of its allowed sites that the problem's own plan did not use for it: valid for the
    problem, with worse sites on purpose."""
    raw = generate(n, seed)
    p, fs = _dispatched(n, seed)
    assert fs.schedule is not None
    used = {x["id"]: set(x["sites"]) for x in fs.schedule["orders"]}
    makers: dict[str, set[str]] = {}
    for it in fs.schedule["items"]:
        makers.setdefault(it["product"], set()).add(it["site"])
    for o in raw["orders"][::2]:
        allowed = set(o.get("allowed_sites") or [x["id"] for x in raw["sites"]])
        other = sorted((makers[o["product"]] & allowed) - used[o["id"]])
        if other:
            o["allowed_sites"] = [other[0]]
    pinned = first_schedule(load_problem(raw))
    assert pinned.schedule is not None and validate(p, pinned.schedule) == []
    return p, pinned


@pytest.mark.parametrize(("n", "seed"), [(150, 1), (300, 2)])
def test_site_choice_placements_validate(n: int, seed: int) -> None:
    """On a plan with worse sites, site choices are found; each is a valid schedule once
    its racks are moved, and delivers the order when it claims to."""
    p, fs = _pinned(n, seed)
    assert fs.schedule is not None and fs.compiled is not None and fs.assignment is not None
    c = compile_problem(p, fs.compiled.horizon)  # the same ops, with every allowed site
    index = {
        f"{c.order_ids[c.unit_order[c.op_unit[o]]]}/{c.unit_no[c.op_unit[o]]}/{c.op_name[o]}": o
        for o in range(c.n_ops)
    }
    ex = explain(p, fs.schedule)
    claims = [o for o in ex["orders"] if o["site_choice"] is not None]
    assert claims
    for o in ex["orders"]:
        _check_chain(o, fs.schedule)
    for o in claims:
        sc = o["site_choice"]
        assert sc is not None and sc["minutes"] > 0
        a = fs.assignment.copy()
        for m in sc["moved"]:
            op = index[m["item"]]
            a.res[op] = c.res_ids.index(m["resource"])
            a.start[op], a.end[op] = m["start_min"], m["end_min"]
        moved = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0, solve_seconds=0.0,
                               source="test")
        assert validate(p, moved) == []
        there = next(x for x in moved["orders"] if x["id"] == o["order"])
        assert there["delivery"] == sc["delivery_there"]
        assert there["tardiness_min"] == o["tardiness_min"] - sc["minutes"] or sc["on_time_there"]


def test_a_solved_plan_adds_up() -> None:
    """A short solve's plan (CP-SAT and LNS, not left-justified) also adds up."""
    p = load_problem(generate(150, 3))
    s = solve(p, SolveParams(time_limit=3, workers=2, seed=1))
    assert validate(p, s) == []
    ex = explain(p, s)
    late = {x["id"] for x in s["orders"] if x["tardiness_min"] > 0}
    assert {o["order"] for o in ex["orders"]} == late
    for o in ex["orders"]:
        _check_chain(o, s)
