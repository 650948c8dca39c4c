"""Per step and site, bucket by bucket: where the step can start and how its minutes can
fall into buckets, from the real calendars (`Compiled.start_intervals`).

A step at a site has modes (resource, duration). A start in bucket `b` is feasible on a
mode when the step fits one available window of its resource from there (rule 6). The
tables below hold, per bucket, the earliest and latest feasible start, the earliest end,
and for each later bucket `b + k` the least and the most minutes of the step that a start
in `b` puts into `b + k`: any unit that starts the step in `b` spends between those many
minutes there, and at least the shortest duration in all.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from solver.calendar import Interval
from solver.compiled import Compiled, Mode
from solver.planning.grid import Grid

NONE = -1


def overlap(t: float, d: int, u: float, v: float) -> float:
    """Minutes of ``[t, t + d)`` inside ``[u, v)``."""
    return max(0.0, min(t + d, v) - max(t, u))


@dataclass
class _Starts:
    """One distinct way to run the step: its duration and its closed start intervals."""

    duration: int
    lo: list[int]
    hi: list[int]


class StepTable:
    """Feasible starts of one step at one site over the grid, per bucket."""

    def __init__(self, c: Compiled, grid: Grid, modes: Sequence[Mode]) -> None:
        self.grid = grid
        seen: dict[tuple[int, tuple[Interval, ...]], _Starts] = {}
        for m in modes:
            key = (m.duration, tuple(c.res_windows[m.resource]))
            if key not in seen:
                lo, hi = c.start_bounds(m.resource, m.duration)
                seen[key] = _Starts(m.duration, lo, hi)
        self.ways = list(seen.values())
        self.d_min = min((w.duration for w in self.ways), default=0)
        n = grid.n
        self.es = [NONE] * n  # earliest feasible start in the bucket
        self.ls = [NONE] * n  # latest feasible start in the bucket
        self.ee = [math.inf] * n  # earliest end of a start in the bucket
        # per bucket, per offset k: least / most minutes in bucket b + k (b + k = n: beyond)
        self.lo: list[list[float]] = [[] for _ in range(n)]
        self.hi: list[list[float]] = [[] for _ in range(n)]
        L = grid.length
        for w in self.ways:
            span = (L + w.duration - 2) // L  # buckets past b a start can reach
            for a, z in zip(w.lo, w.hi, strict=True):
                if a >= grid.end:
                    break
                z = min(z, grid.end - 1)
                for b in range(grid.of(a), grid.of(z) + 1):
                    p = max(a, b * L)
                    q = min(z, (b + 1) * L - 1)
                    self._piece(b, p, q, w.duration, min(span, n - b))
        self.prefix_ls = list(self.ls)
        for b in range(1, n):
            self.prefix_ls[b] = max(self.prefix_ls[b], self.prefix_ls[b - 1])

    def _piece(self, b: int, p: int, q: int, d: int, k_max: int) -> None:
        """Fold the starts ``[p, q]`` (inside bucket `b`) of a `d`-minute way in."""
        if self.es[b] == NONE or p < self.es[b]:
            self.es[b] = p
        self.ls[b] = max(self.ls[b], q)
        self.ee[b] = min(self.ee[b], p + d)
        lo, hi = self.lo[b], self.hi[b]
        first = not lo
        g = self.grid
        for k in range(k_max + 1):
            u, v = g.start(b + k), g.stop(b + k)
            at_ends = (overlap(p, d, u, v), overlap(q, d, u, v))
            least = min(at_ends)
            most = max(at_ends + tuple(overlap(min(max(x, p), q), d, u, v) for x in (u, v - d)))
            if k >= len(lo):
                # a shorter way may not reach this far: it puts nothing there
                lo.append(least if first else 0.0)
                hi.append(most)
            else:
                lo[k] = min(lo[k], least)
                hi[k] = max(hi[k], most)
        for k in range(k_max + 1, len(lo)):
            lo[k] = 0.0

    def feasible(self, b: int) -> bool:
        """Some start in bucket `b` is feasible (the overflow bucket always is)."""
        return b >= self.grid.n or self.es[b] != NONE

    def earliest(self, t: int) -> tuple[int, int]:
        """(earliest start, earliest end) of the step ready at `t`; past the model's end,
        the end of the grid stands in for the unknown calendar."""
        best_s, best_e = math.inf, math.inf
        for w in self.ways:
            i = bisect_right(w.lo, t) - 1
            if i >= 0 and w.hi[i] >= t:
                s = t
            elif i + 1 < len(w.lo):
                s = w.lo[i + 1]
            else:
                continue
            best_s = min(best_s, s)
            best_e = min(best_e, s + w.duration)
        floor = max(t, self.grid.end)
        if best_s > floor:
            best_s, best_e = floor, floor + self.d_min
        return int(best_s), int(best_e)

    def latest_by(self, t: float) -> int | None:
        """The latest feasible start of the step whose end is at most `t` (None if none)."""
        best: int | None = None
        for w in self.ways:
            lim = t - w.duration
            i = bisect_right(w.lo, lim) - 1
            if i >= 0:
                s = int(min(w.hi[i], lim))
                best = s if best is None else max(best, s)
        return best


def capacity_minutes(c: Compiled, grid: Grid, r: int) -> list[float]:
    """Per bucket, the resource's capacity times its available minutes there (rules 6, 7)."""
    out = [0.0] * grid.n
    cap = c.res_cap[r]
    for a, z in c.res_windows[r]:
        if a >= grid.end:
            break
        for b in range(grid.of(a), grid.of(min(z, grid.end) - 1) + 1):
            out[b] += cap * overlap(a, z - a, grid.start(b), grid.stop(b))
    return out


def usable_minutes(c: Compiled, grid: Grid, r: int, durations: frozenset[int],
                   skip: frozenset[int] = frozenset()) -> list[float]:
    """Per bucket, `capacity_minutes` where a window lying wholly inside one bucket counts
    only the most minutes of `durations` that fit into it (rules 6 and 7: a step lies
    inside one window, and a resource of capacity `k` runs its steps on `k` lanes, none
    overlapping on one lane, so each lane of a window holds steps whose durations sum to
    at most its length; a 540-minute step in a 960-minute shift leaves 420 minutes no
    such step can use). Windows with an index in `skip` (those holding a fixed step)
    count in full."""
    out = [0.0] * grid.n
    cap = c.res_cap[r]
    fit: dict[int, int] = {}
    for i, (a, z) in enumerate(c.res_windows[r]):
        if a >= grid.end:
            break
        first, last = grid.of(a), grid.of(min(z, grid.end) - 1)
        if first == last and z <= grid.end and durations and i not in skip:
            length = z - a
            if length not in fit:
                fit[length] = _most_fitting(length, durations)
            out[first] += cap * fit[length]
            continue
        for b in range(first, last + 1):
            out[b] += cap * overlap(a, z - a, grid.start(b), grid.stop(b))
    return out


def _most_fitting(length: int, durations: frozenset[int]) -> int:
    """The largest sum of `durations` (each any number of times) at most `length`."""
    reach = 1  # bit t: a sum of t minutes is reachable
    mask = (1 << (length + 1)) - 1
    for d in sorted(durations):
        if d <= 0:
            return length
        prev = -1
        while prev != reach:  # add d once more, until nothing new is reachable
            prev = reach
            reach |= (reach << d) & mask
    return reach.bit_length() - 1


def fixed_minutes(c: Compiled, grid: Grid, r: int, s: int, e: int) -> list[tuple[int, float]]:
    """(bucket, minutes) of a fixed step ``[s, e)`` on `r` that lie in its windows."""
    out: dict[int, float] = {}
    for a, z in c.res_windows[r]:
        lo, hi = max(a, s), min(z, e, grid.end)
        if lo >= hi:
            continue
        for b in range(grid.of(lo), grid.of(hi - 1) + 1):
            out[b] = out.get(b, 0.0) + overlap(lo, hi - lo, grid.start(b), grid.stop(b))
    return sorted(out.items())


def span_minutes(grid: Grid, s: float, e: float) -> list[tuple[int, float]]:
    """(bucket, minutes) of ``[s, e)`` within the grid."""
    lo, hi = max(s, 0.0), min(e, float(grid.end))
    if lo >= hi:
        return []
    out = []
    for b in range(grid.of(int(lo)), grid.of(math.ceil(hi) - 1) + 1):
        m = max(0.0, min(hi, grid.stop(b)) - max(lo, grid.start(b)))
        if m > 0:
            out.append((b, m))
    return out
