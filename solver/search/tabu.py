"""Tabu search for the flexible job shop shape of the problem (makespan, no calendars).

CP-SAT's large-neighbourhood search improves a makespan schedule by re-solving a few ops
at a time; on the classic flexible job shops it stalls a few per cent above the best-known
values, because every sub-model keeps the critical path's context fixed. The classic cure
is a local search on the disjunctive graph that walks along the critical path itself:

- a schedule is a sequence of ops per resource; every op starts as soon as its unit's
  previous step and its resource's previous op end (heads), and the tails are the longest
  paths from its end to the last end;
- a move takes one critical op (head + duration + tail = makespan) and inserts it
  elsewhere: on its own resource, to the front or the back of its critical block or across
  it (Zhang et al.'s N7 neighbourhood, which holds Nowicki and Smutnicki's N5 swaps); or on
  another eligible resource, at any place that cannot close a cycle (Mastrolilli and
  Gambardella's reassignment);
- each move's makespan is estimated in O(1) or O(block) from heads and tails; the few best
  moves that are not tabu (or whose estimate beats the best so far) are made and measured
  exactly, and the best of them is kept; the op it moved stays put for a while (its tenure);
- after a long stretch without a new best, the search goes back to the best schedule and
  makes a few random moves (a perturbation), then goes on.

It applies only where the disjunctive graph is the whole problem (`applies`): makespan,
single-capacity resources available all the time, no power caps, no fixed steps, each
unit's steps at one site. Releases are honoured as heads. The plan runs it only without a
reference schedule (it knows nothing of moves). Every schedule it returns is still checked
by the validator in `solver.solve`.
"""

from __future__ import annotations

import logging
import pickle
import random
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from solver.compiled import Compiled
from solver.problem import Objective
from solver.search.context import Context
from solver.search.graph import Sequences
from solver.search.helper import Helper, child_channel, reply
from solver.solution import Assignment
from solver.tuning import Tuning

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tabu:
    """The phase: tabu searches from the incumbent, one per worker (the others in helper
    processes), and the best of them.

    `max_iterations`: an iteration budget besides the time (deterministic runs for tests).
    """

    name: ClassVar[str] = "tabu"
    ties: ClassVar[bool] = False
    max_iterations: int | None = None

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        """The best schedule found from `start` within `budget` seconds (`start`'s
        makespan at worst). `ctx.c` must satisfy `applies`."""
        return tabu_search(ctx, start, budget, self.max_iterations,
                           on_improve=lambda a: ctx.report(a, self.name))

    def describe(self) -> str:
        return "tabu (along the critical path)"


def applies(c: Compiled) -> bool:
    """Whether the problem is a flexible job shop: the disjunctive graph says it all."""
    if c.objective != Objective.MAKESPAN:
        return False
    if any(cap != 1 for cap in c.res_cap):
        return False
    if any(w != [(0, c.horizon)] for w in c.res_windows):
        return False
    if any(f is not None for f in c.op_fixed):
        return False
    for o, modes in enumerate(c.op_modes):
        if not modes or any(m.duration <= 0 for m in modes):
            return False
        if c.op_power[o] > 0 and any(c.site_cap[c.res_site[m.resource]] is not None
                                     for m in modes):
            return False
    for ops in c.unit_ops:
        if len({c.res_site[m.resource] for o in ops for m in c.op_modes[o]}) > 1:
            return False
    return True


class _Graph(Sequences):
    """A schedule as per-resource sequences, with heads, tails and the makespan."""

    def __init__(self, c: Compiled, a: Assignment) -> None:
        super().__init__(c, a)
        self.q = [0] * self.n
        self.cmax = 0
        if not self.times():
            raise ValueError("the start schedule's sequences hold a cycle")

    def times(self) -> bool:
        """Heads, tails and makespan from the sequences; False if they hold a cycle."""
        n, jp, js, rel, p, mach, seq, pos = (
            self.n, self.jp, self.js, self.rel, self.p, self.mach, self.seq, self.pos)
        r = self.r
        indeg = [0] * n
        for o in range(n):
            indeg[o] = (jp[o] >= 0) + (pos[o] > 0)
        stack = [o for o in range(n) if indeg[o] == 0]
        order: list[int] = []
        while stack:
            o = stack.pop()
            order.append(o)
            h = rel[o]
            j = jp[o]
            if j >= 0 and r[j] + p[j] > h:
                h = r[j] + p[j]
            i = pos[o]
            s = seq[mach[o]]
            if i > 0:
                m = s[i - 1]
                if r[m] + p[m] > h:
                    h = r[m] + p[m]
            r[o] = h
            j = js[o]
            if j >= 0:
                indeg[j] -= 1
                if indeg[j] == 0:
                    stack.append(j)
            if i + 1 < len(s):
                m = s[i + 1]
                indeg[m] -= 1
                if indeg[m] == 0:
                    stack.append(m)
        if len(order) < n:
            return False
        q = self.q
        cmax = 0
        for o in reversed(order):
            t = 0
            j = js[o]
            if j >= 0:
                t = q[j] + p[j]
            s = seq[mach[o]]
            i = pos[o] + 1
            if i < len(s):
                m = s[i]
                if q[m] + p[m] > t:
                    t = q[m] + p[m]
            q[o] = t
            if r[o] + p[o] + t > cmax:
                cmax = r[o] + p[o] + t
        self.cmax = cmax
        return True

    def critical(self) -> list[int]:
        """The ops on a critical path (head + duration + tail = makespan)."""
        r, p, q, cmax = self.r, self.p, self.q, self.cmax
        return [o for o in range(self.n) if r[o] + p[o] + q[o] == cmax]


#: a candidate move: (estimated makespan, op, resource, index in the sequence without it)
Move = tuple[int, int, int, int]


def _moves(g: _Graph) -> list[Move]:
    """The neighbourhood of the current schedule, with estimated makespans."""
    r, q, p, jp, js, rel, mach, seq, pos, dur = (
        g.r, g.q, g.p, g.jp, g.js, g.rel, g.mach, g.seq, g.pos, g.dur)
    cmax = g.cmax
    out: list[Move] = []
    crit = g.critical()
    r_of = r.__getitem__

    def end_of(x: int) -> int:
        return r[x] + p[x]

    for v in crit:
        j = jp[v]
        head_in = r[j] + p[j] if j >= 0 else 0
        if rel[v] > head_in:
            head_in = rel[v]
        j = js[v]
        tail_out = q[j] + p[j] if j >= 0 else 0
        k0 = mach[v]
        s0 = seq[k0]
        i = pos[v]
        # v's critical block on its own resource: tight neighbours that are critical too
        lo = i
        while lo > 0:
            x = s0[lo - 1]
            if r[x] + p[x] + q[x] != cmax or r[x] + p[x] != r[s0[lo]]:
                break
            lo -= 1
        hi = i
        while hi + 1 < len(s0):
            x = s0[hi + 1]
            if r[x] + p[x] + q[x] != cmax or r[s0[hi]] + p[s0[hi]] != r[x]:
                break
            hi += 1
        if hi > lo:
            targets: list[int] = []
            if i > lo:
                targets.append(lo)
            if i < hi:
                targets.append(hi)
            if i in (lo, hi):
                targets.extend(range(lo + 1, hi))
            for idx in targets:
                est = _chain_estimate(g, v, i, idx)
                if est >= 0:
                    out.append((est, v, k0, idx))
        # v on another eligible resource, anywhere that closes no cycle
        if len(dur[v]) > 1:
            for k, d in dur[v].items():
                if k == k0:
                    continue
                s = seq[k]
                # the op a before v must not be v's next step nor have a path from it,
                # and the op b after v must not be v's previous step nor have a path to
                # it; heads grow strictly along any path (durations are positive), so
                # a = s[idx - 1] needs r[a] < nxt_head and b = s[idx] needs
                # r[b] + p[b] > prv_head, where a step on k itself is compared by its
                # place on k (before or after it in the sequence)
                nxt_head = prv_head = None
                j = js[v]
                if j >= 0:
                    nxt_head = r[j] if mach[j] == k else r[j] + p[j]
                j = jp[v]
                if j >= 0:
                    prv_head = r[j] + p[j] if mach[j] == k else r[j]
                # heads and ends grow along a sequence: the places that pass both tests
                # are one stretch [first, top]
                top = len(s) if nxt_head is None else bisect_left(s, nxt_head, key=r_of)
                first = 0 if prv_head is None else bisect_right(s, prv_head, key=end_of)
                best = -1
                best_idx = -1
                for idx in range(first, top + 1):
                    h = head_in
                    if idx > 0:
                        a = s[idx - 1]
                        if r[a] + p[a] > h:
                            h = r[a] + p[a]
                    t_in = tail_out
                    if idx < len(s):
                        b = s[idx]
                        if p[b] + q[b] > t_in:
                            t_in = p[b] + q[b]
                    est = h + d + t_in
                    if best < 0 or est < best:
                        best, best_idx = est, idx
                if best >= 0:
                    out.append((best, v, k, best_idx))
    return out


def _chain_estimate(g: _Graph, v: int, i: int, idx: int) -> int:
    """Estimated makespan of moving `v` from index `i` of its sequence to `idx` of the
    sequence without it (same resource): the longest path through the reordered stretch,
    from the heads before it and the tails after it. -1 if the move might close a cycle."""
    r, q, p, jp, js, rel = g.r, g.q, g.p, g.jp, g.js, g.rel
    s = g.seq[g.mach[v]]
    if idx < i:  # v goes before s[idx..i-1]
        chain = [v, *s[idx:i]]
        before = s[idx - 1] if idx > 0 else -1
        after = s[i + 1] if i + 1 < len(s) else -1
        # s[idx] is not v's previous step, nor is there a path from it to that step
        j = jp[v]
        if j >= 0 and (j == s[idx] or r[j] >= r[s[idx]] + p[s[idx]]):
            return -1
    else:  # v goes after s[i+1..idx]
        chain = [*s[i + 1:idx + 1], v]
        before = s[i - 1] if i > 0 else -1
        after = s[idx + 1] if idx + 1 < len(s) else -1
        # s[idx] is not v's next step, nor is there a path from that step to it
        j = js[v]
        if j >= 0 and (j == s[idx] or r[s[idx]] >= r[j] + p[j]):
            return -1
    t = r[before] + p[before] if before >= 0 else 0
    heads = []
    for x in chain:
        h = rel[x]
        j = jp[x]
        if j >= 0 and r[j] + p[j] > h:
            h = r[j] + p[j]
        if t > h:
            h = t
        heads.append(h)
        t = h + p[x]
    tail = q[after] + p[after] if after >= 0 else 0
    est = 0
    for x, h in zip(reversed(chain), reversed(heads), strict=True):
        j = js[x]
        tq = q[j] + p[j] if j >= 0 else 0
        if tail > tq:
            tq = tail
        if h + p[x] + tq > est:
            est = h + p[x] + tq
        tail = tq + p[x]
    return est


def tabu_search(
    ctx: Context,
    start: Assignment,
    time_limit: float,
    max_iterations: int | None = None,
    on_improve: Callable[[Assignment], None] | None = None,
) -> Assignment:
    """The best schedule found from `start` within `time_limit` seconds (`start`'s
    makespan at worst). `ctx.c` must satisfy `applies`.

    With `ctx.workers` > 1, as many searches run at once from `start` with their own
    seeds, the others in helper processes (`solver.search.helper`), and the best of them
    is returned: on one instance the runs of different seeds spread by a few per cent, so
    the best of two is a surer result than one run twice as long."""
    c = ctx.c
    helpers: list[Helper] = []
    deadline = time.time() + time_limit
    for i in range(ctx.workers - 1):
        try:
            helpers.append(Helper("solver.search.tabu",
                                  (c, start, deadline, ctx.seed + 1 + i, ctx.tuning)))
        except OSError as exc:  # no process to spare: search alone
            log.warning("could not start a tabu-search helper: %s", exc)
            break
    try:
        best = _search(c, start, time_limit, ctx.seed, ctx.tuning, ctx.stopped,
                       max_iterations, on_improve)
        for h in helpers:
            got: Assignment | None = h.receive() if not ctx.stopped() else None
            log.debug("tabu: makespan %d here, %s in a helper", max(best.end),
                      "nothing" if got is None else max(got.end))
            if got is not None and max(got.end) < max(best.end):
                best = got
                if on_improve is not None:
                    on_improve(best)
    finally:
        for h in helpers:
            h.close()
    return best


def _helper_main() -> None:
    """The helper process: one search until the parent's deadline, its best back."""
    stdin, stdout = child_channel()
    try:
        c, start, deadline, seed, tuning = pickle.load(stdin)
    except EOFError:
        return
    reply(stdout, _search(c, start, max(0.0, deadline - time.time()), seed, tuning))


def _search(
    c: Compiled,
    start: Assignment,
    time_limit: float,
    seed: int,
    tuning: Tuning,
    stop: Callable[[], bool] | None = None,
    max_iterations: int | None = None,
    on_improve: Callable[[Assignment], None] | None = None,
) -> Assignment:
    """One tabu search (see the module's docstring)."""
    g = _Graph(c, start)
    rng = random.Random(seed)
    t_end = time.monotonic() + time_limit
    best = g.assignment()
    best_cmax = g.cmax
    n_res = max(1, len(g.seq))
    # an op that moved stays put for a random tenure in [base, 2 base] iterations, base
    # the ops per resource
    base_tenure = max(tuning.tabu_tenure_min, g.n // n_res)
    shortlist = tuning.tabu_shortlist
    op_tabu = [0] * g.n  # iteration until which an op stays where it is
    res_tabu: dict[tuple[int, int], int] = {}  # (op, resource): until it may go back
    it = last_best = 0
    while True:
        it += 1
        if max_iterations is not None and it > max_iterations:
            break
        if it & 15 == 0 and (time.monotonic() >= t_end or (stop is not None and stop())):
            break
        moves = _moves(g)
        if not moves:
            break  # no critical op can move: the makespan is one unit's path
        allowed = [
            mv for mv in moves
            if mv[0] < best_cmax or (op_tabu[mv[1]] <= it
                                     and res_tabu.get((mv[1], mv[2]), 0) <= it)
        ]
        if not allowed:
            allowed = moves
        rng.shuffle(allowed)
        allowed.sort(key=lambda mv: mv[0])
        saved = g.r[:], g.q[:], g.cmax
        chosen: Move | None = None
        chosen_key: tuple[int, int] | None = None
        chosen_times = saved
        for mv in allowed[:shortlist]:
            _, v, k, idx = mv
            k0, i0 = g.move(v, k, idx)
            if g.times():
                key = (g.cmax, len(g.critical()))
                if chosen_key is None or key < chosen_key:
                    chosen, chosen_key = mv, key
                    chosen_times = g.r[:], g.q[:], g.cmax
            g.move(v, k0, i0)
        if chosen is None:  # cannot happen by the moves' test: every one closed a cycle
            g.r[:], g.q[:], g.cmax = saved
            for mv in allowed[:shortlist]:
                op_tabu[mv[1]] = it + 1
            continue
        _, v, k, idx = chosen
        k0, i0 = g.move(v, k, idx)
        g.r[:], g.q[:], g.cmax = chosen_times
        op_tabu[v] = it + base_tenure + rng.randrange(base_tenure + 1)
        if k != k0:
            res_tabu[(v, k0)] = it + tuning.tabu_return_tenure * base_tenure
        if g.cmax < best_cmax:
            best_cmax, best, last_best = g.cmax, g.assignment(), it
            if on_improve is not None:
                on_improve(best)
        elif it - last_best > tuning.tabu_stall:
            g = _Graph(c, best)
            _kick(g, rng, tuning.tabu_kick)
            op_tabu = [0] * g.n
            res_tabu.clear()
            last_best = it
    return best


def _kick(g: _Graph, rng: random.Random, n: int) -> None:
    """Make `n` random moves of the neighbourhood, whatever their makespan (a
    perturbation that keeps the sequences acyclic)."""
    for _ in range(n):
        moves = _moves(g)
        if not moves:
            return
        _, v, k, idx = rng.choice(moves)
        k0, i0 = g.move(v, k, idx)
        if not g.times():
            g.move(v, k0, i0)
            g.times()


__all__ = ["Tabu", "applies", "tabu_search"]

if __name__ == "__main__":
    _helper_main()
