"""Tests of `solver.timeline`: lanes, capacity, site power profiles and dead time.

The timeline is the partial schedule a dispatch pass builds. Each test checks one of its
parts against the rule it stands for (rule 7 capacity, rule 8 power, rule 6 calendars)
on a tiny case, or against a brute-force search on random ones.
"""

from __future__ import annotations

import random
import sys
from bisect import bisect_right
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.instances import generate  # noqa: E402
from solver.compiled import Compiled, compile_problem  # noqa: E402
from solver.dispatch import best_dispatch  # noqa: E402
from solver.problem import load_problem  # noqa: E402
from solver.timeline import Timeline, _Dead, _Lane, _Profile  # noqa: E402

SEEDS = (1, 2, 3)


def _compiled(capacity: int = 1, cap_kw: float | None = None, power_kw: float = 0.0,
              shifts: bool = False) -> Compiled:
    """One site, one line of `capacity`, 60-minute steps drawing `power_kw` (site cap
    `cap_kw`); with `shifts`, the line is open 08:00-16:00 on weekdays only."""
    site: dict[str, Any] = {"id": "S", "timezone": "UTC"}
    if cap_kw is not None:
        site["power_cap_kw"] = cap_kw
    if shifts:
        site["shifts"] = [{"days": ["mon", "tue", "wed", "thu", "fri"],
                           "start": "08:00", "end": "16:00"}]
    line: dict[str, Any] = {"id": "L", "site": "S", "kind": "line", "capacity": capacity}
    return compile_problem(load_problem({
        "horizon_start": "2026-12-01T00:00:00Z",  # a Tuesday
        "sites": [site],
        "resources": [line],
        "products": [{"id": "P", "routing": [
            {"op": "x", "kind": "line", "duration_min": 60, "power_kw": power_kw}]}],
        "orders": [{"id": "A", "product": "P", "quantity": 3, "due": "2026-12-02T00:00:00Z"}],
    }))


def _earliest(tl: Timeline, o: int, t: int = 0) -> tuple[int, int]:
    got = tl.earliest(o, tl.c.op_modes[o][0], t)
    assert got is not None
    return got


def test_a_gap_no_step_can_use_is_dead_time() -> None:
    """`_Dead.gap`: idle time outside the calendar, or inside a window but shorter than
    the resource's shortest step, is dead; a gap where a step fits is not."""
    dead = _Dead([0, 100], [50, 200], min_dur=20)  # windows [0, 50) and [100, 200)
    assert dead.gap(50, 100)  # between the windows
    assert dead.gap(35, 100)  # 15 minutes of window, then closed
    assert not dead.gap(30, 100)  # 20 minutes of window: a step fits
    assert not dead.gap(120, 150)
    assert dead.gap(185, 300)  # 15 minutes, then beyond the last window


def test_busy_stretches_merge_across_dead_time() -> None:
    """A lane merges two busy stretches when the idle time between them is dead, so a
    packed line stays one stretch; a usable gap keeps them apart."""
    lane = _Lane(_Dead([0], [1000], min_dur=30))
    lane.add(0, 100)
    lane.add(120, 200)  # 20 idle minutes: shorter than any step
    assert (lane.starts, lane.ends) == ([0], [200])
    lane.add(240, 300)  # 40 idle minutes: a step fits
    assert (lane.starts, lane.ends) == ([0, 240], [200, 300])
    assert lane.fit(0, 30, [0], [970]) == 200


def test_capacity_two_runs_two_steps_at_once_and_a_third_waits() -> None:
    """Rule 7: on a line of capacity 2, two steps start at 0 on two lanes; the third
    starts when the first ends."""
    c = _compiled(capacity=2)
    tl = Timeline(c)
    placed = []
    for o in range(3):
        s, lane = _earliest(tl, o)
        tl.place(o, 0, s, s + 60, lane)
        placed.append((s, lane))
    assert placed == [(0, 0), (0, 1), (60, 0)]
    assert not tl.place_anywhere(0, 0, 30, 90)  # both lanes busy then
    assert tl.place_anywhere(0, 0, 60, 120)  # the second lane is free from 60


def test_the_site_power_cap_delays_a_step_that_would_exceed_it() -> None:
    """Rule 8: two 60 kW steps on a site capped at 100 kW cannot overlap, though the
    line has room for both: the second starts when the first ends."""
    c = _compiled(capacity=2, cap_kw=100, power_kw=60)
    tl = Timeline(c)
    s, lane = _earliest(tl, 0)
    tl.place(0, 0, s, s + 60, lane)
    assert _earliest(tl, 1) == (60, 0)
    assert not tl.place_anywhere(1, 0, 30, 90)  # the cap, not the lanes, refuses it


def test_a_step_starts_only_in_the_resources_calendar() -> None:
    """Rule 6: with weekday shifts 08:00-16:00, a step asked for at midnight (Tuesday)
    starts at 08:00, and one asked for at 15:30 waits for the next morning."""
    c = _compiled(shifts=True)
    tl = Timeline(c)
    assert _earliest(tl, 0) == (8 * 60, 0)
    assert _earliest(tl, 0, 15 * 60 + 30) == (24 * 60 + 8 * 60, 0)


def test_a_copy_is_independent_of_its_original() -> None:
    """`Timeline.copy`: placing on the copy leaves the original's lanes and power alone."""
    c = _compiled(capacity=1, cap_kw=100, power_kw=60)
    tl = Timeline(c)
    tl.place(0, 0, 0, 60, 0)
    other = tl.copy()
    other.place(1, 0, 60, 120, 0)
    assert _earliest(tl, 1) == (60, 0)
    assert _earliest(other, 2) == (120, 0)
    assert (tl.placed, other.placed) == (1, 2)


def _brute_fit(
    busy: list[tuple[int, int]], windows: list[tuple[int, int]], t: int, d: int, end: int
) -> int | None:
    """The earliest start >= t of a d-minute step inside one window and clear of `busy`."""
    for s in range(t, end):
        inside = any(a <= s and s + d <= b for a, b in windows)
        if inside and all(e <= s or s + d <= b0 for b0, e in busy):
            return s
    return None


@pytest.mark.parametrize("seed", range(40))
def test_lane_finds_the_earliest_room_with_merged_and_dead_gaps(seed: int) -> None:
    """A lane (busy stretches merged across dead time) finds exactly the earliest room."""
    rng = random.Random(seed)
    windows, t = [], 0
    while t < 1500:
        a = t + rng.randint(0, 60)
        b = a + rng.randint(20, 240)
        windows.append((a, b))
        t = b
    durations = [rng.randint(5, 90) for _ in range(4)]
    lane = _Lane(_Dead([a for a, _ in windows], [b for _, b in windows], min(durations)))
    busy: list[tuple[int, int]] = []
    for _ in range(30):
        d = rng.choice(durations)
        t0 = rng.randint(0, 1400)
        ivs = [(a, b - d) for a, b in windows if b - a >= d]
        los, his = [a for a, _ in ivs], [b for _, b in ivs]
        want = _brute_fit(busy, windows, t0, d, 2000)
        got = lane.fit(t0, d, los, his)
        assert got == want, (t0, d, busy)
        if got is not None:
            lane.add(got, got + d)
            busy.append((got, got + d))


@pytest.mark.parametrize("seed", range(40))
def test_power_profile_earliest_is_the_first_start_within_the_cap(seed: int) -> None:
    """`_Profile.earliest` gives the first start where the added power stays within cap."""
    rng = random.Random(seed)
    prof, loads = _Profile(10), []
    for _ in range(25):
        s, d, p = rng.randint(0, 500), rng.randint(1, 80), rng.randint(1, 6)
        if prof.violation(s, s + d, p) is None:
            prof.add(s, s + d, p)
            loads.append((s, s + d, p))
    for _ in range(20):
        t, d, p = rng.randint(0, 500), rng.randint(1, 80), rng.randint(1, 10)
        want = next(
            s for s in range(t, 1000)
            if all(sum(q for a, b, q in loads if a <= x < b) + p <= 10 for x in range(s, s + d))
        )
        assert prof.earliest(t, d, p) == want
    assert prof.earliest(0, 5, 11) is None




def _usage(prof: Any, t: int) -> int:
    return int(prof.vals[bisect_right(prof.times, t) - 1])


@pytest.mark.parametrize("seed", SEEDS)
def test_loading_steps_at_once_gives_the_timeline_placing_them_one_by_one(seed: int) -> None:
    """`Timeline.load` (the kept and fixed steps of a pass, in start order) gives the same
    lanes and power use as `place_anywhere` step by step; a step beyond a resource's
    capacity or a site's power cap makes it say False, as `place_anywhere` refuses it."""
    c = compile_problem(load_problem(generate(150, seed)))
    a = best_dispatch(c)
    rng = random.Random(seed)
    ops = sorted(o for o in range(c.n_ops) if rng.random() < 0.6)
    steps = sorted((a.start[o], o, a.res[o], a.end[o]) for o in ops)
    bulk, single = Timeline(c), Timeline(c)
    assert bulk.load(steps)
    for s, o, r, e in steps:
        assert single.place_anywhere(o, r, s, e)
    assert bulk.placed == single.placed == len(steps)
    for lanes_b, lanes_s in zip(bulk.lanes, single.lanes, strict=True):
        assert [(x.starts, x.ends) for x in lanes_b] == [(x.starts, x.ends) for x in lanes_s]
    for pb, ps in zip(bulk.power, single.power, strict=True):
        if pb is not None:
            times = sorted(set(pb.times[1:]) | set(ps.times[1:]))
            assert [_usage(pb, t) for t in times] == [_usage(ps, t) for t in times]

    # one more step on a full lane: a capacity-1 resource busy at that time
    o = next(o for o in ops if c.res_cap[a.res[o]] == 1)
    extra = (a.start[o], o, a.res[o], a.end[o])
    assert not Timeline(c).load(sorted([*steps, extra]))
    # the same power-drawing step twice over, until the site's cap is passed
    o = next(o for o in ops if c.op_power[o] > 0 and c.site_cap[c.res_site[a.res[o]]])
    cap = c.site_cap[c.res_site[a.res[o]]]
    assert cap is not None
    copies = cap // c.op_power[o] + 1
    assert copies <= c.res_cap[a.res[o]]  # the bays have room: the cap is what fails
    many = [(a.start[o], o, a.res[o], a.end[o])] * copies
    assert not Timeline(c).load(many)
