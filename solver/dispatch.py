"""List scheduling that respects every rule: the CP-SAT hint and the answer of last resort.

A serial schedule-generation scheme over ops: ready ops (whose predecessor is placed) are
taken in priority order and put at their earliest feasible start, filling gaps left by
earlier placements. Calendars come from the compiled start intervals, capacity from one
lane per unit of capacity, power from a per-site usage profile. A unit's site is chosen
when its first op is placed, by trying the whole routing at every allowed site.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from solver.compiled import Compiled, Mode
from solver.problem import Objective
from solver.stability import UNIT, move_cost

INF = 1 << 60


class HorizonTooShort(Exception):
    """Some op found no window before the end of the planning horizon."""


class Cutoff(Exception):
    """The schedule being built is already worse than the caller's cutoff."""


class DispatchFailed(Exception):
    """No schedule from the heuristic; `proven` when the fixed steps themselves conflict."""

    def __init__(self, reasons: list[str], proven: bool) -> None:
        self.reasons = reasons
        self.proven = proven
        super().__init__("; ".join(reasons))


@dataclass
class Assignment:
    """A complete schedule in dense form: per op, resource and [start, end)."""

    res: list[int]
    start: list[int]
    end: list[int]

    def copy(self) -> Assignment:
        return Assignment(self.res[:], self.start[:], self.end[:])


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
    """Piecewise-constant usage: `vals[i]` holds on [times[i], times[i+1])."""

    __slots__ = ("cap", "times", "vals")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.times: list[int] = [-INF]
        self.vals: list[int] = [0]

    def copy(self) -> _Profile:
        out = _Profile(self.cap)
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
        self.power = [None if cap is None else _Profile(cap) for cap in c.site_cap]
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


# ---- priority rules ------------------------------------------------------------------------

Rule = Callable[[Compiled, int], tuple[float, ...]]


def _remaining(c: Compiled) -> list[int]:
    """Per op: the least total duration of it and the ops after it in its unit."""
    rem = [0] * c.n_ops
    for ops in c.unit_ops:
        acc = 0
        for o in reversed(ops):
            acc += min((m.duration for m in c.op_modes[o]), default=0)
            rem[o] = acc
    return rem


def rule_keys(c: Compiled, rule: str, rng: random.Random | None = None) -> list[tuple[float, ...]]:
    """Priority key per op (smaller first) for one of the named rules."""
    rem = _remaining(c)
    keys: list[tuple[float, ...]] = []
    for o in range(c.n_ops):
        u = c.op_unit[o]
        oi = c.unit_order[u]
        due = c.order_due[oi]
        noise = rng.random() if rng is not None else 0.0
        if rule == "edd":
            k: tuple[float, ...] = (due, c.order_release[oi], oi, c.unit_no[u], o)
        elif rule == "slack":
            k = ((due - rem[o]) / c.order_weight[oi] ** 0.5, oi, c.unit_no[u], o)
        elif rule == "mwkr":
            k = (-rem[o] - noise, o)
        elif rule == "random":
            k = (noise, o)
        else:
            raise ValueError(f"unknown rule {rule}")
        keys.append(k)
    return keys


# ---- the scheme ---------------------------------------------------------------------------


@dataclass
class PassState:
    """A dispatch pass part-way: what it has placed, and what a pass resumed from here
    needs to go on as it would have (`dispatch`'s `resume`)."""

    tl: Timeline
    a: Assignment
    last_site: list[int]
    late_total: int  # weighted tardiness of the units placed (scaled)
    order_late: list[int]  # per order, the tardiness of its units placed


class Checkpoints:
    """Where a pass saves its state: before placing the first op of a unit whose key
    `at` accepts; `saved` gets (that key, the state) in the order the pass met them."""

    def __init__(self, at: Callable[[tuple[float, ...]], bool]) -> None:
        self.at = at
        self.saved: list[tuple[tuple[float, ...], PassState]] = []


def repair_keys(c: Compiled) -> list[tuple[float, ...]]:
    """Priority keys that replay the reference schedule: its steps in their old start
    order (phase 0), then steps it does not have (new orders or units) by latest start
    (due date less the work left), among the reference's steps that could not keep
    their place (phase 1, see `dispatch`)."""
    ref = c.reference
    assert ref is not None
    rem = _remaining(c)
    keys: list[tuple[float, ...]] = []
    for o in range(c.n_ops):
        if ref.res[o] >= 0:
            keys.append((0, ref.start[o], o))
        else:
            keys.append((1, c.order_due[c.unit_order[c.op_unit[o]]] - rem[o], o))
    return keys


def dispatch(
    c: Compiled, keys: Sequence[tuple[float, ...]] | None = None, *, repair: bool = False,
    patience: int | None = INF,
    cutoff: int | None = None, order_cutoff: Sequence[int] | None = None,
    units: Collection[int] | None = None, resume: PassState | None = None,
    checkpoints: Checkpoints | None = None,
) -> Assignment:
    """One serial schedule-generation pass with the given op priority keys (EDD default).

    With `repair` (and a reference schedule on `c`, keys from `repair_keys`), the steps
    that can keep their reference resource and start are placed first, in reference
    order; a step that cannot (its slot is taken or down, its previous step ends too
    late) waits for phase 1, where it goes back to its resource as soon after its old
    start as possible or else to its earliest finish, among the new steps. Only the
    steps a change really hits move, not everything behind them. With a finite
    `patience` (minutes), such a step waits only for the steps planned up to that long
    after its old start, then takes the next place it can; with None it takes it at once
    (a right-shift repair: more steps move, by less).

    `cutoff`: a weighted tardiness (scaled): the pass gives up with `Cutoff` as soon as
    the units placed so far make more than it (tardiness only grows as units are added,
    so the whole schedule would too); a search uses it to drop a worse candidate early.
    `order_cutoff` (with `cutoff`): per order, a stricter one that holds from the moment a
    unit of that order is placed, for a search that drops a candidate once the orders
    placed so far are later than it wants of them.

    `units`: only these units are placed (besides the fixed steps); the others' ops keep
    resource -1 in the result (e.g. an order with the factory to itself).

    `checkpoints`: the pass saves its state on the way, before the units its `at` picks
    (`Checkpoints`); `resume` (such a state): the pass goes on from there, placing the
    units it had not placed. With keys that place the units one after another (as a
    sequence's do: `solver.sequence`), a pass resumed from the state saved before some
    unit gives the same schedule as a whole pass with keys that agree up to that unit.

    Raises `HorizonTooShort` when an op finds no room before the horizon and
    `DispatchFailed` when the fixed steps themselves conflict.
    """
    if keys is None:
        keys = rule_keys(c, "edd")
    ref = c.reference if repair else None
    n = c.n_ops
    # the running tardiness: against the cutoff, and in every saved state
    late = _Lateness(c, cutoff, track=checkpoints is not None)
    fixed_at = c.op_fixed
    if resume is not None:
        a, tl = resume.a.copy(), resume.tl.copy()
        last_site = resume.last_site[:]
        late.total, late.order_late = resume.late_total, resume.order_late[:]
        if cutoff is not None and late.total > cutoff:
            raise Cutoff
    else:
        a, tl = _start(c)
        last_site = [-1] * len(c.order_ids)  # the site of an order's latest unit
        for u, ops in enumerate(c.unit_ops):
            if fixed_at[ops[-1]] is not None:
                late.add(u, a)
    # per unit, its site once it has begun, before that the one its fixed steps tell
    # (-1: none); a saved state needs none: the units begun before it are done
    unit_site = c.unit_starts()[1][:]
    # per unit, its first op to place (-1: none), and those ops by their keys
    first_of = [o if o >= 0 and a.res[o] < 0 else -1 for o in c.unit_starts()[0]]
    if units is not None:
        first_of = [o if u in units else -1 for u, o in enumerate(first_of)]
    heap = [(keys[o], o) for o in first_of if o >= 0]
    heapq.heapify(heap)
    late.order_cutoff = order_cutoff  # only for the units placed from here on
    # whether a unit may have a fixed step after one to place
    partial = c.op_fixed.count(None) != n
    op_pos = c.op_positions()
    # the chosen site's trial of a unit's routing (_choose_site), per op: the place that
    # dispatch itself would find when it comes to that op with nothing else placed since
    trial: dict[int, tuple[int, int, int, int]] = {}
    trial_at = -1  # tl.placed when that trial was made
    trials = _Trials()  # site trials, for the next racks of the order (_choose_site)
    while heap:
        key, o = heapq.heappop(heap)
        u = c.op_unit[o]
        if checkpoints is not None and first_of[u] == o and checkpoints.at(key):
            checkpoints.saved.append((key, PassState(
                tl.copy(), a.copy(), last_site[:], late.total, late.order_late[:]
            )))
        ops = c.unit_ops[u]
        j = op_pos[o]
        est = _ready_time(c, a, u, j)
        rr = ref.res[o] if ref is not None else -1
        if unit_site[u] < 0:
            if rr >= 0 and c.res_site[rr] in c.unit_sites[u]:
                unit_site[u] = c.res_site[rr]
            else:
                oi = c.unit_order[u]
                unit_site[u], plan = _choose_site(c, tl, u, est, last_site[oi], trials)
                last_site[oi] = unit_site[u]
                if ref is None:
                    trial, trial_at = _reusable(c, tl, ops, plan), tl.placed
        got = None
        if o in trial and tl.placed == trial_at + j:
            got = trial[o]  # only this unit's earlier steps were placed since its trial
        if ref is not None and rr >= 0:
            same_site = c.res_site[rr] == unit_site[u]
            if key[0] == 0 and len(key) == 3 and patience is not None:
                # phase 0: its old place exactly, or wait
                rs = ref.start[o]
                got = _reference_mode(c, tl, o, rr, rs) if same_site and est <= rs else None
                if got is None:
                    later = (1, rs, o) if patience >= INF else (0, rs + patience, o, 1)
                    heapq.heappush(heap, (later, o))
                    continue
            elif same_site:
                got = _reference_mode(c, tl, o, rr, max(est, ref.start[o]))
        s, e, r, lane = got or _best_mode(c, tl, o, unit_site[u], est)
        nxt_fixed = next(
            (fixed_at[x] for x in ops[j + 1:] if fixed_at[x] is not None), None
        ) if partial else None
        if nxt_fixed is not None and e > nxt_fixed[1]:
            raise DispatchFailed(
                [f"step {_op_label(c, o)} cannot end before the fixed step that follows it"],
                proven=False,
            )
        tl.place(o, r, s, e, lane)
        a.res[o], a.start[o], a.end[o] = r, s, e
        if j == len(ops) - 1:
            late.add(u, a)
        for x in ops[j + 1:]:
            if fixed_at[x] is None:
                heapq.heappush(heap, (keys[x], x))
                break
    return a


def _start(c: Compiled) -> tuple[Assignment, Timeline]:
    """A fresh pass's state: the fixed steps on an empty timeline."""
    n = c.n_ops
    a = Assignment([-1] * n, [0] * n, [0] * n)
    tl = Timeline(c)
    reasons: list[str] = []
    # fixed ops in start order: first-fit lanes then fail only when capacity truly is exceeded
    steps = [(f[1], o, f[0], f[2]) for o, f in enumerate(c.op_fixed) if f is not None]
    steps.sort()  # (start, op, ...): ops are distinct, so the order is the starts'
    ares, astart, aend = a.res, a.start, a.end
    for s, o, r, e in steps:
        ares[o], astart[o], aend[o] = r, s, e
    if not tl.load(steps):  # some conflict: place them one by one to say which
        tl = Timeline(c)
        for s, o, r, e in steps:
            if not tl.place_anywhere(o, r, s, e):
                reasons.append(
                    f"fixed step {_op_label(c, o)} on resource '{c.res_ids[r]}' overlaps other "
                    "fixed steps beyond the resource's capacity or the site's power cap"
                )
    if reasons:
        raise DispatchFailed(reasons, proven=True)
    return a, tl


class _Lateness:
    """Running weighted tardiness of the units placed so far, against a cutoff."""

    __slots__ = ("c", "cutoff", "order_cutoff", "order_late", "total", "track")

    def __init__(self, c: Compiled, cutoff: int | None, track: bool = False) -> None:
        self.c = c
        self.cutoff = cutoff
        self.order_cutoff: Sequence[int] | None = None
        self.order_late = [0] * len(c.order_ids)
        self.total = 0
        self.track = track or cutoff is not None  # else nobody asks: nothing is counted

    def add(self, u: int, a: Assignment) -> None:
        if not self.track:
            return
        c = self.c
        oi = c.unit_order[u]
        t = unit_delivery(c, a, u) - c.order_due[oi]
        if t > self.order_late[oi]:
            self.total += c.order_weight[oi] * (t - self.order_late[oi])
            self.order_late[oi] = t
            if self.cutoff is not None and self.total > self.cutoff:
                raise Cutoff
        if self.order_cutoff is not None and self.total > self.order_cutoff[oi]:
            raise Cutoff


def _ready_time(c: Compiled, a: Assignment, u: int, j: int) -> int:
    ops = c.unit_ops[u]
    if j > 0:
        return a.end[ops[j - 1]]
    return c.order_release[c.unit_order[u]]


def _best_mode(c: Compiled, tl: Timeline, o: int, site: int, est: int) -> tuple[int, int, int, int]:
    """The mode of op `o` at `site` that ends first (then starts first) from `est`:
    (start, end, resource, lane)."""
    best = _first_end(c, tl, o, site, est, INF)
    if best is None:
        raise HorizonTooShort(_op_label(c, o))
    return best


def _first_end(
    c: Compiled, tl: Timeline, o: int, site: int, est: int, end_by: int
) -> tuple[int, int, int, int] | None:
    """`_best_mode` among the places that end by `end_by` (None: there is none)."""
    best: tuple[int, int, int, int] | None = None
    for r, d, los, his in c.site_modes()[o][site]:
        # only a start that ends sooner than the best (or as soon, but starts sooner) wins
        before = end_by - d + 1 if best is None else best[1] - d + (d > best[1] - best[0])
        if before <= est:
            continue
        got = tl.earliest_on(o, r, d, los, his, est, before)
        if got is None:
            continue
        s, lane = got
        e = s + d
        if best is None or (e, s) < (best[1], best[0]):
            best = (s, e, r, lane)
    return best


def _reference_mode(
    c: Compiled, tl: Timeline, o: int, r: int, est: int
) -> tuple[int, int, int, int] | None:
    """The op on resource `r` exactly at `est` (its reference start or later), if free."""
    m = next((m for m in c.op_modes[o] if m.resource == r), None)
    if m is None:
        return None
    got = tl.earliest(o, m, est)
    if got is None or got[0] != est:
        return None
    return est, est + m.duration, r, got[1]


class _Trials:
    """The site trials of the last route class and ready time a pass tried: per site,
    (the site's version then, the routing's completion there, its first step's end, its
    places); places None: the trial was cut, and the completion is a lower bound. Only
    the last class is kept: the next racks of an order come right after it."""

    __slots__ = ("key", "sites")

    def __init__(self) -> None:
        self.key = (-1, -1)
        self.sites: dict[int, tuple[int, int, int, list[tuple[int, int, int, int]] | None]] = {}


def _choose_site(
    c: Compiled, tl: Timeline, u: int, est: int, first: int = -1,
    trials: _Trials | None = None,
) -> tuple[int, list[tuple[int, int, int, int]]]:
    """The allowed site where the unit's whole routing would deliver first, and that
    routing's places there, step by step (each found with nothing else placed).

    `first`: a site to try first (the order's previous unit's, usually the winner), so
    that the others are cut as soon as they deliver later; the answer does not depend
    on it. `trials` keeps each site's trial for the units of the same route class and
    ready time that come next: until something is placed at that site, they would find
    the same places there (an order's racks after the first try one site again, not
    all of them)."""
    oi = c.unit_order[u]
    ops = c.unit_ops[u]
    if trials is not None and trials.key != (key := (c.route_classes()[u], est)):
        trials.key, trials.sites = key, {}
    best: tuple[int, int, int] | None = None
    best_plan: list[tuple[int, int, int, int]] = []
    sites = c.unit_sites[u]
    if first in sites:
        sites = [first, *(s for s in sites if s != first)]
    for site in sites:
        transit = c.order_transit[oi][site]
        if best is not None and est + c.min_route(u, site) + transit > best[0]:
            continue  # cannot deliver before the best site, even on empty lines
        version = tl.version[site]
        seen = trials.sites.get(site) if trials is not None else None
        if seen is not None and seen[0] == version:
            _, done, first_end, places = seen
            if places is not None:
                cand = (done + transit, first_end, site)
                if best is None or cand < best:
                    best, best_plan = cand, places
                continue
            if best is not None and done + transit > best[0]:
                continue  # cut before, by a bound that still holds
        t = est
        ok = True
        first_end = 0
        plan: list[tuple[int, int, int, int]] = []
        rest = c.route_rest(u, site)
        for j, o in enumerate(ops):
            # a step that ends after this delivers later than the best site: it cannot
            # win, and the search for its place stops there (the answer is the same)
            end_by = INF if best is None else best[0] - transit - rest[j]
            got = _first_end(c, tl, o, site, t, end_by)
            if got is None:
                ok = False
                if trials is not None:  # no completion by the best's, or none at all
                    lb = INF if best is None else best[0] - transit + 1
                    trials.sites[site] = (version, lb, 0, None)
                break
            plan.append(got)
            t = got[1]
            if j == 0:
                first_end = t
        if not ok:
            continue
        if trials is not None:
            trials.sites[site] = (version, t, first_end, plan)
        cand = (t + transit, first_end, site)
        if best is None or cand < best:
            best, best_plan = cand, plan
    if best is None:
        raise HorizonTooShort(_op_label(c, ops[0]))
    return best[2], best_plan


def _reusable(
    c: Compiled, tl: Timeline, ops: list[int], plan: list[tuple[int, int, int, int]]
) -> dict[int, tuple[int, int, int, int]]:
    """The places of a site trial that stay right once the unit's earlier steps are
    placed: every step up to the first whose place an earlier step could change (its
    resource among the step's modes, or both drawing the site's power)."""
    out = {ops[0]: plan[0]}
    used: set[int] = {plan[0][2]}
    power = c.op_power[ops[0]] > 0
    for j in range(1, len(plan)):
        o = ops[j]
        if (power and c.op_power[o] > 0) or any(m.resource in used for m in c.op_modes[o]):
            break
        out[o] = plan[j]
        used.add(plan[j][2])
        power = power or c.op_power[o] > 0
    return out


def _op_label(c: Compiled, o: int) -> str:
    u = c.op_unit[o]
    return f"{c.order_ids[c.unit_order[u]]}/{c.unit_no[u]}/{c.op_name[o]}"


# ---- evaluation ------------------------------------------------------------------------------


def unit_delivery(c: Compiled, a: Assignment, u: int) -> int:
    last = c.unit_ops[u][-1]
    return a.end[last] + c.order_transit[c.unit_order[u]][c.res_site[a.res[last]]]


def order_tardiness(c: Compiled, a: Assignment, oi: int) -> int:
    d = max(unit_delivery(c, a, u) for u in c.order_units[oi])
    return max(0, d - c.order_due[oi])


def evaluate(c: Compiled, a: Assignment) -> tuple[int, int]:
    """(scaled weighted tardiness, makespan) of a complete assignment."""
    wt = sum(c.order_weight[oi] * order_tardiness(c, a, oi) for oi in range(len(c.order_ids)))
    return wt, max(a.end, default=0)


def score(c: Compiled, a: Assignment) -> tuple[int, int]:
    """Lexicographic key of the objective: smaller is better. With a reference schedule
    the primary figure also pays for the moves (`solver.stability`)."""
    wt, mk = evaluate(c, a)
    tardiness = c.objective == Objective.TARDINESS
    if c.reference is not None:
        primary, secondary = (wt, mk) if tardiness else (mk, wt)
        return (UNIT * primary + move_cost(c, a), secondary)
    return (wt, mk) if c.objective == Objective.TARDINESS else (mk, wt)


def best_dispatch(
    c: Compiled, rules: Sequence[str] = ("edd", "slack", "mwkr"), seed: int = 0, tries: int = 0
) -> Assignment:
    """The best of several priority rules (and `tries` randomised MWKR passes).

    Raises `HorizonTooShort` only when no rule fits in the horizon.
    """
    best: Assignment | None = None
    best_key: tuple[int, int] | None = None
    rng = random.Random(seed)
    plans: list[tuple[str, random.Random | None]] = [(r, None) for r in rules]
    plans += [("mwkr", rng)] * tries
    short: HorizonTooShort | None = None
    for rule, r in plans:
        try:
            a = dispatch(c, rule_keys(c, rule, r))
        except HorizonTooShort as exc:  # this rule overshoots; another may fit
            short = exc
            continue
        k = score(c, a)
        if best_key is None or k < best_key:
            best, best_key = a, k
    if best is None:
        assert short is not None
        raise short
    return best
