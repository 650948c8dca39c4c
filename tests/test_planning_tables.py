"""The planning model's capacity tables (`solver.planning.tables`): usable minutes.

A step lies inside one window of its resource, so a window holds only the durations that
fit into it: a 540-minute step in a 960-minute shift leaves 420 minutes no such step can
use. The model's capacity rows count that, and the bound sees a rack wait for the next
shift where available minutes alone would not.
"""

from __future__ import annotations

from brute import brute_force
from test_solve import ALL_DAYS, make, order

from solver.planning.bound import compile_for, planning_bound
from solver.planning.grid import Grid
from solver.planning.tables import _most_fitting, capacity_minutes, usable_minutes
from solver.problem import Problem

SHIFT = [{"days": ALL_DAYS, "start": "06:00", "end": "22:00"}]  # 960 minutes a day


def test_most_fitting_sums_of_durations() -> None:
    """The largest sum of the durations (each as often as it fits) within a length."""
    assert _most_fitting(960, frozenset({540})) == 540
    assert _most_fitting(960, frozenset({480, 540})) == 960
    assert _most_fitting(999, frozenset({500})) == 500
    assert _most_fitting(1000, frozenset({300, 700})) == 1000
    assert _most_fitting(200, frozenset({300})) == 0


def _line_problem(racks: int, due: int) -> Problem:
    return make(sites=[{"id": "S", "shifts": SHIFT}],
                products=[{"id": "P", "routing": [
                    {"op": "x", "kind": "line", "duration_min": 540}]}],
                orders=[order(f"O{i}", due) for i in range(racks)])


def test_usable_minutes_per_day() -> None:
    """One line on 06:00-22:00 shifts, day buckets: 960 available minutes a day, of which
    540-minute steps can use 540; a window that spans two buckets counts in full."""
    p = _line_problem(1, 3 * 1440)
    c = compile_for(p, 1440)
    grid = Grid(1440, 3)
    assert capacity_minutes(c, grid, 0) == [960.0] * 3
    assert usable_minutes(c, grid, 0, frozenset({540})) == [540.0] * 3
    assert usable_minutes(c, grid, 0, frozenset({480})) == [960.0] * 3
    assert usable_minutes(c, grid, 0, frozenset({540}), frozenset({1})) == [540.0, 960.0, 540.0]
    week = Grid(7 * 1440, 1)
    assert usable_minutes(c, week, 0, frozenset({540}))[0] == 7 * 540


def test_bound_sees_the_rack_that_waits_for_the_next_shift() -> None:
    """Three 540-minute racks due at the end of the second day's shift: two days of 960
    minutes hold 1,620 minutes of work, but only one such step a day, so one rack ends the
    next day (brute force agrees); with usable minutes the day-bucket bound sees it."""
    due = 1440 + 22 * 60
    p = _line_problem(3, due)
    best = brute_force(p)
    assert best is not None and float(best[0]) > 0
    got = planning_bound(p, bucket="day", time_limit=10)
    assert got.value is not None, got.reasons
    assert 0 < got.value <= float(best[0]) + 1e-6


def test_allocation_headroom_leaves_room_in_every_capacity_row() -> None:
    """With `headroom` 0.6 the allocation plans on no step type's resources more than 0.6
    of their available minutes in any bucket (the relaxation, rounded: quick)."""
    from bench.instances import generate
    from solver.planning import allocate
    from solver.problem import load_problem

    p = load_problem(generate(150, 0))
    got = allocate(p, bucket="week", time_limit=20, integer=False, headroom=0.6)
    assert got.orders, got.reasons
    c = compile_for(p, 10080)
    rid = {r: i for i, r in enumerate(c.res_ids)}
    grid = Grid(10080, max(len(ld.minutes) for ld in got.load))
    for ld in got.load:
        avail = [sum(col) for col in zip(*(capacity_minutes(c, grid, rid[r])
                                           for r in ld.resources), strict=True)]
        for b, used in enumerate(ld.minutes):
            assert used <= 0.6 * avail[b] + 1e-3, (ld.site, ld.resources, b)
