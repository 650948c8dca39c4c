"""Tabu search for weighted tardiness on the disjunctive graph (job shops with due dates).

The makespan search (`solver.tabu`) walks along one critical path; a due-date objective
has one critical path per late job, and a move that shortens one may lengthen another.
The local searches that come closest to the optimum on job shops with weighted due dates
(Kreipl's large step random walk, Essafi, Mati and Dauzère-Pérès's genetic local search,
González et al.'s tabu search, Kuhpfahl and Bierwirth's study of neighbourhoods) share
one design, which this module follows:

- a schedule is a sequence of ops per resource; every op starts as soon as its unit's
  previous step and its resource's previous op end (heads, with releases), and the tails
  are kept per unit: the longest path from an op's start to each unit's completion;
- the neighbourhood is built on the critical tree of every late order (all the longest
  paths to the completion of its latest unit, not one of them): an op of a critical
  block of such a tree is inserted at the block's front or back, or one at an end of the
  block anywhere inside it (swaps of the ends' neighbours included); in a flexible job
  shop an op of a critical tree also goes to another eligible resource, at the place of
  that resource's sequence the estimates find best among those that cannot close a cycle;
- each move's effect on every unit's completion is estimated from the heads before the
  moved stretch and the tails after it (a unit whose longest path ran through the
  stretch gets the new path through it, the others the longer of the two), hence its
  weighted tardiness; the few best moves that are not tabu (or whose estimate beats the
  best so far) are made and measured exactly, and the best of them is kept (weighted
  tardiness, then makespan, then the sum of the units' completions); the pairs of ops
  it reverses may not be put back in their old order for a random tenure (an op it
  reassigns may not go back to its resource), which walks out of a local optimum far
  better than keeping the moved op still (8 x 5 and 10 x 10 job shops at 2,000
  iterations: 17 % less weighted tardiness in all);
- after a stretch without a new best, the search goes back to the best schedule and makes
  random moves of the neighbourhood (a perturbation); after several such stretches without
  a new best, a longer walk from one of the best schedules seen (a restart). The walk has
  to go far: 20 random moves did better than 6, 12 or 40 (10 x 10 job shops at 2,500
  iterations), and keeping the current schedule near the best did worse.

It applies where the disjunctive graph is the whole problem (`applies`): weighted
tardiness without a reference schedule, single-capacity resources available all the
time, no power caps, no fixed steps, each unit's steps at one site (its transit time to
the destination is then a constant added to its completion). Every schedule it returns
is still checked by the validator where the solve returns it.
"""

from __future__ import annotations

import logging
import pickle
import random
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

# the solver modules this search builds on
from solver.compiled import Compiled
from solver.problem import Objective
from solver.search.context import Context
from solver.search.graph import Sequences
from solver.search.helper import Helper, child_channel, reply
from solver.solution import Assignment, score

log = logging.getLogger(__name__)

# the length of a path that does not exist (per-unit tails of ops that cannot reach it)
NEG = -(1 << 60)
# the moves of best estimate made and measured exactly in each iteration
SHORTLIST = 4
# the best schedules kept for restarts
ELITE = 8


@dataclass
class TwtParams:
    """What the caller decides about one weighted-tardiness search."""

    time_limit: float
    seed: int = 0
    # iterations without a new best before going back to the best and perturbing it
    stall: int = 400
    # random moves of a perturbation
    kick: int = 20
    # perturbations without a new best before a restart from an elite schedule
    restart: int = 8
    stop: Callable[[], bool] | None = None
    # an iteration budget besides the time limit (deterministic runs for tests)
    max_iterations: int | None = None


@dataclass
class SearchStats:
    """What one search did (this process's): its iterations and seconds."""

    iterations: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Iterations per second of wall time."""
        return self.iterations / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Twt:
    """The phase: weighted-tardiness tabu searches from the incumbent, one per worker (the
    others in helper processes), and the best of them.

    `max_iterations`: an iteration budget besides the time (deterministic runs for tests).
    """

    name: ClassVar[str] = "twt"
    ties: ClassVar[bool] = False
    max_iterations: int | None = None

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        """The best schedule found from `start` within `budget` seconds (`start` at
        worst). `ctx.c` must satisfy `applies`."""
        t = ctx.tuning
        params = TwtParams(budget, seed=ctx.seed, stall=t.twt_stall, kick=t.twt_kick,
                           restart=t.twt_restart, stop=ctx.stop,
                           max_iterations=self.max_iterations)
        return search(ctx.c, start, params, on_improve=lambda a: ctx.report(a, self.name),
                      workers=ctx.workers)

    def describe(self) -> str:
        return "twt (tabu on the late orders' critical trees)"


def applies(c: Compiled) -> bool:
    """Whether the problem is a job shop with due dates: the disjunctive graph, releases
    and the units' transit times say it all."""
    if c.objective != Objective.TARDINESS or c.reference is not None:
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
        if not ops or len({c.res_site[m.resource] for o in ops for m in c.op_modes[o]}) > 1:
            return False
    return True


#: the exact figures of a schedule: (weighted tardiness, makespan, sum of completions)
Key = tuple[int, int, int]


class _Graph(Sequences):
    """A schedule as per-resource sequences, with heads, per-unit tails and its figures."""

    def __init__(self, c: Compiled, a: Assignment) -> None:
        super().__init__(c, a)
        n = self.n
        self.n_units = len(c.unit_ops)
        self.last = [ops[-1] for ops in c.unit_ops]
        self.last_of = [-1] * n  # per op, the unit it ends (-1: not a last step)
        for u, o in enumerate(self.last):
            self.last_of[o] = u
        self.unit_order = c.unit_order
        self.order_units = c.order_units
        self.weight = c.order_weight
        # a unit is late once its completion passes its order's due date less its transit
        self.due = [
            c.order_due[oi] - c.order_transit[oi][c.res_site[c.op_modes[ops[0]][0].resource]]
            for ops, oi in zip(c.unit_ops, c.unit_order, strict=True)
        ]
        got = self.heads()
        if got is None:
            raise ValueError("the start schedule's sequences hold a cycle")
        self.topo: list[int] = []
        self.tails: list[list[int]] = []
        self.C: list[int] = []
        self.late: list[int] = []  # per order, its tardiness
        self.key: Key = (0, 0, 0)
        self.commit(*got)

    def heads(self) -> tuple[list[int], list[int]] | None:
        """Heads and a topological order from the sequences; None if they hold a cycle."""
        n, jp, js, rel, p, mach, seq, pos = (
            self.n, self.jp, self.js, self.rel, self.p, self.mach, self.seq, self.pos)
        r = [0] * n
        indeg = [(jp[o] >= 0) + (pos[o] > 0) for o in range(n)]
        stack = [o for o in range(n) if indeg[o] == 0]
        order: list[int] = []
        push, pop, add = stack.append, stack.pop, order.append
        while stack:
            o = pop()
            add(o)
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
                    push(j)
            if i + 1 < len(s):
                m = s[i + 1]
                indeg[m] -= 1
                if indeg[m] == 0:
                    push(m)
        if len(order) < n:
            return None
        return r, order

    def figures(self, r: list[int]) -> Key:
        """(weighted tardiness, makespan, sum of completions) of heads `r`."""
        p, due = self.p, self.due
        ends = [r[o] + p[o] for o in self.last]
        wt = 0
        for oi, us in enumerate(self.order_units):
            t = max(ends[u] - due[u] for u in us)
            if t > 0:
                wt += self.weight[oi] * t
        return wt, max(ends), sum(ends)

    def commit(self, r: list[int], topo: list[int]) -> None:
        """Make heads `r` (in topological order `topo`) the current ones: completions,
        tardiness and per-unit tails follow."""
        self.r, self.topo = r, topo
        p, due = self.p, self.due
        self.C = [r[o] + p[o] for o in self.last]
        self.late = [max(0, *(self.C[u] - due[u] for u in us)) for us in self.order_units]
        self.key = self.figures(r)
        js, seq, pos, mach, last_of = self.js, self.seq, self.pos, self.mach, self.last_of
        n_units = self.n_units
        none = [NEG] * n_units
        tails: list[list[int]] = [none] * self.n
        for o in reversed(topo):
            po = p[o]
            j = js[o]
            s = seq[mach[o]]
            i = pos[o] + 1
            a = tails[j] if j >= 0 else none
            if i < len(s):
                b = tails[s[i]]
                t = [po + (x if x > y else y) for x, y in zip(a, b, strict=True)]
            else:
                t = [po + x for x in a]
            u = last_of[o]
            if u >= 0:
                t[u] = po
            tails[o] = t
        self.tails = tails

    def critical(self) -> list[tuple[int, list[int]]]:
        """Per late order's latest unit (the latest units, when tied), the critical tree
        to its completion: (unit, its ops), found backwards along the tight arcs."""
        r, p, jp, pos, seq, mach, due, C = (
            self.r, self.p, self.jp, self.pos, self.seq, self.mach, self.due, self.C)
        out: list[tuple[int, list[int]]] = []
        for oi, us in enumerate(self.order_units):
            t = self.late[oi]
            if t <= 0:
                continue
            for u in us:
                if C[u] - due[u] != t:
                    continue
                seen = {self.last[u]}
                stack = [self.last[u]]
                while stack:
                    x = stack.pop()
                    h = r[x]
                    j = jp[x]
                    if j >= 0 and r[j] + p[j] == h and j not in seen:
                        seen.add(j)
                        stack.append(j)
                    i = pos[x]
                    if i > 0:
                        m = seq[mach[x]][i - 1]
                        if r[m] + p[m] == h and m not in seen:
                            seen.add(m)
                            stack.append(m)
                out.append((u, list(seen)))
        return out


#: a candidate move: (estimated weighted tardiness, estimated change of the sum of the
#: completions, op, resource, index in the sequence without it)
Move = tuple[int, int, int, int, int]


def _moves(g: _Graph) -> list[Move]:
    """The neighbourhood of the current schedule on the late orders' critical trees, with
    each move's estimated figures."""
    r, p, seq, pos, mach, dur = g.r, g.p, g.seq, g.pos, g.mach, g.dur
    seen: set[tuple[int, int, int]] = set()
    out: list[Move] = []
    # per op of a critical tree, the late units whose tree holds it (for reassignments)
    on_tree: dict[int, list[int]] = {}
    for u, tree in g.critical():
        in_tree = set(tree)
        for x in tree:
            on_tree.setdefault(x, []).append(u)
        # the tree's critical blocks: runs of tight arcs between tree ops on one resource
        for x in tree:
            s = seq[mach[x]]
            i = pos[x]
            if i > 0 and s[i - 1] in in_tree and r[s[i - 1]] + p[s[i - 1]] == r[x]:
                continue  # not the first op of its block
            hi = i
            while (hi + 1 < len(s) and s[hi + 1] in in_tree
                   and r[s[hi]] + p[s[hi]] == r[s[hi + 1]]):
                hi += 1
            if hi == i:
                continue
            lo = i
            k = mach[x]
            for j in range(lo, hi + 1):
                targets: list[int] = []
                if j > lo:
                    targets.append(lo)
                if j < hi:
                    targets.append(hi)
                if j in (lo, hi):
                    targets.extend(range(lo + 1, hi))
                v = s[j]
                for idx in targets:
                    if (v, k, idx) in seen:
                        continue
                    seen.add((v, k, idx))
                    est = _chain_estimate(g, v, j, idx)
                    if est is not None:
                        out.append((est[0], est[1], v, k, idx))
    for v, units in on_tree.items():
        if len(dur[v]) > 1:
            out.extend(_reassignments(g, v, units))
    return out


def _estimate(g: _Graph, through: list[int], paths: list[int]) -> tuple[int, int]:
    """Estimated (weighted tardiness, change of the sum of completions) once the longest
    paths through the changed ops `through` to each unit are `paths` (NEG: none): a unit
    whose longest path ran through them takes the new one, the others the longer."""
    r, tails, C = g.r, g.tails, g.C
    # per unit, the longest path through the changed ops before the move
    x = through[0]
    h = r[x]
    was = [h + a for a in tails[x]]
    for x in through[1:]:
        h = r[x]
        was = [(h + a if h + a > b else b) for a, b in zip(tails[x], was, strict=True)]
    wt = g.key[0]
    dsum = 0
    new_late: dict[int, int] = {}
    due, late, weight, unit_order, order_units = (
        g.due, g.late, g.weight, g.unit_order, g.order_units)
    for u, (pu, wu, cu) in enumerate(zip(paths, was, C, strict=True)):
        if wu == cu:
            cn = pu if pu > 0 else cu  # its longest path ran through them
        elif pu > cu:
            cn = pu
        else:
            continue
        if cn == cu:
            continue
        dsum += cn - cu
        oi = unit_order[u]
        t = cn - due[u]
        if len(order_units[oi]) == 1:
            new_late[oi] = t if t > 0 else 0
        else:  # the order's other units as they are
            prev = new_late.get(oi)
            if prev is None:
                prev = max(0, *(C[y] - due[y] for y in order_units[oi] if y != u))
            new_late[oi] = max(prev, t)
    for oi, t in new_late.items():
        wt += weight[oi] * (t - late[oi])
    return wt, dsum


def _chain_estimate(g: _Graph, v: int, i: int, idx: int) -> tuple[int, int] | None:
    """Estimated figures of moving `v` from index `i` of its sequence to `idx` of the
    sequence without it (same resource): the longest paths through the reordered stretch
    from the heads before it and the tails after it. None if the move might close a
    cycle."""
    r, p, jp, js, rel, tails, last_of = g.r, g.p, g.jp, g.js, g.rel, g.tails, g.last_of
    s = g.seq[g.mach[v]]
    if idx < i:  # v goes before s[idx..i-1]
        chain = [v, *s[idx:i]]
        before = s[idx - 1] if idx > 0 else -1
        after = s[i + 1] if i + 1 < len(s) else -1
        # s[idx] is not v's previous step, nor is there a path from it to that step
        j = jp[v]
        if j >= 0 and (j == s[idx] or r[j] >= r[s[idx]] + p[s[idx]]):
            return None
    else:  # v goes after s[i+1..idx]
        chain = [*s[i + 1:idx + 1], v]
        before = s[i - 1] if i > 0 else -1
        after = s[idx + 1] if idx + 1 < len(s) else -1
        # s[idx] is not v's next step, nor is there a path from that step to it
        j = js[v]
        if j >= 0 and (j == s[idx] or r[s[idx]] >= r[j] + p[j]):
            return None
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
    none = [NEG] * g.n_units
    tail = tails[after] if after >= 0 else none
    paths = none
    for x, h in zip(reversed(chain), reversed(heads), strict=True):
        px = p[x]
        j = js[x]
        if j >= 0:
            tx = [px + (a if a > b else b) for a, b in zip(tails[j], tail, strict=True)]
        else:
            tx = [px + b for b in tail]
            tx[last_of[x]] = px
        paths = [(h + a if h + a > b else b) for a, b in zip(tx, paths, strict=True)]
        tail = tx
    return _estimate(g, chain, paths)


def _reassignments(g: _Graph, v: int, units: list[int]) -> list[Move]:
    """`v` on each other eligible resource, at the place that closes no cycle where the
    late units whose trees hold it would end first (weighted), with its estimate."""
    r, p, q, jp, js, rel, mach, seq, pos, due, weight, unit_order = (
        g.r, g.p, g.tails, g.jp, g.js, g.rel, g.mach, g.seq, g.pos, g.due, g.weight,
        g.unit_order)
    out: list[Move] = []
    none = [NEG] * g.n_units
    j = jp[v]
    head_in = max(rel[v], r[j] + p[j] if j >= 0 else 0)
    tail_job = q[js[v]] if js[v] >= 0 else none
    k0 = mach[v]
    s0 = seq[k0]
    i0 = pos[v]
    # the old resource's ops after v may start sooner: the path past v's place
    bypass = none
    if i0 + 1 < len(s0):
        b = s0[i0 + 1]
        jb = jp[b]
        h = max(rel[b], r[jb] + p[jb] if jb >= 0 else 0)
        if i0 > 0:
            a = s0[i0 - 1]
            h = max(h, r[a] + p[a])
        bypass = [h + x for x in q[b]]

    def end_of(x: int) -> int:
        return r[x] + p[x]

    for k, d in g.dur[v].items():
        if k == k0:
            continue
        s = seq[k]
        # the op a before v must not be v's next step nor have a path from it, and the
        # op b after v must not be v's previous step nor have a path to it (heads grow
        # strictly along any path: see `solver.tabu`)
        nxt_head = prv_head = None
        j = js[v]
        if j >= 0:
            nxt_head = r[j] if mach[j] == k else r[j] + p[j]
        j = jp[v]
        if j >= 0:
            prv_head = r[j] + p[j] if mach[j] == k else r[j]
        top = len(s) if nxt_head is None else bisect_left(s, nxt_head, key=r.__getitem__)
        first = 0 if prv_head is None else bisect_right(s, prv_head, key=end_of)
        best = -1
        best_idx = -1
        for idx in range(first, top + 1):
            h = head_in
            if idx > 0:
                a = s[idx - 1]
                if r[a] + p[a] > h:
                    h = r[a] + p[a]
            qb = q[s[idx]] if idx < len(s) else none
            cost = 0
            for u in units:
                t = h + d + max(tail_job[u], qb[u]) - due[u]
                if t > 0:
                    cost += weight[unit_order[u]] * t
            if best < 0 or cost < best:
                best, best_idx = cost, idx
        if best_idx < 0:
            continue
        h = head_in
        if best_idx > 0:
            a = s[best_idx - 1]
            h = max(h, r[a] + p[a])
        qb = q[s[best_idx]] if best_idx < len(s) else none
        tv = [d + (x if x > y else y) for x, y in zip(tail_job, qb, strict=True)]
        if js[v] < 0:
            tv[g.last_of[v]] = d
        paths = [(h + x if h + x > y else y) for x, y in zip(tv, bypass, strict=True)]
        wt, dsum = _estimate(g, [v], paths)
        out.append((wt, dsum, v, k, best_idx))
    return out


def search(
    c: Compiled,
    start: Assignment,
    params: TwtParams,
    on_improve: Callable[[Assignment], None] | None = None,
    workers: int = 1,
    stats: SearchStats | None = None,
) -> Assignment:
    """The best schedule found from `start` within the time limit (`start` at worst, by
    `solver.dispatch.score`). `c` must satisfy `applies`.

    Parameters
    ----------
    c
        The compiled problem.
    start
        A complete schedule to start from (its sequences give the first graph).
    params
        Time limit, seed, stop callback and the search's tunables.
    on_improve
        Called with each new best schedule of this process's search.
    workers
        With more than one, as many searches run at once from `start` with their own
        seeds, the others in helper processes (`solver.helper`), and the best is returned.
    stats
        Filled with this process's iterations and seconds.

    Returns
    -------
    Assignment
        The best schedule (the start itself when nothing better was found).
    """
    helpers: list[Helper] = []
    deadline = time.time() + params.time_limit
    for i in range(workers - 1):
        child = replace(params, seed=params.seed + 1 + i, stop=None, time_limit=0.0)
        try:
            helpers.append(Helper("solver.search.twt", (c, start, deadline, child)))
        except OSError as exc:  # no process to spare: search alone
            log.warning("could not start a weighted-tardiness search helper: %s", exc)
            break
    try:
        best = _search(c, start, params, on_improve, stats)
        for h in helpers:
            got: Assignment | None = h.receive() if not _stopped(params) else None
            log.debug("twt: %s here, %s in a helper", score(c, best),
                      "nothing" if got is None else score(c, got))
            if got is not None and score(c, got) < score(c, best):
                best = got
                if on_improve is not None:
                    on_improve(best)
    finally:
        for h in helpers:
            h.close()
    return best


def _stopped(params: TwtParams) -> bool:
    return params.stop is not None and params.stop()


def _helper_main() -> None:
    """The helper process: one search until the parent's deadline, its best back."""
    stdin, stdout = child_channel()
    try:
        c, start, deadline, params = pickle.load(stdin)
    except EOFError:
        return
    params.time_limit = max(0.0, deadline - time.time())
    reply(stdout, _search(c, start, params))


def _search(
    c: Compiled,
    start: Assignment,
    params: TwtParams,
    on_improve: Callable[[Assignment], None] | None = None,
    stats: SearchStats | None = None,
) -> Assignment:
    """One tabu search (see the module's docstring)."""
    t0 = time.monotonic()
    g = _Graph(c, start)
    rng = random.Random(params.seed)
    t_end = time.monotonic() + params.time_limit
    best = start
    best_key = g.key
    elite: list[tuple[Key, Assignment]] = [(best_key, g.assignment())]
    # a reversed pair stays so for a random tenure in [base, 2 base] iterations, base
    # about the ops per resource (10 x 10 and 8 x 5 job shops, 2,000 iterations: 8 and
    # 10 did best of 5 to 20)
    tenure = max(8, min(12, g.n // max(1, len(g.seq))))
    tabu: dict[tuple[int, int], int] = {}
    it = last_best = made = 0
    kicks = 0  # perturbations since the last new best
    while best_key[0] > 0:
        it += 1
        if params.max_iterations is not None and it > params.max_iterations:
            break
        if time.monotonic() >= t_end or (it & 7 == 0 and _stopped(params)):
            break
        moves = _moves(g)
        made = it
        if moves:
            _step(g, moves, it, best_key[0], tabu, tenure, rng)
        if g.key < best_key and g.key[1] <= c.horizon:
            best_key, last_best, kicks = g.key, it, 0
            best = g.assignment()
            _keep(elite, best_key, best)
            if on_improve is not None:
                on_improve(best)
        if not moves:
            # every late order's latest units run their steps back to back from their
            # release: no schedule makes them any sooner, this one is optimal
            break
        if it - last_best > params.stall:
            kicks += 1
            if kicks > params.restart:
                _, a = rng.choice(elite)
                g = _Graph(c, a)
                _kick(g, rng, params.kick * 4)
                kicks = 0
            else:
                g = _Graph(c, best)
                _kick(g, rng, params.kick)
            tabu.clear()
            last_best = it
    seconds = time.monotonic() - t0
    log.debug("twt: %d iterations in %.2f s", made, seconds)
    if stats is not None:
        stats.iterations, stats.seconds = made, seconds
    return best


def _step(
    g: _Graph, moves: list[Move], it: int, best_wt: int, tabu: dict[tuple[int, int], int],
    tenure: int, rng: random.Random,
) -> None:
    """One iteration: of the moves of best estimate that are not tabu (or whose estimate
    beats the best), measure `SHORTLIST` exactly and make the best of them; the pairs of
    ops it reverses may not be put back for a while, nor an op it reassigns go back."""
    allowed = [mv for mv in moves if mv[0] < best_wt or not _is_tabu(g, mv, it, tabu)] or moves
    rng.shuffle(allowed)
    allowed.sort(key=lambda mv: (mv[0], mv[1]))
    chosen: Move | None = None
    chosen_key: Key | None = None
    chosen_heads: tuple[list[int], list[int]] | None = None
    for mv in allowed[:SHORTLIST]:
        _, _, v, k, idx = mv
        k0, i0 = g.move(v, k, idx)
        got = g.heads()
        if got is not None:
            key = g.figures(got[0])
            if chosen_key is None or key < chosen_key:
                chosen, chosen_key, chosen_heads = mv, key, got
        g.move(v, k0, i0)
    if chosen is None or chosen_heads is None:  # cannot happen by the moves' tests
        return
    _, _, v, k, idx = chosen
    until = it + tenure + rng.randrange(tenure + 1)
    if k == g.mach[v]:
        s = g.seq[k]
        i = g.pos[v]
        for x in s[idx:i] if idx < i else s[i + 1:idx + 1]:
            tabu[(x, v) if idx < i else (v, x)] = until  # the order before the move
    else:
        tabu[(v, -1 - g.mach[v])] = it + 2 * tenure  # back to its resource
    g.move(v, k, idx)
    g.commit(*chosen_heads)


def _is_tabu(g: _Graph, mv: Move, it: int, tabu: dict[tuple[int, int], int]) -> bool:
    """Whether a move puts back a pair of ops that a recent move reversed, or an op on
    the resource a recent move took it off."""
    _, _, v, k, idx = mv
    if k != g.mach[v]:
        return tabu.get((v, -1 - k), 0) > it
    s = g.seq[k]
    i = g.pos[v]
    if idx < i:  # v goes before s[idx..i-1]
        return any(tabu.get((v, x), 0) > it for x in s[idx:i])
    return any(tabu.get((x, v), 0) > it for x in s[i + 1:idx + 1])


def _keep(elite: list[tuple[Key, Assignment]], key: Key, a: Assignment) -> None:
    """Add a new best to the elite schedules, the worst dropped past `ELITE`."""
    elite.append((key, a))
    elite.sort(key=lambda e: e[0])
    del elite[ELITE:]


def _kick(g: _Graph, rng: random.Random, n: int) -> None:
    """Make `n` random moves of the neighbourhood, whatever their figures (a perturbation
    that keeps the sequences acyclic)."""
    for _ in range(n):
        moves = _moves(g)
        if not moves:
            return
        _, _, v, k, idx = rng.choice(moves)
        k0, i0 = g.move(v, k, idx)
        got = g.heads()
        if got is None:
            g.move(v, k0, i0)
        else:
            g.commit(*got)


__all__ = ["SearchStats", "Twt", "TwtParams", "applies", "search"]

if __name__ == "__main__":
    _helper_main()
