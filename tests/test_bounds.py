"""Tests of `solver.search.bounds.order_bounds`: CP-SAT only for orders late even alone.

One line around the clock, 100-minute steps. Order A (one rack, due at 300) is on time
with the line to itself. Order B (two racks, due at 150) is not: its racks run back to
back, the second ends at 200, so B is at least 50 minutes late in any schedule — a bound
that the cheap per-unit bound (each rack alone ends at 100) does not see.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_solve import make, order

import solver.search.bounds as bounds
from solver.compiled import Compiled, compile_problem, default_horizon
from solver.dispatch import dispatch
from solver.search.bounds import lower_bound, order_bounds
from solver.search.context import Context
from solver.tuning import Tuning


def compiled() -> Compiled:
    p = make(orders=[order("A", 300), order("B", 150, quantity=2)])
    return compile_problem(p, default_horizon(p))


def test_dispatch_places_only_the_given_units() -> None:
    """`units`: the others' ops stay unplaced; B's racks run back to back from 0."""
    c = compiled()
    a_units, b_units = c.order_units
    a = dispatch(c, units=set(b_units))
    assert all(a.res[o] == -1 for u in a_units for o in c.unit_ops[u])
    assert sorted((a.start[o], a.end[o]) for u in b_units for o in c.unit_ops[u]) == [
        (0, 100), (100, 200)
    ]


def test_order_bounds_ask_cp_sat_only_for_orders_late_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A (on time alone) gets no model and no bound entry; B gets its bound of 50."""
    c = compiled()
    modelled: list[frozenset[int]] = []
    real = bounds.ModelBuilder

    def counting(*args: Any, **kw: Any) -> Any:
        modelled.append(frozenset(args[2]))
        return real(*args, **kw)

    monkeypatch.setattr(bounds, "ModelBuilder", counting)
    got = order_bounds(Context(c), [0, 1], 5.0)
    assert modelled == [frozenset(c.order_units[1])]
    assert got == {1: 50}
    assert lower_bound(c) == 0
    assert lower_bound(c, got) == 50


def test_an_order_beyond_the_unit_cap_gets_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `bounds_order_max_units` 1, B's two racks are not modelled: no entry for it."""
    c = compiled()
    built: list[object] = []
    real = bounds.ModelBuilder

    def counting(*args: Any, **kw: Any) -> Any:
        built.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(bounds, "ModelBuilder", counting)
    assert order_bounds(Context(c, tuning=Tuning(bounds_order_max_units=1)), [0, 1], 5.0) == {}
    assert built == []
