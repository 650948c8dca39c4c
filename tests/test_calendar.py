"""Tests of solver/calendar.py: shifts, DST, night shifts, holidays, downtime, 24x7.

Every expected minute value is worked out by hand in the comments, from the UTC offsets of
America/Chicago: CST is UTC-6, CDT is UTC-5; in 2026 DST starts Sun 8 Mar 02:00 and ends
Sun 1 Nov 02:00.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.calendar import merge, minutes_between, resource_windows, site_windows, subtract
from solver.problem import Resource, Site

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ALL_DAYS[:5]
DAY = 1440


def _site(**fields: Any) -> Site:
    return Site.model_validate({"id": "S", **fields})


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _resource(**fields: Any) -> Resource:
    return Resource.model_validate({"id": "R", "site": "S", **fields})


# ---- helpers ------------------------------------------------------------------------------


def test_minutes_between_rounds_down() -> None:
    """minutes_between counts whole minutes, rounding down (also before t0)."""
    t0 = _t("2026-12-01T00:00:00Z")
    assert minutes_between(t0, _t("2026-12-01T01:00:59Z")) == 60
    assert minutes_between(t0, _t("2026-11-30T23:59:30Z")) == -1
    assert minutes_between(t0, _t("2026-12-01T06:00:00+06:00")) == 0


def test_merge_joins_touching_and_overlapping() -> None:
    """merge sorts, drops empty intervals and joins touching or overlapping ones."""
    assert merge([(50, 60), (0, 10), (10, 20), (15, 30), (40, 40)]) == [(0, 30), (50, 60)]
    assert merge([]) == []


def test_subtract_cuts_holes() -> None:
    """subtract removes holes, including ones spanning several windows."""
    assert subtract([(0, 100), (200, 300)], [(50, 250)]) == [(0, 50), (250, 300)]
    assert subtract([(0, 100)], [(0, 10), (90, 120), (40, 60)]) == [(10, 40), (60, 90)]
    assert subtract([(0, 100)], []) == [(0, 100)]


_spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(windows=_spans, holes=_spans)
def test_merge_and_subtract_match_sets(
    windows: list[tuple[int, int]], holes: list[tuple[int, int]]
) -> None:
    """merge and subtract agree with plain sets of minutes on small random intervals."""
    def minutes(spans: list[tuple[int, int]]) -> set[int]:
        return {m for a, b in spans for m in range(a, b)}

    merged = merge(windows)
    assert minutes(merged) == minutes(windows)
    assert all(b1 < a2 for (_, b1), (a2, _) in pairwise(merged))
    cut = subtract(merged, holes)
    assert minutes(cut) == minutes(merged) - minutes(holes)
    assert all(a < b for a, b in cut)


# ---- day shifts across DST ---------------------------------------------------------------


def test_day_shift_across_march_dst() -> None:
    """Mon-Fri 08:00-16:00 Chicago starts at 14:00Z before 8 Mar 2026 and 13:00Z after."""
    site = _site(timezone="America/Chicago",
                 shifts=[{"days": WEEKDAYS, "start": "08:00", "end": "16:00"}])
    got = site_windows(site, _t("2026-03-02T00:00:00Z"), 14 * DAY)  # Mon 2 Mar
    cst = [(d * DAY + 840, d * DAY + 1320) for d in range(5)]  # 08:00 CST = 14:00Z
    cdt = [(d * DAY + 780, d * DAY + 1260) for d in range(7, 12)]  # 08:00 CDT = 13:00Z
    assert got == cst + cdt
    assert cdt[0][0] - cst[0][0] == 7 * DAY - 60


def test_day_shift_across_november_dst() -> None:
    """Mon-Fri 08:00-16:00 Chicago starts at 13:00Z before 1 Nov 2026 and 14:00Z after."""
    site = _site(timezone="America/Chicago",
                 shifts=[{"days": WEEKDAYS, "start": "08:00", "end": "16:00"}])
    got = site_windows(site, _t("2026-10-26T00:00:00Z"), 14 * DAY)  # Mon 26 Oct
    cdt = [(d * DAY + 780, d * DAY + 1260) for d in range(5)]
    cst = [(d * DAY + 840, d * DAY + 1320) for d in range(7, 12)]
    assert got == cdt + cst
    assert cst[0][0] - cdt[0][0] == 7 * DAY + 60


# ---- night shifts -------------------------------------------------------------------------


def test_night_shift_runs_past_midnight() -> None:
    """A 22:00-06:00 UTC night shift is one 480-minute window ending the next morning."""
    site = _site(shifts=[{"days": ["tue"], "start": "22:00", "end": "06:00"}])
    # Tue 1 Dec 22:00Z -> Wed 2 Dec 06:00Z
    assert site_windows(site, _t("2026-12-01T00:00:00Z"), 3 * DAY) == [(1320, 1800)]


def test_night_shift_short_in_march() -> None:
    """The Chicago night of 7-8 Mar 2026 lasts 420 minutes, the nights around it 480."""
    site = _site(timezone="America/Chicago",
                 shifts=[{"days": ALL_DAYS, "start": "22:00", "end": "06:00"}])
    got = site_windows(site, _t("2026-03-06T00:00:00Z"), 3 * DAY)
    assert got == [
        (240, 720),     # Thu 5 Mar 22:00 CST = 6 Mar 04:00Z -> 06:00 CST = 12:00Z
        (1680, 2160),   # Fri 6 Mar 22:00 CST = 7 Mar 04:00Z -> 7 Mar 12:00Z
        (3120, 3540),   # Sat 7 Mar 22:00 CST = 8 Mar 04:00Z -> 06:00 CDT = 11:00Z
    ]
    assert [b - a for a, b in got] == [480, 480, 420]


def test_night_shift_long_in_november() -> None:
    """The Chicago night of 31 Oct-1 Nov 2026 lasts 540 minutes, the nights before it 480."""
    site = _site(timezone="America/Chicago",
                 shifts=[{"days": ALL_DAYS, "start": "22:00", "end": "06:00"}])
    got = site_windows(site, _t("2026-10-30T00:00:00Z"), 3 * DAY)
    assert got == [
        (180, 660),     # Thu 29 Oct 22:00 CDT = 30 Oct 03:00Z -> 06:00 CDT = 11:00Z
        (1620, 2100),   # Fri 30 Oct 22:00 CDT = 31 Oct 03:00Z -> 31 Oct 11:00Z
        (3060, 3600),   # Sat 31 Oct 22:00 CDT = 1 Nov 03:00Z -> 06:00 CST = 12:00Z
    ]
    assert [b - a for a, b in got] == [480, 480, 540]


def test_shift_ending_at_2400() -> None:
    """An 18:00-24:00 shift ends at the following midnight and is not a night shift."""
    site = _site(shifts=[{"days": ["tue"], "start": "18:00", "end": "24:00"}])
    assert site_windows(site, _t("2026-12-01T00:00:00Z"), 2 * DAY) == [(1080, 1440)]


# ---- holidays ----------------------------------------------------------------------------


def test_holiday_keeps_previous_night_shift() -> None:
    """A holiday removes the shifts starting on it, not the night shift begun the day before."""
    site = _site(holidays=["2026-12-25"],
                 shifts=[{"days": ALL_DAYS, "start": "06:00", "end": "14:00"},
                         {"days": ALL_DAYS, "start": "22:00", "end": "06:00"}])
    got = site_windows(site, _t("2026-12-24T00:00:00Z"), 3 * DAY)
    assert got == [
        (0, 840),       # 23 Dec night (clipped at 0) touches 24 Dec 06:00-14:00: merged
        (1320, 1800),   # 24 Dec 22:00 -> 25 Dec 06:00 still runs
        (3240, 3720),   # 25 Dec: nothing; 26 Dec 06:00-14:00
        (4200, 4320),   # 26 Dec 22:00 -> clipped at the horizon
    ]


def test_no_shifts_open_around_the_clock_except_holidays() -> None:
    """A site without shifts is open all day, except its holidays as whole local days."""
    utc = _site(holidays=["2026-12-02"])
    assert site_windows(utc, _t("2026-12-01T00:00:00Z"), 3 * DAY) == [(0, 1440), (2880, 4320)]
    chicago = _site(timezone="America/Chicago", holidays=["2026-12-02"])
    # 2 Dec in Chicago is 06:00Z 2 Dec to 06:00Z 3 Dec
    assert site_windows(chicago, _t("2026-12-01T00:00:00Z"), 3 * DAY) == [
        (0, 1800), (3240, 4320)
    ]


# ---- merging, downtime, 24x7 ---------------------------------------------------------------


def test_back_to_back_shifts_merge() -> None:
    """06:00-14:00 and 14:00-22:00 shifts form one 06:00-22:00 window."""
    site = _site(shifts=[{"days": ALL_DAYS, "start": "06:00", "end": "14:00"},
                         {"days": ALL_DAYS, "start": "14:00", "end": "22:00"}])
    got = site_windows(site, _t("2026-12-01T00:00:00Z"), 2 * DAY)
    assert got == [(360, 1320), (DAY + 360, DAY + 1320)]


def test_downtime_is_cut_out() -> None:
    """Downtime 10:00-12:00 splits a 24x7 resource's window."""
    site = _site()
    res = _resource(calendar="24x7", downtime=[
        {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T12:00:00Z"}])
    got = resource_windows(res, site, _t("2026-12-01T00:00:00Z"), DAY)
    assert got == [(0, 600), (720, DAY)]


def test_downtime_rounds_outward() -> None:
    """Downtime 10:00:30-11:59:30 blocks whole minutes 10:00-12:00."""
    res = _resource(calendar="24x7", downtime=[
        {"start": "2026-12-01T10:00:30Z", "end": "2026-12-01T11:59:30Z"}])
    got = resource_windows(res, _site(), _t("2026-12-01T00:00:00Z"), DAY)
    assert got == [(0, 600), (720, DAY)]


def test_downtime_on_shift_calendar() -> None:
    """Downtime across a shift boundary cuts the end of one shift and the start of the next."""
    site = _site(shifts=[{"days": ALL_DAYS, "start": "06:00", "end": "22:00"}])
    res = _resource(downtime=[{"start": "2026-12-01T20:00:00Z", "end": "2026-12-02T07:00:00Z"}])
    got = resource_windows(res, site, _t("2026-12-01T00:00:00Z"), 2 * DAY)
    assert got == [(360, 1200), (DAY + 420, DAY + 1320)]


def test_24x7_ignores_shifts_and_holidays() -> None:
    """A 24x7 resource is available around the clock, on holidays too, minus its downtime."""
    site = _site(holidays=["2026-12-01"],
                 shifts=[{"days": ["mon"], "start": "06:00", "end": "07:00"}])
    res = _resource(calendar="24x7")
    assert resource_windows(res, site, _t("2026-12-01T00:00:00Z"), 2 * DAY) == [(0, 2 * DAY)]
    assert resource_windows(_resource(), site, _t("2026-12-01T00:00:00Z"), 2 * DAY) == []


def test_site_cache_is_reused() -> None:
    """resource_windows fills and reuses the per-site cache."""
    site = _site(shifts=[{"days": ALL_DAYS, "start": "06:00", "end": "22:00"}])
    cache: dict[str, list[tuple[int, int]]] = {}
    first = resource_windows(_resource(), site, _t("2026-12-01T00:00:00Z"), DAY, cache)
    assert cache == {"S": [(360, 1320)]}
    assert resource_windows(_resource(), site, _t("2026-12-01T00:00:00Z"), DAY, cache) == first


def test_horizon_start_with_seconds_is_refused() -> None:
    """A horizon_start off the whole minute is refused, so windows never round before a shift."""
    from solver.problem import Problem

    with pytest.raises(ValueError, match="whole minute"):
        Problem.model_validate({
            "horizon_start": "2026-12-01T00:00:30Z", "sites": [{"id": "S"}],
            "resources": [{"id": "R", "site": "S", "kind": "k"}],
            "products": [{"id": "P", "routing": [{"op": "a", "kind": "k", "duration_min": 5}]}],
        })
