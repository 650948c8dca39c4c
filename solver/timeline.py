"""The partial schedule a dispatch pass builds: resource lanes, site power, dead time.

Each resource has one lane per unit of capacity: a sorted list of busy stretches that a
step's search for room walks forward. Each site with a power cap has a usage profile, a
piecewise-constant function of time (with the stretches where a power window lowers the
cap laid in as usage). Idle time that no step can ever use (outside the
calendar, or a gap shorter than the resource's shortest step) counts as busy, so a packed
lane stays a few stretches long.
"""

from __future__ import annotations

from bisect import bisect_right

from solver.compiled import Compiled, Mode

INF = 1 << 60


class _Dead:
    """Which idle time of a resource no step can ever use: outside its calendar, or
    within it but shorter than its shortest step (a lane treats such gaps as busy)."""

    __slots__ = ("min_dur", "wa", "wb")

    def __init__(self, wa: list[int], wb: list[int], min_dur: int) -> None:
        self.wa, self.wb = wa, wb  # the calendar windows [wa[k], wb[k])
        self.min_dur = min_dur

    def gap(self, g0: int, g1: int) -> bool:
        """Whether no step fits in [g0, g1), given that a step lies within one window."""
        wa, wb = self.wa, self.wb
        k = max(0, bisect_right(wa, g0) - 1)
        while k < len(wa) and wa[k] < g1:
            if min(wb[k], g1) - max(wa[k], g0) >= self.min_dur:
                return False
            k += 1
        return True


class _Lane:
    __slots__ = ("dead", "ends", "starts")

    def __init__(self, dead: _Dead) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.dead = dead

    def fit(
        self, t: int, d: int, los: list[int], his: list[int], before: int = INF
    ) -> int | None:
        """Earliest start >= `t` of a `d`-minute step on this lane whose start lies in one
        of the closed calendar intervals [los[i], his[i]] (None: there is none, or none
        before `before`)."""
        starts, ends = self.starts, self.ends
        n, m = len(starts), len(los)
        # k: the last calendar interval, i: the last step, starting at or before t (both
        # only move forward as t does: a packed lane is walked, not searched, step by step)
        k = bisect_right(los, t) - 1
        i = bisect_right(starts, t) - 1
        while True:
            while k + 1 < m and los[k + 1] <= t:
                k += 1
            if k < 0 or his[k] < t:
                k += 1
                if k >= m:
                    return None
                t = los[k]
                while i + 1 < n and starts[i + 1] <= t:
                    i += 1
            if t >= before:
                return None
            if i >= 0 and ends[i] > t:
                t = ends[i]
            elif i + 1 < n and starts[i + 1] < t + d:
                i += 1
                t = ends[i]
            else:
                return t
            while i + 1 < n and starts[i + 1] <= t:
                i += 1

    def copy(self) -> _Lane:
        out = _Lane(self.dead)
        out.starts, out.ends = self.starts[:], self.ends[:]
        return out

    def append(self, s: int, e: int) -> None:
        """`add` for a step that starts at or after every step on the lane has ended."""
        ends = self.ends
        if ends and (ends[-1] == s or self.dead.gap(ends[-1], s)):
            ends[-1] = e
        else:
            self.starts.append(s)
            ends.append(e)

    def free(self, s: int, e: int) -> bool:
        i = bisect_right(self.starts, s) - 1
        if i >= 0 and self.ends[i] > s:
            return False
        return not (i + 1 < len(self.starts) and self.starts[i + 1] < e)

    def add(self, s: int, e: int) -> None:
        """Mark [s, e) busy. Busy stretches merge when they touch or when the gap between
        them is dead time (`_Dead`): a packed line stays a few stretches long, and a
        search for room walks over it in a few hops (the room found is the same)."""
        starts, ends = self.starts, self.ends
        dead = self.dead
        i = bisect_right(starts, s)
        if i > 0 and ends[i - 1] < s and dead.gap(ends[i - 1], s):
            s = ends[i - 1]
        if i < len(starts) and e < starts[i] and dead.gap(e, starts[i]):
            e = starts[i]
        if i > 0 and ends[i - 1] == s:
            if i < len(starts) and starts[i] == e:
                ends[i - 1] = ends[i]
                del starts[i], ends[i]
            else:
                ends[i - 1] = e
        elif i < len(starts) and starts[i] == e:
            starts[i] = s
        else:
            starts.insert(i, s)
            ends.insert(i, e)


class _Profile:
    """Piecewise-constant usage: `vals[i]` holds on [times[i], times[i+1]).

    A cap that varies in time (SPEC section 6 power windows) is the highest cap, `cap`,
    with its `dips` (start, end, by how much the cap in force is lower) as usage laid in
    from the start: a step fits where the usage plus its power stays within `cap`."""

    __slots__ = ("cap", "dips", "times", "vals")

    def __init__(self, cap: int, dips: list[tuple[int, int, int]] | None = None) -> None:
        self.cap = cap
        self.dips = dips or []
        self.times: list[int] = [-INF]
        self.vals: list[int] = [0]
        for a, b, p in self.dips:
            self.add(a, b, p)

    def copy(self) -> _Profile:
        out = _Profile.__new__(_Profile)
        out.cap, out.dips = self.cap, self.dips
        out.times, out.vals = self.times[:], self.vals[:]
        return out

    def violation(self, s: int, e: int, p: int) -> int | None:
        """None if adding `p` on [s, e) keeps within cap, else a time to retry from."""
        times, vals = self.times, self.vals
        i = bisect_right(times, s) - 1
        n = len(times)
        lim = self.cap - p
        while i < n and times[i] < e:
            if vals[i] > lim:
                return times[i + 1] if i + 1 < n else INF
            i += 1
        return None

    def earliest(self, t: int, d: int, p: int) -> int | None:
        """Earliest s >= t where adding `p` on [s, s + d) keeps within cap (None: never)."""
        if p > self.cap:
            return None
        times, vals = self.times, self.vals
        n = len(times)
        lim = self.cap - p
        i = bisect_right(times, t) - 1
        while i < n:
            nxt = times[i + 1] if i + 1 < n else INF
            if vals[i] > lim:
                if nxt >= INF:
                    return None
                t = nxt  # the window starts after this segment at the earliest
            elif nxt >= t + d:
                return t
            i += 1
        return t

    def _split(self, t: int) -> int:
        i = bisect_right(self.times, t) - 1
        if self.times[i] == t:
            return i
        self.times.insert(i + 1, t)
        self.vals.insert(i + 1, self.vals[i])
        return i + 1

    def add(self, s: int, e: int, p: int) -> None:
        i = self._split(s)
        j = self._split(e)
        for k in range(i, j):
            self.vals[k] += p


class Timeline:
    """Resource lanes and site power profiles of a partial schedule."""

    def __init__(self, c: Compiled) -> None:
        self.c = c
        # a 0-minute step may start anywhere in a window: its start bounds are the windows
        # (cached on `c`, not rebuilt for every pass)
        dead = [_Dead(*c.start_bounds(r, 0), c.res_min_duration(r)) for r in range(len(c.res_ids))]
        self.lanes = [[_Lane(dead[r]) for _ in range(cap)] for r, cap in enumerate(c.res_cap)]
        self.power = [
            None if cap is None else _Profile(cap, c.site_dips[s] if c.site_dips else None)
            for s, cap in enumerate(c.site_cap)
        ]
        self.placed = 0  # ops placed so far
        self.version = [0] * len(c.site_ids)  # per site, ops placed there so far

    def copy(self) -> Timeline:
        out = Timeline.__new__(Timeline)
        out.c = self.c
        out.lanes = [[lane.copy() for lane in lanes] for lanes in self.lanes]
        out.power = [None if p is None else p.copy() for p in self.power]
        out.placed = self.placed
        out.version = self.version[:]
        return out

    def earliest(self, o: int, m: Mode, t: int, before: int = INF) -> tuple[int, int] | None:
        """Earliest (start, lane) >= t for op `o` in mode `m`, or None past the horizon
        (or with no start before `before`)."""
        los, his = self.c.start_bounds(m.resource, m.duration)
        return self.earliest_on(o, m.resource, m.duration, los, his, t, before)

    def earliest_on(
        self, o: int, r: int, d: int, los: list[int], his: list[int], t: int, before: int = INF
    ) -> tuple[int, int] | None:
        """`earliest` for op `o` on resource `r` for `d` minutes, given the mode's start
        bounds `los`, `his` (`Compiled.site_modes`)."""
        p = self.c.op_power[o]
        prof = self.power[self.c.res_site[r]] if p > 0 else None
        lanes = self.lanes[r]
        while True:
            if prof is not None:
                got = prof.earliest(t, d, p)  # no start before this keeps the power cap
                if got is None:
                    return None
                t = got
            if t >= before:
                return None
            best: tuple[int, int] | None = None
            for k, lane in enumerate(lanes):
                s = lane.fit(t, d, los, his, before if best is None else best[0])
                if s is not None:
                    best = (s, k)
                    if s == t:
                        break
            if best is None:
                return None
            if prof is None or best[0] == t or prof.violation(best[0], best[0] + d, p) is None:
                return best
            t = best[0]

    def place(self, o: int, r: int, s: int, e: int, lane: int) -> None:
        self.placed += 1
        self.version[self.c.res_site[r]] += 1
        self.lanes[r][lane].add(s, e)
        p = self.c.op_power[o]
        prof = self.power[self.c.res_site[r]]
        if p > 0 and prof is not None:
            prof.add(s, e, p)

    def load(self, steps: list[tuple[int, int, int, int]]) -> bool:
        """Put steps (start, op, resource, end), in start order, on this empty timeline:
        each on the first lane of its resource that is free then, as `place_anywhere`
        would one by one, but the power profiles are built in one sweep. False when a
        step finds no free lane or a site's power cap is exceeded (the timeline is then
        spoiled: `place_anywhere` on a new one says which step)."""
        c = self.c
        events: list[list[tuple[int, int]]] = [[] for _ in c.site_cap]
        for s, o, r, e in steps:
            for lane in self.lanes[r]:
                ends = lane.ends
                if not ends or ends[-1] <= s:
                    lane.append(s, e)
                    break
            else:
                return False
            self.version[c.res_site[r]] += 1
            p = c.op_power[o]
            if p > 0 and self.power[c.res_site[r]] is not None:
                ev = events[c.res_site[r]]
                ev.append((s, p))
                ev.append((e, -p))
        self.placed += len(steps)
        for site, ev in enumerate(events):
            prof = self.power[site]
            if prof is None or not ev:
                continue
            if prof.dips:  # laid in afresh with the steps, in the same sweep
                prof.times, prof.vals = [-INF], [0]
                for a, b, p in prof.dips:
                    ev.append((a, p))
                    ev.append((b, -p))
            ev.sort()
            times, vals = prof.times, prof.vals
            level = 0
            for t, dp in ev:
                level += dp
                if times[-1] == t:
                    vals[-1] = level
                else:
                    times.append(t)
                    vals.append(level)
                if level > prof.cap:
                    return False
        return True

    def place_anywhere(self, o: int, r: int, s: int, e: int) -> bool:
        """Put a fixed op on a free lane; False when capacity or power would break."""
        p = self.c.op_power[o]
        prof = self.power[self.c.res_site[r]]
        if p > 0 and prof is not None and prof.violation(s, e, p) is not None:
            return False
        for k, lane in enumerate(self.lanes[r]):
            if lane.free(s, e):
                self.place(o, r, s, e, k)
                return True
        return False
