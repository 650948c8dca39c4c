"""solver.diff on hand-made tiny schedules with known answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from solver.diff import diff


def item(order: str, unit: int, op: str, site: str, res: str, start: str, end: str,
         start_min: int = 0) -> dict[str, Any]:
    return {"id": f"{order}/{unit}/{op}", "group": res, "order": order, "unit": unit,
            "op": op, "product": "P", "site": site, "start": start, "end": end,
            "start_min": start_min, "end_min": start_min + 60, "depends_on": []}


def base() -> dict[str, Any]:
    """Two orders: A (one unit, two steps at HOU) and B (one step at PHX); A is late."""
    return {
        "status": "OPTIMAL", "horizon_start": "2026-12-01T00:00:00Z",
        "kpis": {"orders": 2, "on_time": 1, "total_weighted_tardiness_min": 120},
        "orders": [
            {"id": "A", "delivery": "2026-12-01T03:00:00Z", "due": "2026-12-01T01:00:00Z",
             "tardiness_min": 120, "sites": ["HOU"]},
            {"id": "B", "delivery": "2026-12-01T02:00:00Z", "due": "2026-12-02T00:00:00Z",
             "tardiness_min": 0, "sites": ["PHX"]},
        ],
        "items": [
            item("A", 1, "asm", "HOU", "HOU-ASM-1", "2026-12-01T01:00:00Z",
                 "2026-12-01T02:00:00Z", 60),
            item("A", 1, "test", "HOU", "HOU-TST-1", "2026-12-01T02:00:00Z",
                 "2026-12-01T03:00:00Z", 120),
            item("B", 1, "asm", "PHX", "PHX-ASM-1", "2026-12-01T01:00:00Z",
                 "2026-12-01T02:00:00Z", 60),
        ],
    }


def test_identical_schedules_move_nothing() -> None:
    """A schedule against itself: every step compared, nothing moved, no order changed."""
    d = diff(base(), base())
    s = d["summary"]
    assert s["steps_compared"] == 3
    assert (s["steps_moved"], s["steps_added"], s["steps_removed"]) == (0, 0, 0)
    assert (s["mean_abs_shift_min"], s["max_abs_shift_min"]) == (0.0, 0)
    assert s["orders_delivery_changed"] == 0
    assert (s["on_time_before"], s["on_time_after"]) == (1, 1)
    assert (s["weighted_tardiness_before"], s["weighted_tardiness_after"]) == (120, 120)
    assert d["steps"] == [] and d["orders"] == []


def test_one_step_later_is_one_time_shift() -> None:
    """B's step 90 minutes later on the same resource: one time shift of +90, B's
    delivery 90 minutes later; the mean shift is over the three compared steps."""
    after = base()
    after["items"][2].update(start="2026-12-01T02:30:00Z", end="2026-12-01T03:30:00Z")
    after["orders"][1]["delivery"] = "2026-12-01T03:30:00Z"
    d = diff(base(), after)
    s = d["summary"]
    assert (s["steps_moved"], s["time_shifts"], s["site_changes"], s["resource_changes"]) \
        == (1, 1, 0, 0)
    assert (s["max_abs_shift_min"], s["mean_abs_shift_min"]) == (90, 30.0)
    assert d["steps"] == [{
        "id": "B/1/asm", "order": "B", "unit": 1, "op": "asm", "change": "time",
        "before": {"site": "PHX", "resource": "PHX-ASM-1", "start": "2026-12-01T01:00:00Z",
                   "end": "2026-12-01T02:00:00Z"},
        "after": {"site": "PHX", "resource": "PHX-ASM-1", "start": "2026-12-01T02:30:00Z",
                  "end": "2026-12-01T03:30:00Z"},
        "shift_min": 90,
    }]
    assert s["orders_delivery_changed"] == 1
    assert d["orders"] == [{
        "id": "B", "change": "delivery", "delivery_before": "2026-12-01T02:00:00Z",
        "delivery_after": "2026-12-01T03:30:00Z", "change_min": 90,
        "tardiness_before": 0, "tardiness_after": 0,
    }]


def test_a_resource_change_at_the_same_site_is_not_a_time_shift() -> None:
    """Another resource at the same site and another start: one resource change only."""
    after = base()
    after["items"][0].update(group="HOU-ASM-2", start="2026-12-01T00:30:00Z")
    s = diff(base(), after)["summary"]
    assert (s["steps_moved"], s["resource_changes"], s["time_shifts"], s["site_changes"]) \
        == (1, 1, 0, 0)


def test_a_site_change_counts_once_as_a_site_change() -> None:
    """B moved to HOU on another resource at another time: one site change, not also a
    resource change or a time shift."""
    after = base()
    after["items"][2].update(site="HOU", group="HOU-ASM-1", start="2026-12-01T00:00:00Z",
                             end="2026-12-01T01:00:00Z")
    d = diff(base(), after)
    s = d["summary"]
    assert (s["steps_moved"], s["site_changes"], s["resource_changes"], s["time_shifts"]) \
        == (1, 1, 0, 0)
    assert [(x["id"], x["change"], x["shift_min"]) for x in d["steps"]] == \
        [("B/1/asm", "site", -60)]


def test_an_added_order_adds_its_steps() -> None:
    """An order C only in `after`: its steps added in routing order, the order added,
    nothing moved."""
    after = base()
    after["items"] += [
        item("C", 1, "asm", "PHX", "PHX-ASM-1", "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"),
        item("C", 1, "test", "PHX", "PHX-TST-1", "2026-12-01T03:00:00Z", "2026-12-01T04:00:00Z"),
    ]
    after["orders"].append({"id": "C", "delivery": "2026-12-01T04:00:00Z",
                            "due": "2026-12-03T00:00:00Z", "tardiness_min": 0, "sites": ["PHX"]})
    after["kpis"]["on_time"] = 2
    d = diff(base(), after)
    s = d["summary"]
    assert (s["steps_added"], s["steps_removed"], s["steps_moved"]) == (2, 0, 0)
    assert (s["orders_added"], s["orders_delivery_changed"]) == (1, 0)
    assert (s["on_time_before"], s["on_time_after"]) == (1, 2)
    assert [(x["id"], x["change"], x["before"], x["shift_min"]) for x in d["steps"]] == [
        ("C/1/asm", "added", None, None), ("C/1/test", "added", None, None)]
    assert d["orders"][0]["id"] == "C" and d["orders"][0]["delivery_before"] is None


def test_a_cancelled_order_removes_its_steps() -> None:
    """Order A gone from `after`: its two steps removed, the order removed, B unchanged."""
    after = base()
    after["items"] = after["items"][2:]
    after["orders"] = after["orders"][1:]
    d = diff(base(), after)
    s = d["summary"]
    assert (s["steps_removed"], s["steps_added"], s["steps_moved"], s["steps_compared"]) \
        == (2, 0, 0, 1)
    assert (s["orders_removed"], s["orders_delivery_changed"]) == (1, 0)
    assert [(x["id"], x["change"], x["after"]) for x in d["steps"]] == [
        ("A/1/asm", "removed", None), ("A/1/test", "removed", None)]
    assert d["orders"] == [{
        "id": "A", "change": "removed", "delivery_before": "2026-12-01T03:00:00Z",
        "delivery_after": None, "change_min": None, "tardiness_before": 120,
        "tardiness_after": None}]


def test_another_horizon_start_with_the_same_times_moves_nothing() -> None:
    """`after` starts its horizon an hour later (every start_min 60 less) and writes times
    with an offset instead of Z: the same instants, so nothing moved."""
    after = base()
    after["horizon_start"] = "2026-12-01T01:00:00Z"
    for it in after["items"]:
        it["start_min"] -= 60
        it["end_min"] -= 60
    after["items"][0]["start"] = "2026-11-30T19:00:00-06:00"
    after["orders"][0]["delivery"] = "2026-11-30T21:00:00-06:00"
    d = diff(base(), after)
    assert d["summary"]["steps_moved"] == 0 and d["steps"] == []
    assert d["summary"]["orders_delivery_changed"] == 0


def test_steps_are_listed_by_order_unit_and_routing_position() -> None:
    """Moved steps come out by order, unit and routing position, not by op name or input
    order."""
    before = base()
    before["items"].insert(0, item("A", 2, "test", "HOU", "HOU-TST-1",
                                   "2026-12-01T05:00:00Z", "2026-12-01T06:00:00Z"))
    after = copy.deepcopy(before)
    for it in after["items"]:
        it["start"] = "2026-12-02T00:00:00Z"
    ids = [x["id"] for x in diff(before, after)["steps"]]
    assert ids == ["A/1/asm", "A/1/test", "A/2/test", "B/1/asm"]


def test_a_step_listed_twice_is_refused() -> None:
    """A schedule with one step twice is bad input, named in the error."""
    bad = base()
    bad["items"].append(copy.deepcopy(bad["items"][0]))
    with pytest.raises(ValueError, match="after schedule has step A/1/asm twice"):
        diff(base(), bad)
