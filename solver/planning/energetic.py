"""`energetic_bound`: which orders must wait, from energetic reasoning over resource pools.

The aggregate model (`solver.planning.model`) sees capacity per bucket but not that of
several orders due close together one must finish last. This bound does: it chooses, per
order, how late the order is, and asks that the steps the choice forces into every
stretch of time fit in the capacity of the resources that can run them there.

The relaxation
--------------
Per order `o` without fixed steps (its racks are alike: same routing, modes and allowed
sites), with `Q_o` racks, and per step `j` of its routing:

- the *pool* ``P_oj``: the resources of the step's modes at the order's allowed sites;
- ``p_oj``: the step's shortest duration there;
- the *head* ``h_oj``: the least, over the allowed sites, of the step's earliest start
  when the rack runs from the order's release through the steps before it back to back
  in the earliest windows of their fastest resources (no rack of the order starts step
  `j` before it);
- the *tail* ``q_oj``: the least, over the allowed sites, of the shortest durations of
  the steps after `j` there plus the transit from there to the order's destination (a
  rack delivered by ``D`` ended step `j` by ``D - q_oj``).

The lateness thresholds ``0 = theta_0 < theta_1 < ... < theta_B`` cut an order's
tardiness ``T_o`` into slots: slot 0 is ``T_o = 0``, slot ``b`` (1 <= b <= B) is
``theta_(b-1) < T_o <= theta_b``, slot ``B + 1`` is ``T_o > theta_B``. A binary
``x[o, b]`` chooses the order's slot (``sum_b x[o, b] = 1``); in slot ``b <= B`` every
rack of the order ends step `j` by the deadline ``d_ojb = due_o + theta_b - q_oj``, in
the last slot there is no deadline.

Energy. Take a stretch ``[t1, t2]`` and a set `R` of resources. A rack's step `j` lies in
``[h_oj, d_ojb]``; of its ``p_oj`` minutes at most ``min(p_oj, t1 - h_oj)`` lie before
`t1` and at most ``min(p_oj, d_ojb - t2)`` after `t2`; the order's racks together put at
most the pool's capacity over ``[h_oj, t1]`` before `t1` and over ``[t2, d_ojb]`` after
`t2` (every minute of a step runs on a resource of ``P_oj`` inside one of its windows:
rule 6, at most ``capacity`` steps at once: rule 7). So at least

    e_ojb(t1, t2) = max(0, Q_o p_oj - min(Q_o min(p_oj, (t1 - h_oj)+), cap_P(h_oj, t1))
                                    - min(Q_o min(p_oj, (d_ojb - t2)+), cap_P(t2, d_ojb)))

of the order's step-`j` minutes lie inside ``[t1, t2]``, where ``cap_P(a, b)`` is the sum
over ``P_oj`` of capacity times the resource's available minutes in ``[a, b]`` (shifts,
holidays, downtime, `24x7`). For every ``P_oj`` inside `R`, those minutes run on `R`:

    sum over (o, j) with P_oj within R, and b, of e_ojb(t1, t2) x[o, b] <= cap_R(t1, t2).

Power. A step that draws power runs at a site whose cap in force (`power_cap_kw`,
`power_windows`) is ``C(t)`` there; for a level ``L``, at most ``floor(C(t) / L)`` steps
that draw ``L`` or more run there at once (rule 8). So the same rows hold with, for each
level ``L`` among the problem's step powers, the pool of a step drawing at least ``L``
being its sites (all of them capped), each of its racks counting 1 while it runs, and
``cap_P(a, b)`` the integral over ``[a, b]`` of ``sum over the sites of floor(C(t) / L)``:
whole racks under the cap, which the energy of a fluid relaxation does not see (three
racks of 140 kW under 350 kW run two at a time, not two and a half).

A slot is closed to an order when its deadline leaves no room for the step
(``d_ojb < h_oj + p_oj`` or ``cap_P(h_oj, d_ojb) < Q_o p_oj``) or when ``theta_b`` is
below the order's floor (its tardiness with each rack alone at its best site, or the
caller's proven per-order bound).

Objective: ``sum_o w_o sum_b cost_ob x[o, b]`` with ``cost_o0 = floor_o`` and
``cost_ob = max(theta_(b-1) + 1, floor_o)`` (times are whole minutes).

Why it is a lower bound (SPEC sections 1 and 2)
-----------------------------------------------
Map a valid schedule to ``x[o, b] = 1`` for the slot of its order's tardiness ``T_o``.
Every order's deliveries are at most ``due_o + theta_b`` in its slot (rule 9), so every
rack ended step `j` by ``d_ojb`` (rule 2: the later steps run after it, each at least its
shortest duration, then the transit) and started it at or after ``h_oj`` (rules 2, 3, 4,
5 and 6: no way through the steps before it is faster). The bound on the minutes inside
``[t1, t2]`` above then holds for that schedule, and so does every energy row (rule 7:
at every moment each resource of `R` runs at most its capacity; rule 8 for the power
rows; other orders' steps and fixed steps only add minutes to the left side, which is
dropped). The open slots keep
the schedule's slot (a slot closed by its deadline holds no schedule, one closed by a
floor none either: the floor is proven), and the objective is at most ``sum_o w_o T_o``,
the schedule's weighted tardiness. So the minimum of this integer programme, and any
dual bound HiGHS proves on it, bounds every valid schedule's weighted tardiness from
below; a row left out (rows are generated, below) only weakens it. Stretches that reach
past the compiled horizon, where the calendars are not known, are not used: there the
capacity counts as unlimited.

Orders with a fixed step are left out of the programme (their term is their floor); fixed
steps occupy capacity, which the rows ignore (a weaker, still valid, relaxation).

Rows are generated: start from the stretches that the all-on-time choice overloads most,
solve, and add the stretches the solution overloads, while time is left. Candidate
stretches start at the items' heads and latest starts (deadline less duration) and end at
their earliest ends and deadlines.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pulp

from solver.compiled import Compiled
from solver.planning import highs
from solver.problem import Objective

HOUR = 60
DAY = 1440
#: the lateness thresholds in minutes (slot `b` ends at ``THETA[b]``)
THETA = (0, 60, 120, 240, 360, 480, 720, 960, 1200, 1440, 1800, 2160, 2880, 3600, 4320,
         5760, 7200, 8640, 11520, 14400, 20160, 28800, 40320)
#: candidate stretch starts and ends per pool (quantiles of the heads and deadlines)
MAX_STARTS = 80
MAX_ENDS = 160
#: rows added per pool and round
ROWS_PER_ROUND = 40
MAX_ROUNDS = 12


@dataclass(frozen=True)
class EnergeticBound:
    """A proven lower bound on weighted tardiness from `energetic_bound`, and its cost.

    `value` is in the units of a schedule's ``objective_value`` (weighted minutes), at
    least the orders' floors summed; None for an objective it does not model. `status`
    is HiGHS's, or ``"no overloaded stretch"`` (no row was needed), ``"time limit"``
    (none solved in time: the floors alone) or ``"no orders modelled"``.
    """

    value: float | None
    status: str
    orders: int = 0
    columns: int = 0
    rows: int = 0
    rounds: int = 0
    seconds: float = 0.0


@dataclass
class _Item:
    """One step of one order's routing, as the rows see it."""

    order: int  # index into the modelled orders
    pool: int
    q: int
    p: int
    head: int
    deadlines: np.ndarray  # per slot b <= B (the last slot has none)
    rate: float = 1.0  # what a running step draws from the pool: 1, or its power
    cap_head: float = 0.0  # the pool's cap at the head
    cap_deadlines: np.ndarray = field(default_factory=lambda: np.zeros(0))  # ... deadlines


#: ("resources", resource ids), or ("power:<level>", site ids): the steps drawing at least
#: <level> (scaled kW) at those sites
Pool = tuple[str, frozenset[int]]


class _Capacity:
    """``cap(t)``: over [0, t], the capacity-weighted available minutes of a set of
    resources, or for a set of sites and a power level `level` the integral of how many
    steps drawing at least `level` each site's cap in force lets run at once."""

    def __init__(self, c: Compiled, pool: Pool) -> None:
        kind, members = pool
        self.parts: list[tuple[np.ndarray, np.ndarray, int]] = []
        self.lines: list[tuple[float, list[tuple[int, int, int]]]] = []
        if kind.startswith("power:"):
            level = int(kind.split(":")[1])
            for s in sorted(members):
                cap = c.site_cap[s]
                assert cap is not None
                most = cap // level
                dips = [(a, b, most - max(0, cap - dip) // level)
                        for a, b, dip in (c.site_dips[s] if c.site_dips else [])]
                self.lines.append((float(most), dips))
            return
        for r in sorted(members):
            ws = sorted(c.res_windows[r])
            if not ws:
                continue
            starts = np.array([a for a, _ in ws], dtype=float)
            ends = np.array([b for _, b in ws], dtype=float)
            cum = np.concatenate([[0.0], np.cumsum(ends - starts)])
            bx = np.empty(2 * len(ws))
            by = np.empty(2 * len(ws))
            bx[0::2], bx[1::2] = starts, ends
            by[0::2], by[1::2] = cum[:-1], cum[1:]
            self.parts.append((bx, by, c.res_cap[r]))

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        for bx, by, count in self.parts:
            out += count * np.interp(t, bx, by)
        for most, dips in self.lines:
            out += most * t
            for a, b, dip in dips:
                out -= dip * np.clip(t - a, 0, b - a)
        return out


def _pools_of(c: Compiled, oi: int,
              levels: list[int]) -> list[tuple[int, Pool, int, float]] | None:
    """Per step of the order's routing that draws on a pool: its place in the routing,
    the pool, the step's shortest duration and its rate; a step with power draws on its
    resources and on its sites' power when every one of them has a cap (None: a step
    runs at no allowed site)."""
    u = c.order_units[oi][0]
    sites = set(c.unit_sites[u])
    out: list[tuple[int, Pool, int, float]] = []
    for j, o in enumerate(c.unit_ops[u]):
        modes = [m for m in c.op_modes[o] if c.res_site[m.resource] in sites]
        if not modes:
            return None
        p = min(m.duration for m in modes)
        out.append((j, ("resources", frozenset(m.resource for m in modes)), p, 1.0))
        at = frozenset(c.res_site[m.resource] for m in modes)
        if c.op_power[o] > 0 and all(c.site_cap[s] is not None for s in at):
            for level in levels:
                if level <= c.op_power[o]:
                    out.append((j, (f"power:{level}", at), p, 1.0))
    return out


def _heads_tails(c: Compiled, oi: int) -> tuple[list[int], list[int], int] | None:
    """Per step, the least head and tail over the order's allowed sites, and the least
    delivery (None when no allowed site runs the whole routing in the horizon)."""
    u = c.order_units[oi][0]
    ops = c.unit_ops[u]
    n = len(ops)
    heads = [math.inf] * n
    tails = [math.inf] * n
    best = math.inf
    for s in c.unit_sites[u]:
        t = c.order_release[oi]
        hs: list[int] = []
        durs: list[int] = []
        ok = True
        for o in ops:
            modes = [m for m in c.op_modes[o] if c.res_site[m.resource] == s]
            starts = [(st, m.duration) for m in modes
                      for st in [c.earliest_start(m.resource, m.duration, t)] if st is not None]
            if not starts:
                ok = False
                break
            hs.append(min(st for st, _ in starts))
            durs.append(min(m.duration for m in modes))
            t = min(st + d for st, d in starts)
        if not ok:
            continue
        transit = c.order_transit[oi][s]
        best = min(best, t + transit)
        rest = transit
        for j in range(n - 1, -1, -1):
            heads[j] = min(heads[j], hs[j])
            tails[j] = min(tails[j], rest)
            rest += durs[j]
    if not math.isfinite(best):
        return None
    return [int(h) for h in heads], [int(q) for q in tails], int(best)


def _forced(it: _Item, t1: np.ndarray, t2: np.ndarray, ct1: np.ndarray, ct2: np.ndarray,
            horizon: int, slot: int | None = None) -> np.ndarray:
    """``e_ojb(t1, t2)`` for every pair (t1[i], t2[i]) and slot b <= B, shape (pairs,
    B + 1); with `slot`, for that slot alone, shape (pairs, 1). `ct1` and `ct2` are the
    item's pool's ``cap`` at `t1` and `t2`."""
    q, p, h = it.q * it.rate, it.p, it.head
    t1c, t2c = t1[:, None], t2[:, None]
    c1, c2 = ct1[:, None], ct2[:, None]
    sl = slice(None) if slot is None else slice(slot, slot + 1)
    d, cd = it.deadlines[None, sl], it.cap_deadlines[None, sl]
    before_units = q * np.clip(t1c - h, 0, p)
    before_cap = np.where(t1c > h, c1 - it.cap_head, 0.0)
    before = np.minimum(before_units, before_cap)
    after_units = q * np.clip(d - t2c, 0, p)
    after_cap = np.where(d > horizon, np.inf, np.where(d > t2c, cd - c2, 0.0))
    after = np.minimum(after_units, after_cap)
    e = np.maximum(0.0, q * p - before - after)
    return np.where(t2c > t1c, e, 0.0)


def energetic_bound(
    c: Compiled,
    *,
    order_lb: Mapping[int, float] | None = None,
    time_limit: float = 10.0,
    threads: int = 1,
) -> EnergeticBound:
    """A proven lower bound on weighted tardiness (the module docstring proves it).

    Parameters
    ----------
    c
        The compiled problem (objective ``tardiness``; others get status
        ``"not modelled"``).
    order_lb
        Per order index, proven tardiness bounds in minutes (their floors).
    time_limit
        Seconds for the rows, the rounds of HiGHS and the proof together.
    threads
        HiGHS threads.

    Returns
    -------
    EnergeticBound
        The value bounds every valid schedule's weighted tardiness from below.
    """
    t0 = time.perf_counter()
    if c.objective != Objective.TARDINESS:
        return EnergeticBound(None, "not modelled")
    lb = order_lb or {}
    horizon = c.horizon
    theta = np.array(THETA, dtype=float)
    n_slots = len(THETA) + 1
    constant = 0.0
    levels = sorted({pw for pw in c.op_power if pw > 0})
    modelled: list[int] = []
    floors: list[float] = []
    items: list[_Item] = []
    pool_ids: dict[Pool, int] = {}
    for oi, units in enumerate(c.order_units):
        if not units:
            continue
        weight = float(c.problem.orders[oi].weight)
        fixed = any(c.op_fixed[o] is not None for u in units for o in c.unit_ops[u])
        ht = None if fixed else _heads_tails(c, oi)
        steps = None if fixed else _pools_of(c, oi, levels)
        if ht is None or steps is None:
            # left out: its floor (the caller's per-order bound) is its term
            constant += weight * max(0.0, float(lb.get(oi, 0)))
            continue
        heads, tails, earliest = ht
        floor = max(0.0, float(earliest - c.order_due[oi]), float(lb.get(oi, 0)))
        k = len(modelled)
        modelled.append(oi)
        floors.append(floor)
        for j, pool, p, rate in steps:
            pid = pool_ids.setdefault(pool, len(pool_ids))
            items.append(_Item(k, pid, len(units), p, heads[j],
                               c.order_due[oi] + theta - tails[j], rate))
    if not modelled:
        return EnergeticBound(constant, "no orders modelled", seconds=time.perf_counter() - t0)
    pools = list(pool_ids)
    caps = [_Capacity(c, pool) for pool in pools]
    for it in items:
        it.cap_head = float(caps[it.pool](float(it.head)))
        it.cap_deadlines = caps[it.pool](np.minimum(it.deadlines, horizon))
    # the row families: each pool, and per set of overlapping pools of a kind their union
    families: list[Pool] = list(pools)
    merged: list[tuple[str, set[int]]] = []
    for kind, members in pools:
        hit = [mem for k2, mem in merged if k2 == kind and mem & members]
        union = set(members).union(*hit)
        merged = [(k2, mem) for k2, mem in merged if not (k2 == kind and mem & members)]
        merged.append((kind, union))
    for kind, mem in merged:
        fm = (kind, frozenset(mem))
        if fm not in pool_ids:
            families.append(fm)
    fam_caps = [caps[pool_ids[f]] if f in pool_ids else _Capacity(c, f) for f in families]
    fam_items = [[i for i, it in enumerate(items)
                  if pools[it.pool][0] == f[0] and pools[it.pool][1] <= f[1]]
                 for f in families]

    # open slots and their costs
    n_orders = len(modelled)
    open_ = np.ones((n_orders, n_slots), dtype=bool)
    for k in range(n_orders):
        for b in range(1, n_slots):
            if b < len(THETA) and THETA[b] < floors[k]:
                open_[k, b] = False
        if floors[k] > 0:
            open_[k, 0] = False
    for it in items:
        cap = caps[it.pool]
        d = it.deadlines
        room = cap(np.minimum(d, horizon)) - cap(float(it.head))
        bad = (d < it.head + it.p) | ((d <= horizon) & (room < it.q * it.rate * it.p - 1e-6))
        open_[it.order, :len(THETA)] &= ~bad
    cost = np.zeros((n_orders, n_slots))
    for k, oi in enumerate(modelled):
        w = float(c.problem.orders[oi].weight)
        cost[k, 0] = w * floors[k]
        for b in range(1, n_slots):
            cost[k, b] = w * max(THETA[b - 1] + 1.0, floors[k])

    # candidate stretches per family
    cand: list[tuple[np.ndarray, np.ndarray]] = []
    for f_items in fam_items:
        # starts at heads and latest starts, ends at deadlines and earliest ends
        hs = np.unique(np.concatenate([[items[i].head for i in f_items]]
                                      + [items[i].deadlines - items[i].p for i in f_items]))
        ds = np.unique(np.concatenate([[items[i].head + items[i].p for i in f_items]]
                                      + [items[i].deadlines for i in f_items]))
        hs = hs[(hs >= 0) & (hs <= horizon)]
        ds = ds[(ds <= horizon) & (ds > hs.min())]
        hs = _spread(hs, MAX_STARTS)
        ds = _spread(ds, MAX_ENDS)
        g1, g2 = np.meshgrid(hs, ds, indexing="ij")
        keep = g2 > g1
        t1, t2 = g1[keep], g2[keep]
        cand.append((t1, t2))
    fam_cap = [fc(cand[fi][1]) - fc(cand[fi][0]) for fi, fc in enumerate(fam_caps)]
    # per family, per pool of its items, the pool's cap at the stretches' starts and ends
    pool_caps: list[dict[int, tuple[np.ndarray, np.ndarray]]] = []
    for fi, f_items in enumerate(fam_items):
        t1, t2 = cand[fi]
        pool_caps.append({pid: (caps[pid](t1), caps[pid](t2))
                          for pid in {items[i].pool for i in f_items}})
    # the rows chosen so far: per family, pair index -> coefficients (orders, slots)
    chosen: list[dict[int, np.ndarray]] = [{} for _ in families]
    slot = np.array([int(np.argmax(open_[k])) for k in range(n_orders)])
    best: float | None = None
    status = "no rows"
    rounds = 0
    rows = 0
    cut = False
    while rounds < MAX_ROUNDS and time.perf_counter() - t0 < time_limit - 0.2:
        added = 0
        for fi, f_items in enumerate(fam_items):
            if time.perf_counter() - t0 > time_limit:
                cut = True  # the rows found so far still give a bound
                break
            t1, t2 = cand[fi]
            if not len(t1):
                continue
            load = np.zeros(len(t1))
            at = pool_caps[fi]
            for i in f_items:
                it = items[i]
                b = slot[it.order]
                if b < len(THETA):
                    ct1, ct2 = at[it.pool]
                    load += _forced(it, t1, t2, ct1, ct2, horizon, b)[:, 0]
            over = load - fam_cap[fi]
            new = [int(pi) for pi in np.argsort(-over)[:4 * ROWS_PER_ROUND]
                   if over[pi] > 1e-6 and int(pi) not in chosen[fi]][:ROWS_PER_ROUND]
            if not new:
                continue
            sel = np.array(new)
            tot = np.zeros((len(sel), n_orders, n_slots))
            for i in f_items:
                it = items[i]
                ct1, ct2 = at[it.pool]
                tot[:, it.order, :len(THETA)] += _forced(it, t1[sel], t2[sel], ct1[sel],
                                                         ct2[sel], horizon)
            for r, pi in enumerate(new):
                chosen[fi][pi] = tot[r]
            added += len(new)
        if added == 0:
            break
        left = time_limit - (time.perf_counter() - t0)
        if left < 0.2:
            break
        rounds += 1
        prob = pulp.LpProblem("energetic", pulp.LpMinimize)
        x = {(k, b): pulp.LpVariable(f"x_{k}_{b}", cat=pulp.LpBinary)
             for k in range(n_orders) for b in range(n_slots) if open_[k, b]}
        prob += pulp.lpSum(cost[k, b] * v for (k, b), v in x.items())
        for k in range(n_orders):
            prob += pulp.lpSum(x[k, b] for b in range(n_slots) if open_[k, b]) == 1
        rows = 0
        for fi, got_rows in enumerate(chosen):
            for pi, row in got_rows.items():
                terms = [(x[k, b], float(row[k, b]))
                         for k, b in zip(*np.nonzero(row > 1e-9), strict=True)
                         if (k, b) in x]
                if terms:
                    prob += pulp.LpAffineExpression(terms) <= float(fam_cap[fi][pi])
                    rows += 1
        got = highs.solve(prob, left, mip=True, threads=threads)
        status = got.status
        if got.bound is not None:
            value = got.bound - 1e-6 * max(1.0, abs(got.bound))
            best = value if best is None else max(best, value)
        if got.objective is None:
            break
        for (k, b), v in x.items():
            if (v.value() or 0) > 0.5:
                slot[k] = b
    if best is None:  # no row solved: the orders' floors are the bound
        best = 0.0
        status = "no overloaded stretch" if rounds == 0 and not cut else "time limit"
    seconds = time.perf_counter() - t0
    floor_sum = sum(float(c.problem.orders[oi].weight) * f for oi, f in zip(modelled, floors,
                                                                          strict=True))
    value = constant + max(best, floor_sum, 0.0)
    return EnergeticBound(value, status, n_orders, int(open_.sum()), rows, rounds, seconds)


def _spread(values: np.ndarray, most: int) -> np.ndarray:
    """At most `most` of the sorted `values`, spread evenly (the first and last kept)."""
    if len(values) <= most:
        return values
    idx = np.unique(np.linspace(0, len(values) - 1, most).round().astype(int))
    out: np.ndarray = values[idx]
    return out
