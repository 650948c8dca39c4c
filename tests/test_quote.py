"""Tests of `solver.quote` on tiny hand-made plans: the held answer moves nothing and delays
no order, the binding constraint is the one that holds the rack (a busy bay, a power cap,
nothing but the routing), the date if others may be later names them, and a floor that
moved off the plan is replanned first."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from solver.diff import diff  # noqa: E402
from solver.problem import Objective, Order, ProblemError  # noqa: E402
from solver.quote import QuoteParams, quote  # noqa: E402
from solver.validate import validate  # noqa: E402
from tests.test_explain import _plan, _problem  # noqa: E402  (the same hand-made cases)

QUICK = QuoteParams(seconds=0.2, alternative_seconds=0.5, baseline_seconds=0.5, workers=1,
                    frozen_hours=0)
NEW = Order(id="Q", product="P", quantity=1, due="2026-11-02T00:00:00Z")
ONE_BAY = _problem([{"id": "E", "due": "2026-11-02T12:00:00Z", "weight": 1}])


def test_busy_bay_binds_and_nothing_moves() -> None:
    """One bay held by E until 10:00: the quote is delivered at 20:00, the bay at S named
    with its holder and until when; the plan validates, moves no step, delays nothing; if
    E may be later, the quote goes first and E is 10 h later; unless E's step is in the
    frozen window."""
    published = _plan(ONE_BAY, {"E/1/burn_in": ("BI-1", 0)})
    q = quote(ONE_BAY, published, NEW, params=QUICK)
    assert q.delivery == "2026-11-02T20:00:00Z" and q.sites == ["S"]
    assert q.earliest_alone == "2026-11-02T10:00:00Z"
    assert q.baseline == "published" and q.proven
    b = q.binding[0]
    assert (b["cause"], b["subject"], b["until"]) == (
        "resource", "burn_in at S", "2026-11-02T10:00:00Z")
    assert b["ids"]["orders"] == ["E"] and b["ids"]["resources"] == ["BI-1"]
    assert validate(q.problem, q.schedule) == []
    d = diff(published, q.schedule)
    assert d["summary"]["steps_moved"] == 0 and d["summary"]["orders_delivery_changed"] == 0
    assert next(o for o in q.problem.orders if o.id == "Q").due.hour == 20  # due as quoted
    alt = q.alternative
    assert alt is not None and q.alternative_problem and q.alternative_schedule
    assert alt["delivery"] == "2026-11-02T10:00:00Z" and alt["earlier_by_min"] == 600
    assert [(r["order"], r["later_by_min"]) for r in alt["later"]] == [("E", 600)]
    assert alt["weighted_tardiness_added_min"] == 480  # E was due at 12:00, now 20:00
    assert validate(q.alternative_problem, q.alternative_schedule) == []
    frozen = quote(ONE_BAY, published, NEW, params=replace(QUICK, frozen_hours=24))
    assert frozen.delivery == q.delivery and frozen.alternative is None
    assert "no earlier date" in frozen.notes[-1]
    assert frozen.schedule["reschedule"]["kept"] == ["E/1/burn_in"]


def test_power_cap_binds() -> None:
    """Two bays, but the site's power runs one step at a time: the power cap is named."""
    p = _problem(
        [{"id": "E", "due": "2026-11-03T00:00:00Z"}],
        sites=[{"id": "S", "timezone": "UTC", "power_cap_kw": 200}],
        resources=[{"id": "BI-1", "site": "S", "kind": "burn_in"},
                   {"id": "BI-2", "site": "S", "kind": "burn_in"}],
        routing=[{"op": "burn_in", "kind": "burn_in", "duration_min": 600, "power_kw": 150}],
    )
    published = _plan(p, {"E/1/burn_in": ("BI-1", 0)})
    q = quote(p, published, NEW, due=NEW.due, params=QUICK)
    assert q.delivery == "2026-11-02T20:00:00Z"
    assert (q.binding[0]["cause"], q.binding[0]["subject"]) == ("power", "power cap at S")
    assert validate(q.problem, q.schedule) == []


def test_nothing_holds_it() -> None:
    """A free factory: the routing alone sets the date (the bound, proven)."""
    p = _problem([{"id": "E", "due": "2026-11-03T00:00:00Z"}],
                 resources=[{"id": "BI-1", "site": "S", "kind": "burn_in", "capacity": 2}])
    q = quote(p, _plan(p, {"E/1/burn_in": ("BI-1", 0)}), NEW, params=QUICK)
    assert q.delivery == q.earliest_alone == "2026-11-02T10:00:00Z" and q.proven
    assert q.binding[0]["cause"] == "routing" and q.alternative is None


def test_an_order_the_plan_lacks_is_replanned_first() -> None:
    """An order that came after the plan was published: the baseline places it around the
    held plan first, and the quote delays neither it nor E."""
    p = _problem([{"id": "E", "due": "2026-11-02T12:00:00Z"},
                  {"id": "F", "due": "2026-11-03T12:00:00Z"}])
    published = _plan(ONE_BAY, {"E/1/burn_in": ("BI-1", 0)})
    q = quote(p, published, NEW, params=QUICK)
    assert q.baseline == "replanned" and q.replanned_steps == 1 and q.notes
    assert validate(q.problem, q.schedule) == []
    rows = {o["id"]: o for o in q.schedule["orders"]}
    assert rows["E"]["delivery"] == "2026-11-02T10:00:00Z"
    assert rows["F"]["delivery"] == "2026-11-02T20:00:00Z"  # EDD: F before the quote
    assert rows["Q"]["delivery"] == "2026-11-03T06:00:00Z"


def test_an_unknown_product_is_a_problem_error() -> None:
    with pytest.raises(ProblemError):
        quote(ONE_BAY, _plan(ONE_BAY, {"E/1/burn_in": ("BI-1", 0)}),
              NEW.model_copy(update={"product": "X"}), params=QUICK)


def test_a_makespan_plan() -> None:
    """A plan on makespan: the same dates, each plan validated with the plan's objective."""
    p = ONE_BAY.model_copy(update={"objective": Objective.MAKESPAN})
    q = quote(p, _plan(p, {"E/1/burn_in": ("BI-1", 0)}), NEW, params=QUICK)
    assert q.delivery == "2026-11-02T20:00:00Z" and q.schedule["objective"] == "makespan"
    assert validate(q.problem, q.schedule) == []
    assert q.alternative is not None and q.alternative["delivery"] == "2026-11-02T10:00:00Z"
    assert q.alternative_problem and q.alternative_schedule
    assert q.alternative_schedule["objective"] == "makespan"
    assert validate(q.alternative_problem, q.alternative_schedule) == []
