"""Calendars: site shifts (local time, IANA zones, DST), holidays, downtime and 24x7 into
each resource's available windows, in whole minutes from `horizon_start`.

Conventions (SPEC.md section 1, "Calendar details"):

- a shift occurrence belongs to the local date it starts on; a holiday removes the
  occurrences that start on it (a night shift started the evening before still runs);
- a site without shifts is open around the clock except on its holidays (whole local days);
- local wall times are read with `zoneinfo` (PEP 495, fold=0), so a shift spanning a DST
  change is an hour shorter or longer in real minutes;
- touching or overlapping windows merge into one (a step may run across back-to-back
  shifts); downtime is cut out; a `24x7` resource ignores shifts and holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from solver.problem import DAYS, Resource, Site

Interval = tuple[int, int]


def minutes_between(t0: datetime, t: datetime) -> int:
    """Whole minutes from `t0` to `t`, rounded down."""
    return int((t - t0).total_seconds() // 60)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of half-open intervals; touching ones merge."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def subtract(windows: list[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """`windows` minus the union of `holes` (both half-open, windows sorted and disjoint)."""
    cuts = merge(holes)
    if not cuts:
        return windows
    out: list[Interval] = []
    j = 0
    for a, b in windows:
        while j < len(cuts) and cuts[j][1] <= a:
            j += 1
        k = j
        cur = a
        while k < len(cuts) and cuts[k][0] < b:
            ca, cb = cuts[k]
            if ca > cur:
                out.append((cur, ca))
            cur = max(cur, cb)
            k += 1
        if cur < b:
            out.append((cur, b))
    return out


def _local(d: date, hhmm: str, tz: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=tz)
    h, m = hhmm.split(":")
    return datetime.combine(d, time(int(h), int(m)), tzinfo=tz)


def site_windows(site: Site, horizon_start: datetime, horizon: int) -> list[Interval]:
    """Open windows of the site's calendar within [0, horizon) minutes."""
    tz = ZoneInfo(site.timezone)
    end = horizon_start + timedelta(minutes=horizon)
    first = horizon_start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    holidays = set(site.holidays)
    raw: list[Interval] = []
    d = first
    while d <= last:
        if site.shifts:
            if d not in holidays:
                day = DAYS[d.weekday()]
                for sh in site.shifts:
                    if day in sh.days:
                        a = _local(d, sh.start, tz)
                        overnight = sh.end != "24:00" and sh.end <= sh.start
                        b = _local(d + timedelta(days=1) if overnight else d, sh.end, tz)
                        raw.append(
                            (minutes_between(horizon_start, a), minutes_between(horizon_start, b))
                        )
        elif d not in holidays:
            raw.append(
                (
                    minutes_between(horizon_start, _local(d, "00:00", tz)),
                    minutes_between(horizon_start, _local(d, "24:00", tz)),
                )
            )
        d += timedelta(days=1)
    return [(max(a, 0), min(b, horizon)) for a, b in merge(raw) if b > 0 and a < horizon]


def resource_windows(
    resource: Resource,
    site: Site,
    horizon_start: datetime,
    horizon: int,
    site_cache: dict[str, list[Interval]] | None = None,
) -> list[Interval]:
    """Available windows of `resource` within [0, horizon) minutes (rule 6)."""
    if resource.calendar == "24x7":
        base = [(0, horizon)]
    elif site_cache is not None:
        if site.id not in site_cache:
            site_cache[site.id] = site_windows(site, horizon_start, horizon)
        base = site_cache[site.id]
    else:
        base = site_windows(site, horizon_start, horizon)
    holes = [
        (minutes_between(horizon_start, w.start), -minutes_between(w.end, horizon_start))
        for w in resource.downtime
    ]
    return subtract(base, holes)
