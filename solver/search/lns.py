"""Large-neighbourhood search: free a few units, fix the rest, re-solve with CP-SAT.

Each step picks a neighbourhood (the units of a late order and the units they compete
with, the units running in a time window at one site, or random units), builds the
CP-SAT sub-model of `solver.cpsat.model` with everything else fixed at the incumbent, and
keeps the answer when it is no worse. The neighbourhood size adapts: it grows while
sub-models are solved to optimality quickly and shrinks when they time out.

Two phases: `Lns` frees whole units within a time window (large problems), `RelaxedLns`
frees a few ops of the whole model and lets the others' times float on their resources
(problems within the full model's limit).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

from solver.compiled import Compiled
from solver.cpsat.model import Built, ModelBuilder, set_objective
from solver.cpsat.runner import run_model
from solver.problem import Objective
from solver.search.context import Context
from solver.solution import Assignment, Scorer, order_tardiness, unit_delivery

log = logging.getLogger(__name__)

#: the seeds of the threads of one search lie this far apart
THREAD_SEED_STRIDE = 7919


@dataclass(frozen=True)
class Lns:
    """The phase: LNS over whole units, `sub_time` seconds of CP-SAT per sub-model, the
    first freeing `start_units` units (None: the tuning's `lns_start_units`)."""

    name: ClassVar[str] = "lns"
    ties: ClassVar[bool] = False
    sub_time: float
    start_units: int | None = None

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        return lns(ctx, start, budget, self.sub_time, self.start_units,
                   on_improve=lambda a: ctx.report(a, self.name))

    def describe(self) -> str:
        units = "" if self.start_units is None else f" from {self.start_units} units"
        return f"lns (sub-models of {self.sub_time:g} s{units})"


@dataclass(frozen=True)
class RelaxedLns:
    """The phase: LNS over the whole model, a few ops free and the others' times
    floating, `sub_time` seconds of CP-SAT per sub-model."""

    name: ClassVar[str] = "lns"
    ties: ClassVar[bool] = False
    sub_time: float

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        return relaxed_lns(ctx, start, budget, self.sub_time,
                           on_improve=lambda a: ctx.report(a, self.name))

    def describe(self) -> str:
        return f"lns (relaxed: a few ops free, the others' times floating; {self.sub_time:g} s)"


def canonical(scorer: Scorer, a: Assignment) -> Assignment:
    """Relabel identical units of each order so they start in unit order (same schedule).

    Only when units are interchangeable (`Scorer.plain`): with a reference schedule a
    unit's number is the rack the floor knows, and relabelling would count as moves."""
    c = scorer.c
    out = a.copy()
    if not scorer.plain:
        return out
    for units in c.order_units:
        free = [u for u in units if all(c.op_fixed[o] is None for o in c.unit_ops[u])]
        if len(free) < 2:
            continue
        ordered = sorted(free, key=lambda u: (a.start[c.unit_ops[u][0]], u))
        for dst, src in zip(free, ordered, strict=True):
            for od, os_ in zip(c.unit_ops[dst], c.unit_ops[src], strict=True):
                out.res[od], out.start[od], out.end[od] = a.res[os_], a.start[os_], a.end[os_]
    return out


class _Index:
    """Units by time at each site, from the incumbent: for picking neighbourhoods."""

    def __init__(self, c: Compiled, a: Assignment) -> None:
        self.c = c
        per_site: dict[int, list[tuple[int, int]]] = {}
        for u, ops in enumerate(c.unit_ops):
            site = c.res_site[a.res[ops[0]]]
            per_site.setdefault(site, []).append((a.start[ops[0]], u))
        self.site_units = {s: sorted(v) for s, v in per_site.items()}
        self.unit_span = [(a.start[ops[0]], a.end[ops[-1]]) for ops in c.unit_ops]
        self.unit_site = [c.res_site[a.res[ops[0]]] for ops in c.unit_ops]

    def near(self, site: int, t: int, k: int, rng: random.Random) -> list[int]:
        """About `k` units at `site` whose first op starts nearest to `t`."""
        lst = self.site_units.get(site, [])
        if not lst:
            return []
        i = bisect_left(lst, (t, -1))
        lo, hi = i - 1, i
        out: list[int] = []
        while len(out) < k and (lo >= 0 or hi < len(lst)):
            take_lo = hi >= len(lst) or (lo >= 0 and t - lst[lo][0] <= lst[hi][0] - t)
            if take_lo:
                out.append(lst[lo][1])
                lo -= 1
            else:
                out.append(lst[hi][1])
                hi += 1
        return out


def _neighbourhood(
    ctx: Context, a: Assignment, idx: _Index, k: int, rng: random.Random,
    tried: dict[int, Assignment] | None = None,
) -> tuple[list[int], bool]:
    """Units to free, and whether they are around a late unit's moved step (a sub-model
    that gets the tuning's `lns_late_move_units` units and `lns_late_move_sub_time`).
    `tried`: such steps already tried on an incumbent (by step), not tried again on the
    same one."""
    c, t = ctx.c, ctx.tuning
    n = len(c.unit_ops)
    late = [
        (c.order_weight[oi] * order_tardiness(c, a, oi), oi)
        for oi in range(len(c.order_ids))
    ]
    late = [x for x in late if x[0] > 0]
    roll = rng.random()
    chosen: set[int] = set()
    if not ctx.scorer.plain and rng.random() < t.lns_moved_share:
        moved = ctx.scorer.moved(a)
        if moved:
            o, size, targeted = rng.choice(moved), k, False
            if tried is not None and rng.random() < t.lns_late_move_share:
                # a step the changes pushed so that its rack is now late: the sub-model
                # around its old place weighs putting it back
                owed: dict[int, int] = {}  # per unit of a moved step, its weighted lateness
                for x in moved:
                    u = c.op_unit[x]
                    if u not in owed:
                        oi = c.unit_order[u]
                        owed[u] = c.order_weight[oi] * (unit_delivery(c, a, u) - c.order_due[oi])
                pushed = [(owed[c.op_unit[x]], x) for x in moved
                          if owed[c.op_unit[x]] > 0 and tried.get(x) is not a]
                if pushed:
                    o = rng.choices([x for _, x in pushed], weights=[w for w, _ in pushed])[0]
                    tried[o] = a
                    size, targeted = max(k, t.lns_late_move_units), True
            if rng.random() < t.lns_along_resource_share:
                return _along_resource(ctx, a, o, size), targeted
            return _around_move(ctx, a, o, size), targeted
    if late and roll < t.lns_late_order_share:
        # a late order's latest units, and the units competing for the time they need
        oi = rng.choices([o for _, o in late], weights=[w for w, _ in late])[0]
        units = sorted(c.order_units[oi], key=lambda u: -unit_delivery(c, a, u))
        seeds = units[: max(1, min(len(units), k // t.lns_late_seed_divisor))]
        chosen.update(seeds)
        u0 = seeds[0]
        start, end = idx.unit_span[u0]
        span = end - start
        target = c.order_due[oi] - span
        at = rng.randint(min(target, start), start) if target < start else start
        sites = c.unit_sites[u0]
        per = max(1, (k - len(chosen)) // max(1, len(sites)))
        for site in sites:
            chosen.update(idx.near(site, at, per, rng))
    elif roll < 1 - t.lns_random_units_share or c.objective == Objective.MAKESPAN:
        # a time window at one site (for makespan: biased to the end of the schedule)
        site = rng.choice(list(idx.site_units))
        lst = idx.site_units[site]
        if c.objective == Objective.MAKESPAN and rng.random() < t.lns_end_window_share:
            at = max(idx.unit_span[u][1] for _, u in lst) - rng.randint(
                0, t.lns_end_window_minutes)
        else:
            at = rng.choice(lst)[0]
        chosen.update(idx.near(site, at, k, rng))
    else:
        chosen.update(rng.sample(range(n), min(k, n)))
    return sorted(chosen), False


def _around_move(ctx: Context, a: Assignment, o: int, k: int) -> list[int]:
    """The unit of a moved op and the units with a step at its old site nearest its old
    start: the sub-model weighs putting it back against what that would push away."""
    c, ref = ctx.c, ctx.scorer.reference
    assert ref is not None
    site, t = c.res_site[ref.res[o]], ref.start[o]

    def distance(x: int) -> int | None:
        if c.res_site[a.res[x]] != site:
            return None
        return min(abs(a.start[x] - t), abs(a.end[x] - t))

    return _nearest_units(c, o, k, distance)


def _along_resource(ctx: Context, a: Assignment, o: int, k: int) -> list[int]:
    """The unit of a moved op and the units with a step on its old resource nearest its
    old place, now or in the reference: a delay that pushed a whole line's queue back
    can be taken out of the queue, one stretch at a time."""
    c, ref = ctx.c, ctx.scorer.reference
    assert ref is not None
    r, t = ref.res[o], ref.start[o]

    def distance(x: int) -> int | None:
        now = abs(a.start[x] - t) if a.res[x] == r else None
        was = abs(ref.start[x] - t) if ref.res[x] == r else None
        return min((d for d in (now, was) if d is not None), default=None)

    return _nearest_units(c, o, k, distance)


def _nearest_units(
    c: Compiled, o: int, k: int, distance: Callable[[int], int | None]
) -> list[int]:
    """Op `o`'s unit and the `k - 1` units with a free op nearest by `distance` (None:
    not a candidate)."""
    dist: dict[int, int] = {}
    for x in range(c.n_ops):
        if c.op_fixed[x] is not None:
            continue
        d = distance(x)
        u = c.op_unit[x]
        if d is not None and d < dist.get(u, 1 << 60):
            dist[u] = d
    near = sorted(dist, key=lambda u: dist[u])[: max(1, k - 1)]
    return sorted({c.op_unit[o], *near})


def _step(
    c: Compiled, b: Built, cur: Assignment, seed: int, time_limit: float
) -> tuple[Assignment | None, bool, float]:
    """Solve one sub-model hinted with the incumbent on one CP-SAT worker: (its answer,
    proven optimal, seconds)."""
    set_objective(b, c.objective, compact=True)
    out = run_model(c, b, time_limit=time_limit, workers=1, seed=seed, hint=cur)
    return out.assignment, out.optimal, out.seconds


#: what a neighbourhood proposes: the sub-model (None: nothing to try this time) and the
#: CP-SAT time limit for it
Proposal = tuple[Built | None, float]


class _Search:
    """The loop shared by `lns` and `relaxed_lns`: propose a sub-model around the
    incumbent, solve it, keep the answer when it is no worse, adapt the size `k`.

    With `workers` > 1, as many threads each solve their own sub-model on one CP-SAT
    worker (the solver releases the GIL while it searches): small sub-models gain nothing
    from a second worker, so this doubles the steps per second on 2 cores. Every answer
    is a whole schedule, so one built on an incumbent that another thread has replaced
    since is kept only when it is strictly better. One worker runs in the caller's thread
    and is deterministic for a seed."""

    def __init__(
        self,
        ctx: Context,
        start: Assignment,
        time_limit: float,
        k: int,
        on_improve: Callable[[Assignment], None] | None,
    ) -> None:
        self.ctx = ctx
        self.c = ctx.c
        self.scorer = ctx.scorer
        self.on_improve = on_improve
        self.t_end = time.monotonic() + time_limit
        self.lock = threading.Lock()
        self.cur = canonical(self.scorer, start)
        self.key = self.scorer(self.cur)
        self.version = 0
        self.k = k
        self.it = 0
        self.errors: list[BaseException] = []
        # sub-models solved, of which improved and proven optimal; CP-SAT's wall time
        self.solved = self.improved = self.optimal = 0
        self.cp_seconds = 0.0

    def left(self) -> float:
        return self.t_end - time.monotonic()

    def run(
        self,
        propose: Callable[[Assignment, int, random.Random], Proposal],
        adapt: Callable[[int, bool, float, float], int],
    ) -> Assignment:
        """Search until the time limit; `propose(incumbent, k, rng)` gives a sub-model,
        `adapt(k, optimal, seconds, limit)` the next size."""
        n = max(1, self.ctx.workers)
        seed = self.ctx.seed
        if n == 1:
            self._loop(propose, adapt, random.Random(seed))
        else:
            threads = [
                threading.Thread(
                    target=self._thread, name=f"rackplan-lns-{i}", daemon=True,
                    args=(propose, adapt, random.Random(seed + THREAD_SEED_STRIDE * i)),
                )
                for i in range(n)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if self.errors:
                raise self.errors[0]
        log.debug("lns: %d steps, %d improved, %d proven optimal, %.1f s in CP-SAT, final "
                  "size %d units", self.solved, self.improved, self.optimal, self.cp_seconds,
                  self.k)
        return self.cur

    def _thread(
        self,
        propose: Callable[[Assignment, int, random.Random], Proposal],
        adapt: Callable[[int, bool, float, float], int],
        rng: random.Random,
    ) -> None:
        try:
            self._loop(propose, adapt, rng)
        except BaseException as exc:  # re-raised by `run` in the caller's thread
            self.errors.append(exc)

    def _loop(
        self,
        propose: Callable[[Assignment, int, random.Random], Proposal],
        adapt: Callable[[int, bool, float, float], int],
        rng: random.Random,
    ) -> None:
        """Steps on one CP-SAT worker until the time limit, a stop request, or a run of
        proposals with nothing to try (`lns_idle_proposals`)."""
        c, ctx, t = self.c, self.ctx, self.ctx.tuning
        idle = 0
        while idle < t.lns_idle_proposals and self.left() >= t.lns_min_left \
                and not ctx.stopped():
            with self.lock:
                cur, version, k = self.cur, self.version, self.k
                self.it += 1
                seed = ctx.seed + self.it
            b, limit = propose(cur, k, rng)
            if b is None:
                idle += 1
                continue
            idle = 0
            limit = max(t.lns_min_sub_time, min(self.left(), limit))
            new, optimal, secs = _step(c, b, cur, seed, limit)
            key = self.scorer(new) if new is not None else None
            with self.lock:
                self.solved += 1
                self.optimal += optimal
                self.cp_seconds += secs
                self.improved += key is not None and key < self.key
                if key is not None and (
                    key < self.key or (key == self.key and version == self.version)
                ):
                    assert new is not None
                    better = key < self.key
                    self.cur, self.key = canonical(self.scorer, new), key
                    self.version += 1
                    if better and self.on_improve is not None:
                        self.on_improve(self.cur)
                self.k = adapt(self.k, optimal, secs, limit)


def lns(
    ctx: Context,
    start: Assignment,
    time_limit: float,
    sub_time: float,
    start_units: int | None = None,
    on_improve: Callable[[Assignment], None] | None = None,
) -> Assignment:
    """Improve `start` by large-neighbourhood search over whole units for `time_limit`
    seconds, `sub_time` seconds of CP-SAT per sub-model, the first freeing
    `start_units` units (None: the tuning's)."""
    c, t = ctx.c, ctx.tuning
    n_units = len(c.unit_ops)
    first = t.lns_start_units if start_units is None else start_units
    search = _Search(ctx, start, time_limit, min(first, n_units), on_improve)
    max_dur = max((m.duration for ms in c.op_modes for m in ms), default=1)
    slack = max(t.lns_window_minutes, t.lns_window_steps * max_dur)
    indexed: list[tuple[Assignment, _Index]] = []  # the last incumbent and its index

    def index(cur: Assignment) -> _Index:
        with search.lock:
            if not indexed or indexed[0][0] is not cur:
                indexed[:] = [(cur, _Index(c, cur))]
            return indexed[0][1]

    tried: dict[int, Assignment] = {}  # late racks' moved steps tried, by incumbent

    def propose(cur: Assignment, k: int, rng: random.Random) -> Proposal:
        units, targeted = _neighbourhood(ctx, cur, index(cur), k, rng, tried)
        free = {u: _first_free(c, u) for u in units}
        free = {u: j for u, j in free.items() if j < len(c.unit_ops[u])}
        if not free:
            return None, 0.0
        lo = min(cur.start[c.unit_ops[u][j]] for u, j in free.items())
        hi = max(cur.end[c.unit_ops[u][-1]] for u in free)
        window = (max(0, lo - slack), min(c.horizon, hi + slack))
        keep = set(free) if rng.random() < t.lns_keep_site_share else None
        limit = max(sub_time, t.lns_late_move_sub_time) if targeted else sub_time
        return ModelBuilder(c, cur, free, window, keep_site=keep).build(), limit

    def adapt(k: int, optimal: bool, secs: float, limit: float) -> int:
        if limit > sub_time:  # a late rack's sub-model: its size is its own
            return k
        if optimal and secs < limit * t.lns_quick_share:
            return min(t.lns_max_units, n_units, int(k * t.lns_grow) + 1)
        if not optimal:
            return max(t.lns_min_units, int(k * t.lns_shrink))
        return k

    return search.run(propose, adapt)


def relaxed_lns(
    ctx: Context,
    start: Assignment,
    time_limit: float,
    sub_time: float,
    on_improve: Callable[[Assignment], None] | None = None,
) -> Assignment:
    """LNS over the whole model for small problems: a few ops are free, the others keep
    their resource and their order on each line, but their times float."""
    c, t = ctx.c, ctx.tuning
    movable = [o for o in range(c.n_ops) if c.op_fixed[o] is None]
    if not movable:
        return canonical(ctx.scorer, start)
    least = t.lns_relaxed_min_ops
    first = max(least, len(movable) // t.lns_relaxed_start_divisor)
    search = _Search(ctx, start, time_limit, first, on_improve)

    def propose(cur: Assignment, k: int, rng: random.Random) -> Proposal:
        free_ops = _pick_ops(ctx, cur, movable, k, rng)
        pinned = set(movable) - free_ops
        hi = max(cur.end) if c.objective == Objective.MAKESPAN else c.horizon
        return ModelBuilder(c, cur, None, (0, hi), pinned=pinned).build(), sub_time

    def adapt(k: int, optimal: bool, secs: float, limit: float) -> int:
        if optimal:
            return min(len(movable), int(k * t.lns_relaxed_grow) + 1)
        return max(least, int(k * t.lns_relaxed_shrink))

    return search.run(propose, adapt)


def _pick_ops(
    ctx: Context, a: Assignment, movable: list[int], k: int, rng: random.Random
) -> set[int]:
    """About `k` ops: around the critical path (makespan), around a random time, on a
    few random resources, or at random."""
    c, t = ctx.c, ctx.tuning
    roll = rng.random()
    if c.objective == Objective.MAKESPAN and ctx.scorer.plain:
        if roll < t.lns_critical_share:
            return _around_critical(c, a, movable, k, rng, t.lns_critical_divisor)
        roll = rng.random()
    if roll < t.lns_time_ops_share:
        at = rng.choice([a.start[o] for o in movable])
        return set(sorted(movable, key=lambda o: abs(a.start[o] - at))[:k])
    if roll < t.lns_time_ops_share + t.lns_resource_ops_share:
        out: set[int] = set()
        res = list({a.res[o] for o in movable})
        rng.shuffle(res)
        for r in res:
            out.update(o for o in movable if a.res[o] == r)
            if len(out) >= k:
                break
        return out
    return set(rng.sample(movable, min(k, len(movable))))


def _critical_path(c: Compiled, a: Assignment, rng: random.Random) -> list[int]:
    """Ops of one critical path of `a`, last first: from an op ending at the makespan,
    back through the unit's previous step or the resource's previous op whenever it ends
    exactly when the op starts (ties broken at random). Only these can shorten it."""
    if not a.end:
        return []
    prev_on: dict[int, int] = {}
    per_res: dict[int, list[int]] = {}
    for o in range(c.n_ops):
        per_res.setdefault(a.res[o], []).append(o)
    for r, ops in per_res.items():
        if c.res_cap[r] != 1:
            continue
        ops.sort(key=lambda o: a.start[o])
        for x, y in pairwise(ops):
            prev_on[y] = x
    mk = max(a.end)
    o = rng.choice([x for x in range(c.n_ops) if a.end[x] == mk])
    path = [o]
    while True:
        unit_ops = c.unit_ops[c.op_unit[o]]
        j = unit_ops.index(o)
        cands = [p for p in (unit_ops[j - 1] if j else None, prev_on.get(o))
                 if p is not None and a.end[p] == a.start[o]]
        if not cands:
            return path
        o = rng.choice(cands)
        path.append(o)


def _around_critical(
    c: Compiled, a: Assignment, movable: list[int], k: int, rng: random.Random, divisor: int
) -> set[int]:
    """A stretch of a critical path (`k // divisor` ops) and, up to `k` ops, the ops
    nearest it in time on the resources its ops could run on."""
    path = [o for o in _critical_path(c, a, rng) if c.op_fixed[o] is None]
    if not path:
        return set(rng.sample(movable, min(k, len(movable))))
    length = max(1, min(len(path), k // divisor))
    i = rng.randrange(len(path) - length + 1)
    chosen = set(path[i:i + length])
    res = {m.resource for o in chosen for m in c.op_modes[o]}
    lo = min(a.start[o] for o in chosen)
    hi = max(a.end[o] for o in chosen)
    near = sorted(
        (o for o in movable if o not in chosen and a.res[o] in res),
        key=lambda o: max(lo - a.end[o], a.start[o] - hi, 0),
    )
    chosen.update(near[: max(0, k - len(chosen))])
    return chosen


def _first_free(c: Compiled, u: int) -> int:
    """First op of the unit after its last fixed op (fixed steps never move)."""
    ops = c.unit_ops[u]
    j = 0
    for i, o in enumerate(ops):
        if c.op_fixed[o] is not None:
            j = i + 1
    return j


__all__ = ["Lns", "RelaxedLns", "canonical", "lns", "relaxed_lns"]

