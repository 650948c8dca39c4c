"""Tests of solver/validate.py: a hand-made valid schedule, then one fault at a time.

Schedules are written by hand as placements ``(order, unit, op, resource, start_min)``;
`_build` turns them into SPEC section 3 JSON, with orders and KPIs worked out by plain
arithmetic (and `solver.calendar` for the available minutes behind utilization), so a test
can break exactly one thing and expect exactly that rule's violation.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.calendar import resource_windows
from solver.problem import FixedStep, Problem, eligible, load_problem
from solver.validate import Occupancy, _overloads, validate, validate_files

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY = 1440

Placement = tuple[str, int, str, str, int] | tuple[str, int, str, str, int, int]


# ---- building problems and schedules by hand -------------------------------------------------


def _base_data() -> dict[str, Any]:
    """Two UTC sites: A with back-to-back shifts 06-14, 14-22 daily; B open around the clock."""
    return {
        "name": "tiny",
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [
            {"id": "A", "timezone": "UTC",
             "shifts": [{"days": ALL_DAYS, "start": "06:00", "end": "14:00"},
                        {"days": ALL_DAYS, "start": "14:00", "end": "22:00"}],
             "holidays": ["2026-12-25"], "power_cap_kw": 100,
             "transit_min": {"west": 600}},
            {"id": "B", "timezone": "UTC", "holidays": ["2026-12-25"],
             "transit_min": {"west": 60}},
        ],
        "resources": [
            {"id": "A-ASM", "site": "A", "kind": "assembly"},
            {"id": "A-TST", "site": "A", "kind": "test", "capacity": 2},
            {"id": "A-TST-Q", "site": "A", "kind": "test", "products": ["Q"]},
            {"id": "A-BI", "site": "A", "kind": "burn_in", "capacity": 3, "calendar": "24x7",
             "downtime": [{"start": "2026-12-03T00:00:00Z", "end": "2026-12-03T08:00:30Z"}]},
            {"id": "B-ASM", "site": "B", "kind": "assembly"},
            {"id": "B-TST", "site": "B", "kind": "test"},
            {"id": "B-BI", "site": "B", "kind": "burn_in", "capacity": 3},
        ],
        "products": [
            {"id": "P", "routing": [
                {"op": "assembly", "kind": "assembly", "duration_min": 120},
                {"op": "test", "kind": "test", "duration_min": 60},
                {"op": "burn_in", "kind": "burn_in", "duration_min": 240, "power_kw": 40}]},
            {"id": "Q", "routing": [{"op": "test", "kind": "test", "duration_min": 30}]},
        ],
        "orders": [
            {"id": "O1", "product": "P", "quantity": 2, "due": "2026-12-03T00:00:00Z",
             "weight": 2.5, "destination": "west"},
            {"id": "O2", "product": "P", "quantity": 1, "due": "2026-12-01T12:00:00Z",
             "release": "2026-12-01T08:00:00Z", "weight": 1.5, "allowed_sites": ["A"]},
        ],
        "objective": "tardiness",
    }


def _problem(change: Callable[[dict[str, Any]], None] | None = None) -> Problem:
    data = _base_data()
    if change is not None:
        change(data)
    return load_problem(data)


BASE_PLAN: list[Placement] = [
    ("O1", 1, "assembly", "A-ASM", 360), ("O1", 1, "test", "A-TST", 480),
    ("O1", 1, "burn_in", "A-BI", 540),
    ("O2", 1, "assembly", "A-ASM", 480), ("O2", 1, "test", "A-TST", 600),
    ("O2", 1, "burn_in", "A-BI", 660),
    ("O1", 2, "assembly", "A-ASM", 600), ("O1", 2, "test", "A-TST", 720),
    ("O1", 2, "burn_in", "A-BI", 780),
]


def _replace(plan: Sequence[Placement], *new: Placement) -> list[Placement]:
    """`plan` with the placements of the same (order, unit, op) as `new` swapped for them."""
    keys = {p[:3] for p in new}
    return [p for p in plan if p[:3] not in keys] + list(new)


def _stamp(problem: Problem, minute: int) -> str:
    t = problem.horizon_start + timedelta(minutes=minute)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(problem: Problem, t: datetime) -> float:
    return (t - problem.horizon_start).total_seconds() / 60


def _build(problem: Problem, plan: Sequence[Placement]) -> dict[str, Any]:
    """A SPEC section 3 schedule for `plan`, with orders and KPIs computed by hand."""
    res = {r.id: r for r in problem.resources}
    orders = {o.id: o for o in problem.orders}
    items: list[dict[str, Any]] = []
    for entry in plan:
        oid, unit, op, rid, start = entry[:5]
        order = orders[oid]
        prod = problem.product(order.product)
        ops = [s.op for s in prod.routing]
        k = ops.index(op)
        durations = {r.id: d for r, d in eligible(problem, prod, prod.routing[k])}
        end = entry[5] if len(entry) == 6 else start + durations.get(rid, 60)
        items.append({
            "id": f"{oid}/{unit}/{op}", "group": rid, "order": oid, "unit": unit, "op": op,
            "product": prod.id, "site": res[rid].site,
            "start": _stamp(problem, start), "end": _stamp(problem, end),
            "start_min": start, "end_min": end,
            "depends_on": [] if k == 0 else [f"{oid}/{unit}/{ops[k - 1]}"],
        })
    out_orders = []
    twt = 0.0
    on_time = 0
    for o in problem.orders:
        mine = [it for it in items if it["order"] == o.id]
        delivery = 0
        for u in range(1, o.quantity + 1):
            unit_items = [it for it in mine if it["unit"] == u]
            if not unit_items:
                continue
            last = max(unit_items, key=lambda it: it["end_min"])
            site = problem.site(last["site"])
            transit = site.transit_min[o.destination] if o.destination else 0
            delivery = max(delivery, last["end_min"] + transit)
        late = max(0, math.ceil(delivery - _minutes(problem, o.due)))
        twt += o.weight * late
        on_time += late == 0
        out_orders.append({
            "id": o.id, "delivery": _stamp(problem, delivery),
            "due": o.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tardiness_min": late, "sites": sorted({it["site"] for it in mine}),
        })
    makespan = max((it["end_min"] for it in items), default=0)
    utilization = {}
    for r in problem.resources:
        windows = (
            resource_windows(r, problem.site(r.site), problem.horizon_start, makespan)
            if makespan > 0 else []
        )
        avail = sum(b - a for a, b in windows) * r.capacity
        busy = sum(
            max(0, min(it["end_min"], makespan) - max(it["start_min"], 0))
            for it in items if it["group"] == r.id
        )
        utilization[r.id] = round(busy / avail, 4) if avail else 0.0
    value = twt if problem.objective == "tardiness" else makespan
    return {
        "status": "FEASIBLE", "objective": problem.objective.value,
        "objective_value": value, "lower_bound": value, "gap": 0.0, "solve_seconds": 0.1,
        "kpis": {"orders": len(problem.orders), "on_time": on_time,
                 "total_weighted_tardiness_min": twt, "makespan_min": makespan,
                 "utilization": utilization},
        "orders": out_orders,
        "groups": [{"id": r.id, "site": r.site, "kind": r.kind} for r in problem.resources],
        "items": items,
    }


def _item(schedule: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(it for it in schedule["items"] if it["id"] == item_id)


def _kinds(violations: list[str]) -> set[str]:
    """The prefixes of the violations: {'rule 6', 'kpi', ...}."""
    return {v.split(":", 1)[0] for v in violations}


def _only(violations: list[str], kind: str) -> None:
    """Assert there is at least one violation and all of them are of `kind`."""
    assert violations, "expected a violation"
    assert _kinds(violations) == {kind}, violations


# ---- the valid schedule ----------------------------------------------------------------------


def test_base_schedule_is_valid() -> None:
    """The hand-made schedule obeys every rule, so the validator returns []."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    assert s["kpis"]["total_weighted_tardiness_min"] == 270  # O2: 180 min late x 1.5
    assert validate(p, s) == []


def test_validate_files_reads_both_files(tmp_path: Path) -> None:
    """validate_files loads the problem and schedule JSON and gives the same verdict."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    (tmp_path / "p.json").write_text(json.dumps(_base_data()))
    (tmp_path / "s.json").write_text(json.dumps(s))
    assert validate_files(tmp_path / "p.json", tmp_path / "s.json") == []
    (tmp_path / "bad.json").write_text("{not json")
    assert _kinds(validate_files(tmp_path / "p.json", tmp_path / "bad.json")) == {"format"}


# ---- rule 1 ----------------------------------------------------------------------------------


def test_rule1_missing_step() -> None:
    """A unit without its last step is a rule 1 violation naming the order, unit and op."""
    p = _problem()
    plan = [x for x in BASE_PLAN if x[:3] != ("O1", 2, "burn_in")]
    out = validate(p, _build(p, plan))
    _only(out, "rule 1")
    assert "order 'O1' unit 2 step 'burn_in' is missing" in out[0]


def test_rule1_step_twice() -> None:
    """A step scheduled twice is reported under rule 1 (and as a duplicate item id)."""
    p = _problem()
    out = validate(p, _build(p, [*BASE_PLAN, ("O1", 1, "test", "A-TST", 480)]))
    assert any(v.startswith("rule 1:") and "appears 2 times" in v for v in out)
    assert _kinds(out) <= {"rule 1", "format"}


# ---- rule 2 ----------------------------------------------------------------------------------


def test_rule2_step_before_previous_ends() -> None:
    """A test starting before its unit's assembly ends breaks rule 2."""
    p = _problem()
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O1", 1, "test", "A-TST", 420))))
    _only(out, "rule 2")
    assert "'O1/1/test'" in out[0] and "'O1/1/assembly'" in out[0]


# ---- rule 3 ----------------------------------------------------------------------------------


def test_rule3_before_release() -> None:
    """A unit starting before its order's release breaks rule 3."""
    def later_release(d: dict[str, Any]) -> None:
        d["orders"][1]["release"] = "2026-12-01T09:00:00Z"

    p = _problem(later_release)
    out = validate(p, _build(p, BASE_PLAN))
    _only(out, "rule 3")
    assert "order 'O2' release" in out[0]


def test_rule3_before_horizon_start() -> None:
    """A (non-fixed) step before horizon_start breaks rule 3."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 2, "assembly", "B-ASM", -60),
                    ("O1", 2, "test", "B-TST", 60), ("O1", 2, "burn_in", "B-BI", 120))
    out = validate(p, _build(p, plan))
    _only(out, "rule 3")
    assert "horizon_start" in out[0]


# ---- rule 4 ----------------------------------------------------------------------------------


def test_rule4_unit_split_over_two_sites() -> None:
    """A unit assembled at A and tested at B breaks rule 4."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 2, "test", "B-TST", 720),
                    ("O1", 2, "burn_in", "B-BI", 780))
    out = validate(p, _build(p, plan))
    _only(out, "rule 4")
    assert "order 'O1' unit 2 runs at several sites: A, B" in out[0]


def test_rule4_site_not_allowed() -> None:
    """A unit of an order allowed only at A, run wholly at B, breaks rule 4."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O2", 1, "assembly", "B-ASM", 480),
                    ("O2", 1, "test", "B-TST", 600), ("O2", 1, "burn_in", "B-BI", 660))
    out = validate(p, _build(p, plan))
    _only(out, "rule 4")
    assert "site 'B'" in out[0] and "allowed_sites (A)" in out[0]


def test_rule4_other_allowed_site_is_fine() -> None:
    """A whole unit moved to another allowed site (B, open around the clock) is valid."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 2, "assembly", "B-ASM", 0),
                    ("O1", 2, "test", "B-TST", 120), ("O1", 2, "burn_in", "B-BI", 180))
    assert validate(p, _build(p, plan)) == []


# ---- rule 5 ----------------------------------------------------------------------------------


def test_rule5_resource_not_qualified() -> None:
    """A test on a test machine qualified only for product Q breaks rule 5."""
    p = _problem()
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O1", 1, "test", "A-TST-Q", 480))))
    _only(out, "rule 5")
    assert "'A-TST-Q'" in out[0] and "product 'P'" in out[0]


def test_rule5_wrong_kind() -> None:
    """A test run on an assembly machine breaks rule 5."""
    p = _problem()
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O1", 2, "test", "A-ASM", 720))))
    _only(out, "rule 5")


def test_rule5_wrong_duration() -> None:
    """A 60-minute test run for 30 minutes breaks rule 5."""
    p = _problem()
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O1", 1, "test", "A-TST", 480, 510))))
    _only(out, "rule 5")
    assert "lasts 30 min" in out[0] and "takes 60 min" in out[0]


def test_rule5_alternatives_durations() -> None:
    """With alternatives each resource has its own duration; another resource breaks rule 5."""
    def alternatives(d: dict[str, Any]) -> None:
        d["products"][0]["routing"][1] = {
            "op": "test", "alternatives": [{"resource": "A-TST", "duration_min": 45},
                                           {"resource": "B-TST", "duration_min": 90}]}

    p = _problem(alternatives)
    assert validate(p, _build(p, BASE_PLAN)) == []
    plan = _replace(BASE_PLAN, ("O1", 1, "test", "A-TST", 480, 540))
    out = validate(p, _build(p, plan))
    _only(out, "rule 5")
    assert "takes 45 min" in out[0]


# ---- rule 6 ----------------------------------------------------------------------------------


def test_rule6_step_across_shift_end() -> None:
    """A step running past the last shift's end (22:00) breaks rule 6."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O2", 1, "test", "A-TST", 1290),
                    ("O2", 1, "burn_in", "A-BI", 1350))
    out = validate(p, _build(p, plan))
    _only(out, "rule 6")
    assert "'O2/1/test'" in out[0] and "site 'A'" in out[0]


def test_rule6_back_to_back_shifts_merge() -> None:
    """A step across two back-to-back shifts (13:30-14:30) is valid."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O2", 1, "test", "A-TST", 810),
                    ("O2", 1, "burn_in", "A-BI", 870))
    assert validate(p, _build(p, plan)) == []


def test_rule6_step_on_holiday() -> None:
    """An assembly on the site's holiday (Fri 25 Dec) breaks rule 6; 24x7 burn-in does not."""
    p = _problem()
    d25 = 24 * DAY
    plan = _replace(BASE_PLAN, ("O2", 1, "assembly", "A-ASM", d25 + 480),
                    ("O2", 1, "test", "A-TST", d25 + DAY + 480),
                    ("O2", 1, "burn_in", "A-BI", d25 + DAY + 600))
    out = validate(p, _build(p, plan))
    _only(out, "rule 6")
    assert len(out) == 1 and "'O2/1/assembly'" in out[0]
    assert "2026-12-25 is a holiday" in out[0]
    ok = _replace(plan, ("O2", 1, "assembly", "A-ASM", d25 - 360),  # 18:00 on the 24th
                  ("O2", 1, "test", "A-TST", d25 - 240),
                  ("O2", 1, "burn_in", "A-BI", d25 + 60))  # 24x7 burn-in on the holiday
    assert validate(p, _build(p, ok)) == []


def test_rule6_around_the_clock_site_holiday() -> None:
    """At a site without shifts a step on a holiday breaks rule 6, one just before it is fine."""
    p = _problem()
    d25 = 24 * DAY
    good = _replace(BASE_PLAN, ("O1", 2, "assembly", "B-ASM", d25 - 420),
                    ("O1", 2, "test", "B-TST", d25 - 300), ("O1", 2, "burn_in", "B-BI",
                                                             d25 - 240))
    assert validate(p, _build(p, good)) == []
    bad = _replace(good, ("O1", 2, "burn_in", "B-BI", d25 - 200))
    out = validate(p, _build(p, bad))
    _only(out, "rule 6")


def test_rule6_step_during_downtime() -> None:
    """A 24x7 burn-in overlapping its resource's downtime breaks rule 6."""
    p = _problem()
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O2", 1, "burn_in", "A-BI", 2700))))
    _only(out, "rule 6")
    assert "downtime" in out[0]


def test_rule6_downtime_rounds_outward() -> None:
    """Downtime ending 08:00:30 blocks minute 08:00 (rounded up); 08:01 is free."""
    p = _problem()
    at_0800 = 2 * DAY + 480
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O2", 1, "burn_in", "A-BI", at_0800))))
    _only(out, "rule 6")
    plan = _replace(BASE_PLAN, ("O2", 1, "burn_in", "A-BI", at_0800 + 1))
    assert validate(p, _build(p, plan)) == []


def test_rule6_24x7_ignores_shifts() -> None:
    """A 24x7 burn-in running through the night (22:00-02:00) is valid."""
    p = _problem()
    assert validate(p, _build(p, _replace(BASE_PLAN, ("O2", 1, "burn_in", "A-BI", 1320)))) == []


def _night_problem(horizon: str, duration: int) -> Problem:
    """One Chicago site with a nightly 22:00-06:00 shift and a one-step product."""
    return load_problem({
        "horizon_start": horizon,
        "sites": [{"id": "N", "timezone": "America/Chicago",
                   "shifts": [{"days": ALL_DAYS, "start": "22:00", "end": "06:00"}]}],
        "resources": [{"id": "N-1", "site": "N", "kind": "k"}],
        "products": [{"id": "X", "routing": [{"op": "run", "kind": "k",
                                              "duration_min": duration}]}],
        "orders": [{"id": "O", "product": "X", "quantity": 1, "due": "2027-01-01T00:00:00Z"}],
    })


def test_rule6_night_shift_past_midnight() -> None:
    """A full 8-hour step in a 22:00-06:00 night shift (across midnight) is valid."""
    p = _night_problem("2026-12-01T00:00:00Z", 480)
    start = 4 * 60  # 22:00 CST on 30 Nov = 04:00Z on 1 Dec
    assert validate(p, _build(p, [("O", 1, "run", "N-1", start)])) == []
    out = validate(p, _build(p, [("O", 1, "run", "N-1", start + 1)]))
    _only(out, "rule 6")


def test_rule6_dst_long_night() -> None:
    """A 9-hour step fits the night of 31 Oct-1 Nov 2026 (fall back) but no normal night."""
    p = _night_problem("2026-10-30T00:00:00Z", 540)
    long_night = DAY + 27 * 60  # Sat 31 Oct 22:00 CDT = 1 Nov 03:00Z
    assert validate(p, _build(p, [("O", 1, "run", "N-1", long_night)])) == []
    normal_night = 27 * 60  # Fri 30 Oct 22:00 CDT = 31 Oct 03:00Z: 480 minutes only
    out = validate(p, _build(p, [("O", 1, "run", "N-1", normal_night)]))
    _only(out, "rule 6")


def test_rule6_dst_short_night() -> None:
    """An 8-hour step does not fit the night of 7-8 Mar 2026 (spring forward: 420 minutes)."""
    p = _night_problem("2026-03-06T00:00:00Z", 480)
    friday = 28 * 60  # Fri 6 Mar 22:00 CST = 7 Mar 04:00Z
    assert validate(p, _build(p, [("O", 1, "run", "N-1", friday)])) == []
    out = validate(p, _build(p, [("O", 1, "run", "N-1", friday + DAY)]))
    _only(out, "rule 6")


# ---- rule 7 ----------------------------------------------------------------------------------


def test_rule7_three_steps_on_capacity_two() -> None:
    """Three tests at once on a capacity-2 tester break rule 7, naming all three."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 1, "test", "A-TST", 720), ("O1", 1, "burn_in", "A-BI", 780),
                    ("O2", 1, "test", "A-TST", 720), ("O2", 1, "burn_in", "A-BI", 1260),
                    ("O1", 2, "burn_in", "A-BI", 1020))
    out = validate(p, _build(p, plan))
    _only(out, "rule 7")
    assert out == [
        "rule 7: resource 'A-TST' runs 3 steps at 2026-12-01T12:00:00Z (capacity 2): "
        "O1/1/test, O1/2/test, O2/1/test"
    ]


def test_rule7_capacity_one_overlap() -> None:
    """Two assemblies overlapping on a capacity-1 machine break rule 7."""
    p = _problem()
    out = validate(p, _build(p, _replace(BASE_PLAN, ("O1", 2, "assembly", "A-ASM", 590))))
    _only(out, "rule 7")
    assert "resource 'A-ASM' runs 2 steps" in out[0]


def _single_step_problem(n: int, capacity: int) -> Problem:
    return load_problem({
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "S", "timezone": "UTC"}],
        "resources": [{"id": "M", "site": "S", "kind": "k", "capacity": capacity}],
        "products": [{"id": "X", "routing": [{"op": "run", "kind": "k", "duration_min": 60}]}],
        "orders": [{"id": f"O{i}", "product": "X", "quantity": 1,
                    "due": "2026-12-02T00:00:00Z"} for i in range(n)],
    })


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    capacity=st.integers(1, 3),
    starts=st.lists(st.integers(0, 300), min_size=1, max_size=8),
)
def test_rule7_sweep_matches_brute_force(capacity: int, starts: list[int]) -> None:
    """Rule 7 fires exactly when some instant has more than `capacity` 60-min steps running."""
    p = _single_step_problem(len(starts), capacity)
    plan: list[Placement] = [(f"O{i}", 1, "run", "M", t) for i, t in enumerate(starts)]
    out = validate(p, _build(p, plan))
    overloaded = any(sum(1 for u in starts if u <= t < u + 60) > capacity for t in starts)
    assert _kinds(out) == ({"rule 7"} if overloaded else set()), out


# ---- rule 8 ----------------------------------------------------------------------------------


def test_rule8_power_cap_exceeded() -> None:
    """Three 40 kW burn-ins at once exceed site A's 100 kW cap (rule 8)."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 1, "burn_in", "A-BI", 780),
                    ("O2", 1, "burn_in", "A-BI", 780))
    out = validate(p, _build(p, plan))
    _only(out, "rule 8")
    assert out == [
        "rule 8: site 'A' draws 120 kW at 2026-12-01T13:00:00Z (power_cap_kw 100): "
        "O1/1/burn_in, O1/2/burn_in, O2/1/burn_in"
    ]


def test_rule8_exactly_at_cap_is_fine() -> None:
    """Two 50 kW steps under a 100 kW cap are valid; a third 0.1 kW step is not."""
    def fifty(d: dict[str, Any]) -> None:
        d["products"][0]["routing"][2]["power_kw"] = 50

    p = _problem(fifty)
    assert validate(p, _build(p, BASE_PLAN)) == []  # 100 kW at 11:00-13:00 and 13:00-15:00

    def fractional(d: dict[str, Any]) -> None:
        d["products"][0]["routing"][2]["power_kw"] = 0.1
        d["sites"][0]["power_cap_kw"] = 0.3

    p = _problem(fractional)  # 0.1 + 0.1 + 0.1 is 0.30000000000000004 in floats: allowed
    plan = _replace(BASE_PLAN, ("O1", 1, "burn_in", "A-BI", 780),
                    ("O2", 1, "burn_in", "A-BI", 780))
    assert validate(p, _build(p, plan)) == []


# ---- rule 9 ----------------------------------------------------------------------------------


def test_rule9_delivery_without_transit() -> None:
    """A delivery that forgets the 600-minute transit to 'west' breaks rule 9."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    s["orders"][0]["delivery"] = _stamp(p, 1020)
    out = validate(p, s)
    _only(out, "rule 9")
    assert "order 'O1'" in out[0] and "2026-12-02T03:00:00Z" in out[0]


def test_rule9_wrong_tardiness_of_order() -> None:
    """An order claimed on time although it is 180 minutes late breaks rule 9."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    s["orders"][1]["tardiness_min"] = 0
    out = validate(p, s)
    _only(out, "rule 9")
    assert "order 'O2': tardiness_min 0 should be 180" in out[0]


def test_rule9_transit_depends_on_site() -> None:
    """A unit finished at B uses B's transit (60), so O1 delivers earlier there."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 2, "assembly", "B-ASM", 0),
                    ("O1", 2, "test", "B-TST", 120), ("O1", 2, "burn_in", "B-BI", 180))
    s = _build(p, plan)
    assert s["orders"][0]["delivery"] == _stamp(p, 780 + 600)
    assert validate(p, s) == []


# ---- rules 6-8 one step at a time (Occupancy) ------------------------------------------------


def _steps(problem: Problem, plan: Sequence[Placement]) -> list[FixedStep]:
    """The placements of `plan` as steps (start, end) at their durations."""
    items = _build(problem, plan)["items"]
    return [FixedStep(order=it["order"], unit=it["unit"], op=it["op"], resource=it["group"],
                      start=it["start"], end=it["end"]) for it in items]


def _rule_lines(violations: list[str], *rules: int) -> list[str]:
    return [v for v in violations if v.split(":", 1)[0] in {f"rule {r}" for r in rules}]


@pytest.mark.parametrize(("candidate", "rule"), [
    (("O2", 1, "test", "A-TST", 720), 7),
    (("O2", 1, "burn_in", "A-BI", 780), 8),
])
def test_occupancy_judges_a_step_as_validate_judges_the_schedule(
    candidate: Placement, rule: int
) -> None:
    """A step that overloads the placed ones gets the very line `validate` writes for the
    schedule with it (rule 7: a third test on a capacity-2 tester; rule 8: a third 40 kW
    burn-in under 100 kW); placed an hour later elsewhere it fits."""
    p = _problem()
    plan = _replace(BASE_PLAN, ("O1", 1, "test", "A-TST", 720), ("O1", 1, "burn_in", "A-BI", 780),
                    ("O2", 1, "test", "A-TST", 1200), ("O2", 1, "burn_in", "A-BI", 1260),
                    ("O1", 2, "burn_in", "A-BI", 1020))
    if rule == 8:
        plan = _replace(BASE_PLAN, ("O1", 1, "burn_in", "A-BI", 780))
    placed = [s for s in _steps(p, plan) if (s.order, s.unit, s.op) != candidate[:3]]
    occ = Occupancy(p, placed)
    whole = validate(p, _build(p, _replace(plan, candidate)))
    (step,) = _steps(p, [candidate])
    assert occ.faults(step) == whole == _rule_lines(whole, rule) != []
    (later,) = _steps(p, [(*candidate[:3], "B-TST" if rule == 7 else "B-BI", 1500)])
    assert occ.faults(later) == []


def test_occupancy_window_faults_name_the_downtime_and_the_shift() -> None:
    """Rule 6 for one step: a burn-in over its bay's downtime, an assembly past the last
    shift; the lines are those of `validate`, and they do not depend on what is placed."""
    p = _problem()
    occ = Occupancy(p)
    for candidate in (("O1", 1, "burn_in", "A-BI", 2 * DAY + 300),
                      ("O1", 1, "assembly", "A-ASM", 1260)):
        (step,) = _steps(p, [candidate])
        whole = validate(p, _build(p, _replace(BASE_PLAN, candidate)))
        assert occ.window_faults(step) == _rule_lines(whole, 6) != []
        assert occ.load_faults(step) == []
    assert "downtime 2026-12-03T00:00:00Z to 2026-12-03T08:01:00Z" in occ.faults(
        _steps(p, [("O1", 1, "burn_in", "A-BI", 2 * DAY + 300)])[0])[0]


def test_occupancy_uses_the_validators_exact_power_sums() -> None:
    """Three 0.1 kW steps under a 0.3 kW cap fit one at a time, as the whole schedule
    does (the float sum 0.30000000000000004 is within the slack); a fourth does not."""
    def fractional(d: dict[str, Any]) -> None:
        d["products"][0]["routing"][2]["power_kw"] = 0.1
        d["sites"][0]["power_cap_kw"] = 0.3
        d["resources"][3]["capacity"] = 4
        d["orders"][0]["quantity"] = 3

    p = _problem(fractional)
    occ = Occupancy(p)
    for unit, order in ((1, "O1"), (2, "O1"), (1, "O2")):
        (step,) = _steps(p, [(order, unit, "burn_in", "A-BI", 780)])
        assert occ.faults(step) == []
        occ.add(step)
    (fourth,) = _steps(p, [("O1", 3, "burn_in", "A-BI", 900)])
    (fault,) = occ.faults(fourth)
    assert fault.startswith("rule 8: site 'A' draws 0.4 kW at 2026-12-01T15:00:00Z")


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["M1", "M2", "M3"]), st.integers(0, 60)),
                min_size=1, max_size=10))
def test_steps_placed_one_at_a_time_are_judged_as_the_schedule(
    draws: list[tuple[str, int]]
) -> None:
    """Steps offered one by one to an `Occupancy`, each placed when it fits: each verdict
    equals validate's rule 6-8 lines for the steps placed so far plus it, and the steps
    placed form a schedule without a rule 6-8 violation."""
    p = load_problem({
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "S", "timezone": "UTC", "power_cap_kw": 100,
                   "shifts": [{"days": ALL_DAYS, "start": "01:00", "end": "23:00"}]}],
        "resources": [
            {"id": "M1", "site": "S", "kind": "k"},
            {"id": "M2", "site": "S", "kind": "k", "capacity": 2,
             "downtime": [{"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z"}]},
            {"id": "M3", "site": "S", "kind": "k", "capacity": 3, "calendar": "24x7"}],
        "products": [{"id": "X", "routing": [{"op": "run", "kind": "k", "duration_min": 120,
                                              "power_kw": 40}]}],
        "orders": [{"id": f"O{i}", "product": "X", "quantity": 1,
                    "due": "2026-12-02T00:00:00Z"} for i in range(len(draws))],
    })
    occ = Occupancy(p)
    placed: list[Placement] = []
    for i, (rid, at) in enumerate(draws):
        candidate: Placement = (f"O{i}", 1, "run", rid, 20 * at)
        (step,) = _steps(p, [candidate])
        whole = _rule_lines(validate(p, _build(p, [*placed, candidate])), 6, 7, 8)
        assert occ.faults(step) == whole
        if not whole:
            occ.add(step)
            placed.append(candidate)
    assert _rule_lines(validate(p, _build(p, placed)), 6, 7, 8) == []


def test_a_limit_in_force_is_judged_from_the_instant_it_changes() -> None:
    """The sweep behind rules 7 and 8 reads a limit that varies over time (the shape a
    time-varying power cap takes): a steady load of 3 breaks a limit that drops from 4
    to 2 at instant 50 and rises to 5 at 80, from 50 on, once."""
    loads = [(0, 100, "a", 1), (0, 100, "b", 1), (10, 100, "c", 1)]
    got = _overloads(loads, [(0, 4), (50, 2), (80, 5)])
    assert [(t, sorted(ids), n, cap) for t, ids, n, cap in got] == [(50, ["a", "b", "c"], 3, 2)]
    assert _overloads(loads, [(0, None), (50, 2), (60, None)])[0][0] == 50
    assert _overloads(loads, [(0, 3)]) == []


# ---- fixed steps -----------------------------------------------------------------------------


def _with_fixed(d: dict[str, Any]) -> None:
    """O1/1 assembly already ran 23:00-00:40 the night before the horizon (100 minutes)."""
    d["fixed"] = [{"order": "O1", "unit": 1, "op": "assembly", "resource": "A-ASM",
                   "start": "2026-11-30T23:00:00Z", "end": "2026-12-01T00:40:00Z"}]


def test_fixed_step_kept_is_valid() -> None:
    """A fixed step kept as given is valid though before horizon, off shift and short."""
    p = _problem(_with_fixed)
    plan = _replace(BASE_PLAN, ("O1", 1, "assembly", "A-ASM", -60, 40))
    assert validate(p, _build(p, plan)) == []


def test_fixed_step_moved() -> None:
    """A fixed step moved by an hour is a 'fixed:' violation naming the item."""
    p = _problem(_with_fixed)
    plan = _replace(BASE_PLAN, ("O1", 1, "assembly", "A-ASM", 0, 100))
    out = validate(p, _build(p, plan))
    _only(out, "fixed")
    assert "'O1/1/assembly'" in out[0] and "'A-ASM'" in out[0]


def test_fixed_step_still_counts_for_capacity() -> None:
    """Rule 7 applies to fixed steps: another assembly overlapping one breaks it."""
    p = _problem(_with_fixed)
    plan = _replace(BASE_PLAN, ("O1", 1, "assembly", "A-ASM", -60, 40),
                    ("O1", 2, "assembly", "A-ASM", 0), ("O1", 2, "test", "A-TST", 360))
    out = validate(p, _build(p, plan))
    assert _kinds(out) == {"rule 6", "rule 7"}  # 00:00 is also off shift for a normal step


# ---- KPIs and objective ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("total_weighted_tardiness_min", 180), ("on_time", 2), ("makespan_min", 1000),
     ("orders", 3)],
)
def test_kpi_wrong_claims(key: str, value: float) -> None:
    """A claimed KPI that differs from the items is a 'kpi:' violation naming it."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    s["kpis"][key] = value
    out = validate(p, s)
    _only(out, "kpi")
    assert f"kpis.{key}" in out[0]


def test_kpi_weighted_tardiness_uses_exact_weights() -> None:
    """Fractional weights are used exactly: 180 min x 1.5 = 270, within 1e-3."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    s["kpis"]["total_weighted_tardiness_min"] = 270.0004
    s["objective_value"] = s["lower_bound"] = 270.0004
    assert validate(p, s) == []
    s["kpis"]["total_weighted_tardiness_min"] = 270.01
    assert _kinds(validate(p, s)) == {"kpi"}


def test_kpi_wrong_utilization() -> None:
    """A wrong utilization figure, or a missing resource in it, is a 'kpi:' violation."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    # A-ASM: 360 busy minutes over the open 06:00-17:00 (660) of [0, 1020]
    assert s["kpis"]["utilization"]["A-ASM"] == round(360 / 660, 4)
    s["kpis"]["utilization"]["A-ASM"] = 0.5
    out = validate(p, s)
    _only(out, "kpi")
    assert "'A-ASM'" in out[0]
    del s["kpis"]["utilization"]["B-BI"]
    s["kpis"]["utilization"]["A-ASM"] = round(360 / 660, 4)
    out = validate(p, s)
    _only(out, "kpi")
    assert "B-BI" in out[0]


def test_objective_value_and_lower_bound() -> None:
    """A wrong objective_value, or a lower_bound above it, is a 'kpi:' violation."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    s["objective_value"] = 200
    s["lower_bound"] = 100
    s["gap"] = 0.5
    out = validate(p, s)
    _only(out, "kpi")
    assert any("objective_value 200 should be 270" in v for v in out)
    s = _build(p, BASE_PLAN)
    s["lower_bound"] = 300
    s["gap"] = (270 - 300) / 270
    out = validate(p, s)
    _only(out, "kpi")
    assert "lower_bound 300 exceeds objective_value 270" in out[0]


def test_makespan_objective() -> None:
    """With objective makespan, objective_value is the last end (1020)."""
    p = _problem(lambda d: d.__setitem__("objective", "makespan"))
    s = _build(p, BASE_PLAN)
    assert s["objective_value"] == 1020
    assert validate(p, s) == []
    s["objective_value"] = 270
    s["lower_bound"] = 0
    s["gap"] = 1.0
    assert _kinds(validate(p, s)) == {"kpi"}


# ---- shape -----------------------------------------------------------------------------------


def test_format_unknown_resource() -> None:
    """An item on a resource that does not exist is a 'format:' violation naming it."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    _item(s, "O1/1/test")["group"] = "NOPE"
    out = validate(p, s)
    assert any(v.startswith("format:") and "'NOPE'" in v for v in out)
    assert not any(v.startswith("rule") for v in out)


def test_format_bad_times() -> None:
    """Unparseable times, a start_min that disagrees with start, and naive times are 'format:'."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    _item(s, "O1/1/test")["start_min"] = 481
    _item(s, "O1/2/test")["end"] = "2026-12-01T13:00:00"
    _item(s, "O2/1/test")["start"] = "yesterday"
    out = validate(p, s)
    assert _kinds(out) == {"format"}
    assert len(out) == 3


def test_format_missing_fields_and_depends_on() -> None:
    """A missing item field and a wrong depends_on are 'format:' violations."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    del _item(s, "O1/1/test")["product"]
    _item(s, "O1/2/burn_in")["depends_on"] = ["O1/2/assembly"]
    out = validate(p, s)
    _only(out, "format")
    assert any("missing product" in v for v in out)
    assert any("'O1/2/burn_in': depends_on" in v for v in out)
    del s["kpis"]
    assert "format: missing field 'kpis'" in validate(p, s)


def test_format_wrong_site_and_product() -> None:
    """An item whose site or product disagrees with its resource or order is 'format:'."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    _item(s, "O1/1/test")["site"] = "B"
    _item(s, "O1/2/test")["product"] = "Q"
    out = validate(p, s)
    _only(out, "format")
    assert len(out) == 2


def test_infeasible_needs_reasons_and_no_items() -> None:
    """An INFEASIBLE result must have no items and a non-empty list of reasons."""
    p = _problem()
    ok = {"status": "INFEASIBLE", "objective": "tardiness", "items": [],
          "reasons": ["order 'O2': no allowed site can run step 'test'"]}
    assert validate(p, ok) == []
    assert validate(p, {"status": "UNKNOWN", "reasons": ["no schedule found in 1 s"]}) == []
    bad = dict(ok, reasons=[])
    _only(validate(p, bad), "format")
    s = _build(p, BASE_PLAN)
    s["status"] = "INFEASIBLE"
    s["reasons"] = ["because"]
    out = validate(p, s)
    _only(out, "format")
    assert "9 items" in out[0]


def test_garbage_never_raises() -> None:
    """Wrongly typed values anywhere give 'format:' lines, never an exception."""
    p = _problem()
    s = _build(p, BASE_PLAN)
    s["items"][0]["order"] = ["O1"]
    s["items"][1]["group"] = {"x": 1}
    s["items"][2]["unit"] = "1"
    s["orders"][0]["delivery"] = "2026-13-45T00:00:00Z"
    s["groups"].append({"id": ["x"]})
    s["kpis"]["utilization"] = [1]
    out = validate(p, s)
    assert out and "format" in _kinds(out)
    assert validate(p, {"status": 3}) == ["format: status 3 is not one of OPTIMAL, FEASIBLE, "
                                          "INFEASIBLE, UNKNOWN"]
    assert _kinds(validate(p, {"status": "FEASIBLE", "items": "x"})) == {"format", "rule 1"}


# ---- cross-check of rule 6 with solver.calendar ------------------------------------------


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    start=st.integers(0, 12 * 60 - 1).map(lambda h: h * 5),
    duration=st.integers(1, 20).map(lambda q: q * 30),
    shift_start=st.sampled_from(["00:00", "01:30", "06:00", "14:00", "22:00"]),
    shift_end=st.sampled_from(["02:30", "06:00", "14:00", "22:00", "24:00"]),
    days=st.lists(st.sampled_from(ALL_DAYS), min_size=1, max_size=7, unique=True),
    horizon=st.sampled_from(["2026-03-06T00:00:00Z", "2026-10-30T00:00:00Z"]),
)
def test_rule6_agrees_with_calendar(
    start: int, duration: int, shift_start: str, shift_end: str, days: list[str], horizon: str
) -> None:
    """Rule 6's verdict equals 'inside one window of solver.calendar' around DST changes."""
    p = load_problem({
        "horizon_start": horizon,
        "sites": [{"id": "N", "timezone": "America/Chicago", "holidays": ["2026-03-08"],
                   "shifts": [{"days": days, "start": shift_start, "end": shift_end}]}],
        "resources": [{"id": "N-1", "site": "N", "kind": "k"}],
        "products": [{"id": "X", "routing": [{"op": "run", "kind": "k",
                                              "duration_min": duration}]}],
        "orders": [{"id": "O", "product": "X", "quantity": 1, "due": "2027-01-01T00:00:00Z"}],
    })
    windows = resource_windows(p.resources[0], p.sites[0], p.horizon_start, 6 * DAY)
    inside = any(a <= start and start + duration <= b for a, b in windows)
    out = validate(p, _build(p, [("O", 1, "run", "N-1", start)]))
    assert any(v.startswith("rule 6:") for v in out) == (not inside), (windows, out)


# ---- scale -------------------------------------------------------------------------------------


def test_forty_thousand_items_in_seconds() -> None:
    """A valid 40,000-item schedule is judged free of rule violations within a few seconds."""
    kinds = ["a", "b", "c", "d"]
    per_kind = 40
    p = load_problem({
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "S", "timezone": "America/Chicago", "power_cap_kw": 300,
                   "shifts": [{"days": ALL_DAYS, "start": "06:00", "end": "22:00"}]}],
        "resources": [{"id": f"{k}{i}", "site": "S", "kind": k}
                      for k in kinds for i in range(per_kind)],
        "products": [{"id": "P", "routing": [
            {"op": k, "kind": k, "duration_min": 30, "power_kw": 1.7} for k in kinds]}],
        "orders": [{"id": f"O{i}", "product": "P", "quantity": 10,
                    "due": "2027-01-01T00:00:00Z"} for i in range(1000)],
    })
    items: list[dict[str, Any]] = []
    for n in range(10_000):
        r, j = n % per_kind, n // per_kind
        day, slot = divmod(j, 29)  # 29 pipelined 2-hour units fit 06:00-22:00 CST
        base = day * DAY + 12 * 60 + 30 * slot  # 06:00 CST = 12:00Z
        oid, unit = f"O{n // 10}", n % 10 + 1
        for k, op in enumerate(kinds):
            t = base + 30 * k
            items.append({
                "id": f"{oid}/{unit}/{op}", "group": f"{op}{r}", "order": oid, "unit": unit,
                "op": op, "product": "P", "site": "S", "start": _stamp(p, t),
                "end": _stamp(p, t + 30), "start_min": t, "end_min": t + 30,
                "depends_on": [] if k == 0 else [f"{oid}/{unit}/{kinds[k - 1]}"],
            })
    schedule = {"status": "FEASIBLE", "objective": "tardiness", "items": items}
    began = time.perf_counter()
    out = validate(p, schedule)
    elapsed = time.perf_counter() - began
    assert not [v for v in out if v.startswith(("rule", "fixed"))], out[:5]
    assert elapsed < 10, f"validating 40,000 items took {elapsed:.1f} s"
