"""The aggregate planning model: rack counts per site and time bucket under the real
capacities, in PuLP, whose linear relaxation bounds the weighted tardiness from below.

Units and classes
-----------------
The racks of an order that have no fixed step are alike (same routing, modes and allowed
sites); racks of several orders alike in that and released in the same bucket form one
*class*, whose flow through the routing is modelled as a whole from the earliest of
their releases. A rack with a fixed step is a class of its own, pinned to its site. A
*member* is the part of a class that belongs to one order.

Variables (all bounded)
-----------------------
- ``y[m, s]``: racks of member `m` built at site `s` (an allowed site of its class);
- ``C[k, s, j, b]``: racks of class `k` at site `s` whose step `j` has started by the end
  of bucket `b` (cumulative; one variable per bucket where a start is feasible, the last
  one equal to the class's racks at the site, ``N[k, s] = sum_m y[m, s]``);
- ``X[s, t, b]``: racks of all classes starting a step of type `t` (the same modes and
  power) at site `s` in bucket `b`, and ``V[s, t, b, k]``: the minutes of those steps that
  fall into bucket ``b + k`` (where a start in `b` can spread over several buckets);
- ``U[m, s, j, b]``: racks of member `m` at `s` that have not started step `j` by the
  end of bucket `b`, for the last step and the first, over the buckets from the one
  before the member's first late bucket to `LATE_WINDOW` minutes after it;
- ``T[o]``: order `o`'s tardiness.

Constraints
-----------
- every rack is built once: ``sum_s y[m, s] = racks of m``; rule 10's quotas:
  ``sum over the customer's members of y[m, s] <= ceil(share * the customer's racks)``;
- starts only where a step can run: ``C`` exists from the bucket of the step's earliest
  start (release, then the shortest way through the steps before it on the calendars) and,
  before a fixed step, up to its latest start; ``C`` never decreases;
- routing order: ``C[k, s, j + 1, b] <= C[k, s, j, kappa(b)]``, where ``kappa(b)`` is the
  bucket of the latest feasible start of step `j` that ends by the latest feasible start of
  step ``j + 1`` in bucket `b` or before;
- ``X`` adds up the starts of its step type; ``lo X <= V <= hi X`` per later bucket (the
  least and most minutes a start in `b` can put there, from the calendars) and
  ``sum_k V >= shortest duration * X``;
- capacity, per site and bucket, for every set `R` of resources in the family made of the
  eligible sets of the site's step types and the unions of overlapping ones (resources of
  one kind and qualification, and what a qualification subset needs): the minutes of the
  step types whose eligible resources all lie in `R` fit in ``sum over R of capacity x
  usable minutes``, less the fixed steps' minutes inside those windows; a window that lies
  wholly inside one bucket is usable for the most minutes its length holds of the
  durations those step types have on the resource (`solver.planning.tables.usable_minutes`:
  a 960-minute shift holds one 540-minute step, not 1.78), others count in full, and so do
  windows holding a fixed step;
- power, per site and bucket: ``sum power_kw x minutes`` of steps fit in the integral of
  the cap in force over the bucket (`power_cap_kw` and `power_windows`), less the fixed
  steps' energy (a bucket partly without any cap has no such row); and whole racks
  (`solver.planning.hull`): ``sum_t a_t x minutes of type t <= integral of beta(a, cap)``
  for the directions `a` whose whole-point maximum `beta` cuts the fluid polytope;
- ``U`` never grows from one bucket to the next and starts at most at ``y``;
  ``C[k, s, j, b] >= sum over the members counted at b of (y - U[b])``.

Objective: ``sum_o weight_o * T_o`` with, for each estimated step `j`,
``racks_o * T_o >= sum (coef[i + 1] - coef[i]) * U[i] + fixed lateness`` and
``T_o >= floor_o``. Here ``coef[i]`` is the least lateness of a rack whose step `j` starts
in the bucket of entry `i` or later: ``max(earliest delivery, earliest end of j in that
bucket + the shortest rest of the routing + transit) - due``, at least 0; the floor is
the order's lateness when each rack runs alone at its best site (the figure of
`solver.bounds.lower_bound`) and any per-order bound the caller passes. Where an order
has one estimate and no floor, ``T_o`` is left out and its terms go into the objective.

Why the relaxation is a lower bound (SPEC sections 2 and 6)
-----------------------------------------------------------
Take any valid schedule and read the model's values off it (`schedule_point`): ``y`` the
racks of each member per site (rule 4: one allowed site per rack), ``C`` the counts of
started steps, ``X`` the starts per bucket, ``V`` the minutes the steps started in `b`
really spend in ``b + k``, ``U`` the racks not yet started, ``T`` the orders' tardiness.
Each constraint holds:

- a start is feasible only inside a window where the whole step fits (rules 5, 6), after
  the release and the routing before it (rules 2, 3; a class starts from its earliest
  release) and, before a fixed step, early enough for the steps up to it; so no start
  falls into a bucket without a variable;
- if step ``j + 1`` of a rack starts in bucket `b` or before, it starts at or before the
  latest feasible start there (``L``), so step `j`, on its own mode of duration `d`, ended
  by ``L`` and started at or before the latest feasible start of that mode ending by
  ``L``: in bucket ``kappa(b)`` or before. Every rack counted on the left is counted on
  the right; this holds for steps longer than a bucket as well as for short ones;
- a start at time ``t`` of duration ``d`` puts ``|[t, t + d) n bucket|`` minutes into each
  bucket; for a start in `b` that lies between the least and the most over the feasible
  starts in `b` (a trapezoid in ``t``, so both are found at interval ends and corners),
  and the minutes add up to ``d``, at least the shortest duration: steps that straddle
  buckets are counted where they run;
- a resource of capacity `q` runs at most `q` steps at any moment and only inside its
  windows (rules 6, 7), so over a bucket its steps' minutes are at most ``q x its window
  minutes``, less what fixed steps take of those windows; steps of a type whose every
  eligible resource is in `R` run on `R`, so their minutes are among `R`'s (steps of
  other types may add to them: the row only leaves them out);
- the site's power is at most the cap in force at every moment (rule 8 with section 6),
  so its integral over the bucket is too, and that integral is the sum of
  ``power_kw x minutes`` of the steps running there; the steps running at one moment are
  a whole point of the hull's polytope, so ``a . n <= beta`` at each moment, and the
  integral of ``a . n`` over the bucket is ``sum_t a_t x minutes of type t``;
- rule 10 is exactly the quota rows on whole racks;
- a rack whose step `j` starts in bucket `b` ends that step no earlier than its earliest
  end in `b`, then runs the rest of its routing (at least the shortest durations) and
  delivers after the site's transit (rule 9), and delivers no earlier than it could
  alone: its lateness is at least ``coef`` of that bucket, and, ``coef`` being made
  non-decreasing, at least ``coef`` of every earlier entry; summing over the racks by
  the bucket where they start `j` gives the ``U`` form (the racks past the window are
  late by at least the least ``coef`` after it); an order's tardiness is the largest of
  its racks' lateness, so at least their mean, at least its floor.

The schedule's weighted tardiness is therefore the model's objective at a feasible point
or more, and the least objective of the linear relaxation is a lower bound on it. What
is proven is not HiGHS's floating-point optimum but the Lagrangian value of its duals,
recomputed over the variables' boxes (`solver.planning.highs`); constants (racks whose
last step is fixed) are added outside the solver.

Where it is weak: within a bucket the estimates take the earliest end there, while the
capacity rows let the starts sit anywhere in it, so day buckets miss lateness of hours;
the mean over an order's racks is not their maximum; and the flow is fluid.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pulp

from solver.compiled import Compiled, Mode
from solver.planning import hull
from solver.planning.grid import Grid
from solver.planning.section6 import PowerWindow, Section6
from solver.planning.tables import (
    StepTable,
    fixed_minutes,
    overlap,
    span_minutes,
    usable_minutes,
)
from solver.solution import Assignment

# the most resource sets a site's capacity rows use (the eligible sets and their unions)
MAX_SETS = 48
# per member and site, the minutes (from its first late bucket) whose buckets count racks
# not yet done; the racks left after them are late by at least the least lateness past it
LATE_WINDOW = 7 * 1440

Meta = tuple[Any, ...]


@dataclass
class Member:
    """The racks of one order in one class."""

    order: int
    units: list[int]
    sites: list[int]
    pinned: bool  # a rack with fixed steps, at the site of those steps


@dataclass
class PlanningModel:
    """The PuLP model and what reading a solution or a schedule into it needs."""

    prob: pulp.LpProblem
    c: Compiled
    grid: Grid
    classes: list[list[int]]  # member indices per class
    members: list[Member]
    y: dict[tuple[int, int], Any]  # (member, site) -> variable
    meta: dict[str, Meta]  # variable name -> what it counts
    type_of: dict[tuple[int, tuple[Mode, ...]], int]  # (site, modes) -> step type id
    constant: float  # objective figure outside the solver (racks with a fixed last step)
    floors: list[float]  # per order, its tardiness floor in minutes
    reasons: list[str] = field(default_factory=list)  # why no schedule can exist
    # per (member, site): the buckets where its last step may start (`whole` models)
    last_buckets: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    # per step type (site, table id, power): the terms of its minutes in each bucket, its
    # eligible resources and the members whose steps are of that type (the report's load)
    work: dict[tuple[int, int, float], list[dict[Any, float]]] = field(default_factory=dict)
    type_resources: dict[tuple[int, int, float], frozenset[int]] = field(default_factory=dict)
    type_members: dict[tuple[int, int, float], set[int]] = field(default_factory=dict)
    rows: int = 0
    columns: int = 0
    nonzeros: int = 0
    build_seconds: float = 0.0


class _Builder:
    def __init__(self, c: Compiled, grid: Grid, s6: Section6,
                 order_lb: Mapping[int, float], window: int, whole: bool = False,
                 headroom: float = 1.0) -> None:
        self.c, self.grid, self.s6, self.window = c, grid, s6, window
        self.headroom = headroom
        # the allocation: whole racks per site, and per member the racks by the bucket
        # of their last step's start over the whole grid
        self.whole = whole
        self.order_lb = order_lb
        self.prob = pulp.LpProblem("planning", pulp.LpMinimize)
        self.n_rows = 0
        self.nnz = 0
        self.meta: dict[str, Meta] = {}
        self.tables: dict[tuple[int, tuple[Mode, ...]], StepTable] = {}
        self.type_of: dict[tuple[int, tuple[Mode, ...]], int] = {}
        # per step type key (site, table id, power): table, eligible resources, power
        self.types: dict[tuple[int, int, float], tuple[StepTable, frozenset[int]]] = {}
        # per step type, per eligible resource, the durations of its modes there
        self.type_durations: dict[tuple[int, int, float], dict[int, set[int]]] = {}
        # per (site, table id, power, bucket): the terms of X (starts) and its upper bound
        self.x_terms: dict[tuple[int, int, float, int], dict[Any, float]] = {}
        self.x_max: dict[tuple[int, int, float, int], int] = {}
        # per (member, site): the first chain entry counted, the racks left per entry
        self.late: dict[tuple[int, int, int], tuple[int, dict[int, Any]]] = {}
        self.last_buckets: dict[tuple[int, int], list[int]] = {}
        self.reasons: list[str] = []
        n_orders = len(c.order_ids)
        # per order, per step whose start bucket estimates lateness: the terms
        self.order_terms: list[dict[int, dict[Any, float]]] = [{} for _ in range(n_orders)]
        self.order_const = [0.0] * n_orders  # lateness minutes of racks with a fixed end
        self.order_cmax = [0.0] * n_orders  # the most lateness a rack of the order is given
        self.alone: dict[int, float] = {}  # per member, its earliest delivery at any site
        self.power = [
            [st.power_kw for st in c.problem.product(o.product).routing]
            for o in c.problem.orders
        ]
        self.members: list[Member] = []
        self.y: dict[tuple[int, int], Any] = {}
        self.type_members: dict[tuple[int, int, float], set[int]] = {}

    # ---- small helpers ------------------------------------------------------------------

    def var(self, hi: float, lo: float, meta: Meta, whole: bool = False) -> pulp.LpVariable:
        """A new variable in ``[lo, hi]`` (an integer one with `whole`); `meta` says what
        it counts (`schedule_point`)."""
        cat = pulp.LpInteger if whole else pulp.LpContinuous
        v = self.prob.add_variable(f"v{len(self.meta)}", lo, hi, cat)
        self.meta[v.name] = meta
        return v

    def row(self, terms: Mapping[Any, float], sense: int, rhs: float) -> None:
        """Add ``sum terms sense rhs`` (terms already merged; zero terms dropped)."""
        e = {v: a for v, a in terms.items() if a != 0}
        if not e:
            return
        self.n_rows += 1
        self.nnz += len(e)
        self.prob.addConstraint(
            pulp.LpConstraint(pulp.LpAffineExpression(e), sense, f"r{self.n_rows}", rhs)
        )

    def table(self, site: int, modes: tuple[Mode, ...]) -> StepTable:
        key = (site, modes)
        t = self.tables.get(key)
        if t is None:
            t = self.tables[key] = StepTable(self.c, self.grid, modes)
        self.type_of[key] = id(t)
        return t

    # ---- the model ----------------------------------------------------------------------

    def build(self) -> PlanningModel:
        c = self.c
        t0 = time.perf_counter()
        classes = self._classes()
        members, y = self.members, self.y
        for mi, m in enumerate(members):
            q = len(m.units)
            for s in m.sites:
                y[mi, s] = self.var(q, q if m.pinned or len(m.sites) == 1 else 0.0,
                                    ("y", mi, s), self.whole)
            if len(m.sites) > 1:
                self.row({y[mi, s]: 1.0 for s in m.sites}, pulp.LpConstraintEQ, q)
        for ki, mids in enumerate(classes):
            rep = members[mids[0]].units[0]
            q = sum(len(members[mi].units) for mi in mids)
            for s in members[mids[0]].sites:
                if len(mids) == 1:
                    n_var = y[mids[0], s]
                else:
                    n_var = self.var(q, 0.0, ("N", ki, s))
                    terms = {y[mi, s]: -1.0 for mi in mids}
                    terms[n_var] = 1.0
                    self.row(terms, pulp.LpConstraintEQ, 0.0)
                self._class_at_site(ki, rep, s, q, n_var, mids)
        work = self._work()
        self._capacity_and_power(work)
        self._quotas()
        constant, floors = self._objective()
        return PlanningModel(
            prob=self.prob, c=c, grid=self.grid, classes=classes, members=members, y=y,
            meta=self.meta, type_of=self.type_of, constant=constant, floors=floors,
            reasons=self.reasons, last_buckets=self.last_buckets, work=work,
            type_resources={k: rs for k, (_, rs) in self.types.items()},
            type_members=self.type_members, rows=self.n_rows,
            columns=len(self.meta),
            nonzeros=self.nnz, build_seconds=time.perf_counter() - t0,
        )

    def _classes(self) -> list[list[int]]:
        """Members grouped into classes (lists of member indices)."""
        c = self.c
        rc = c.route_classes()
        by_key: dict[tuple[Any, ...], dict[int, list[int]]] = {}
        for u, ops in enumerate(c.unit_ops):
            oi = c.unit_order[u]
            if any(c.op_fixed[o] is not None for o in ops):
                key: tuple[Any, ...] = ("unit", u)
            else:
                # racks released in one bucket share a flow from the earliest release
                key = ("class", rc[u], self.grid.of(c.order_release[oi]))
            by_key.setdefault(key, {}).setdefault(oi, []).append(u)
        classes: list[list[int]] = []
        for key, per_order in by_key.items():
            ids = []
            for oi, units in per_order.items():
                ids.append(len(self.members))
                self.members.append(Member(oi, units, list(c.unit_sites[units[0]]),
                                           key[0] == "unit"))
            classes.append(ids)
        return classes

    def _class_at_site(self, ki: int, rep: int, s: int, q: int, n_var: Any,
                       mids: list[int]) -> None:
        """Chains, routing order and the last step's lateness of one class at one site."""
        c, grid = self.c, self.grid
        n = grid.n
        ops = c.unit_ops[rep]
        oi = c.unit_order[rep]
        label = f"{c.order_ids[oi]}/{c.unit_no[rep]}"
        release = min(c.order_release[self.members[mi].order] for mi in mids)
        tabs: list[StepTable | None] = []
        for o in ops:
            if c.op_fixed[o] is not None:
                tabs.append(None)
            else:
                modes = tuple(m for m in c.op_modes[o] if c.res_site[m.resource] == s)
                tabs.append(self.table(s, modes))
        # earliest starts along the routing (rules 2, 3, 6), then the latest starts that
        # still let the steps before a fixed step end by its start
        est, chain_end = self._earliest(ops, tabs, release)
        lst: list[float] = [math.inf] * len(ops)
        limit = math.inf
        for j in range(len(ops) - 1, -1, -1):
            tab = tabs[j]
            f = c.op_fixed[ops[j]]
            if tab is None:
                assert f is not None
                limit = f[1]
                continue
            if math.isfinite(limit):
                got = tab.latest_by(limit)
                if got is None or got < est[j]:
                    self.reasons.append(
                        f"{label}: step '{c.op_name[ops[j]]}' cannot run between the steps "
                        f"before it and the fixed step after it at site '{c.site_ids[s]}'"
                    )
                    return
                lst[j] = limit = got
        # the chains: (bucket, cumulative starts by then), the last one is N
        chains: list[list[tuple[int, Any]] | None] = []
        for j, tab in enumerate(tabs):
            if tab is None:
                chains.append(None)
                continue
            top = n if math.isinf(lst[j]) else grid.of(int(lst[j]))
            buckets = [b for b in range(grid.of(est[j]), top + 1) if tab.feasible(b)]
            if not buckets:
                self.reasons.append(
                    f"{label}: step '{c.op_name[ops[j]]}' has no feasible start at site "
                    f"'{c.site_ids[s]}'"
                )
                return
            entries = [(b, self.var(q, 0.0, ("C", ki, s, j, b))) for b in buckets[:-1]]
            entries.append((buckets[-1], n_var))
            for (_, a), (_, b) in pairwise(entries):
                self.row({b: 1.0, a: -1.0}, pulp.LpConstraintGE, 0.0)
            p = self.power[oi][j]
            modes = tuple(m for m in c.op_modes[ops[j]] if c.res_site[m.resource] == s)
            tkey = (s, id(tab), p)
            self.types.setdefault(tkey, (tab, frozenset(m.resource for m in modes)))
            durs = self.type_durations.setdefault(tkey, {})
            for md in modes:
                durs.setdefault(md.resource, set()).add(md.duration)
            self.type_members.setdefault(tkey, set()).update(mids)
            prev: Any = None
            for b, v in entries:
                if b >= n:
                    break
                xk = (*tkey, b)
                terms = self.x_terms.setdefault(xk, {})
                terms[v] = terms.get(v, 0.0) + 1.0
                if prev is not None:
                    terms[prev] = terms.get(prev, 0.0) - 1.0
                self.x_max[xk] = self.x_max.get(xk, 0) + q
                prev = v
            chains.append(entries)
        self._routing_order(tabs, chains)
        last = len(ops) - 1
        # lateness from the bucket of the last step's start and, for a rack with no fixed
        # step, also from the first step's: the shortest rest of the routing follows it
        estimates = [last] if tabs[last] is not None else []
        if last > 0 and all(t is not None for t in tabs):
            estimates.append(0)
        rest = sum(t.d_min for t in tabs[1:] if t is not None)
        ends = {r: self._earliest(ops, tabs, r)[1]
                for r in {c.order_release[self.members[mi].order] for mi in mids}}
        for mi in mids:
            m = self.members[mi]
            transit = c.order_transit[m.order][s]
            chain_end = ends[c.order_release[m.order]]
            self.alone[mi] = min(self.alone.get(mi, math.inf), chain_end + transit)
            if not estimates:
                late = max(0.0, chain_end + transit - c.order_due[m.order])
                self.order_const[m.order] += late * len(m.units)
                self.order_cmax[m.order] = max(self.order_cmax[m.order], late)
            for j in estimates:
                tab, chain = tabs[j], chains[j]
                assert tab is not None and chain is not None
                self._lateness(mi, s, j, tab, chain, chain_end + transit,
                               rest if j == 0 and last > 0 else 0)
        for j in estimates:
            chain = chains[j]
            assert chain is not None
            self._link(chain, s, j, mids, n_var)

    def _earliest(self, ops: list[int], tabs: list[StepTable | None],
                  release: int) -> tuple[list[int], int]:
        """Per step, its earliest start from `release` on (fixed steps where they are),
        and the earliest end of the last step."""
        est: list[int] = []
        end = release
        for o, tab in zip(ops, tabs, strict=True):
            f = self.c.op_fixed[o]
            if tab is None:
                assert f is not None
                est.append(f[1])
                end = f[2]
            else:
                st, end = tab.earliest(max(end, 0))
                est.append(st)
        return est, end

    def _routing_order(self, tabs: list[StepTable | None],
                       chains: list[list[tuple[int, Any]] | None]) -> None:
        """Rule 2 between consecutive free steps: ``C[j + 1, b] <= C[j, kappa(b)]``."""
        n = self.grid.n
        for j in range(len(tabs) - 1):
            ta, tb, ca, cb = tabs[j], tabs[j + 1], chains[j], chains[j + 1]
            if ta is None or tb is None or ca is None or cb is None:
                continue
            a_buckets = [b for b, _ in ca]
            keep: dict[int, Any] = {}  # per entry of step j: the latest row on it
            for b, v in cb:
                if b >= n:
                    break
                latest = ta.latest_by(tb.prefix_ls[b])
                kappa = -1 if latest is None else self.grid.of(latest)
                i = bisect_right(a_buckets, kappa) - 1
                if i < len(ca) - 1:  # else every rack may have started step j: no row
                    keep[i] = v
            for i, v in keep.items():
                terms = {v: 1.0}
                if i >= 0:
                    terms[ca[i][1]] = terms.get(ca[i][1], 0.0) - 1.0
                self.row(terms, pulp.LpConstraintLE, 0.0)

    def _lateness(self, mi: int, s: int, j: int, tab: StepTable,
                  chain: list[tuple[int, Any]], ready: int, after: int) -> None:
        """The member's racks that have not started step `j` at site `s` by each bucket
        (``U``, from the bucket before its first late one for `window` minutes) and the
        lateness they imply.

        `ready` is the earliest delivery of a rack there (its earliest last end plus
        transit), `after` the least minutes of the routing after step `j`. A rack whose
        step `j` starts in the bucket of chain entry `i` is late by at least
        ``coef[i]``; over the racks, ``sum_i coef[i] (U[i-1] - U[i])``, which is
        ``sum_i (coef[i+1] - coef[i]) U[i]`` with ``coef`` made non-decreasing.
        """
        c, grid = self.c, self.grid
        m = self.members[mi]
        due = c.order_due[m.order]
        transit = c.order_transit[m.order][s]
        coef = []
        for i, (b, _) in enumerate(chain):
            e = float(ready)
            if i > 0:
                e = max(e, (tab.ee[b] if b < grid.n else grid.end + tab.d_min) + after
                        + transit)
            coef.append(max(0.0, e - due))
        for i in range(len(coef) - 2, -1, -1):
            coef[i] = min(coef[i], coef[i + 1])
        i0 = next((i for i, x in enumerate(coef) if x > 0), None)
        last = len(chain) - 1
        whole = self.whole and j == len(self.c.unit_ops[m.units[0]]) - 1
        if whole:  # every bucket, late or not: the allocation's weeks
            self.last_buckets[mi, s] = [b for b, _ in chain]
            first, stop = 0, last - 1
            i0 = len(coef) if i0 is None else i0
        elif i0 is None:
            return
        else:
            first = i0
            until = grid.start(chain[i0][0]) + self.window
            stop = i0
            while stop < last - 1 and grid.start(chain[stop + 1][0]) < until:
                stop += 1
        left: dict[int, Any] = {}
        q = len(m.units)
        for i in range(first - 1, min(stop, last - 1) + 1):
            left[i] = (self.y[mi, s] if i < 0
                       else self.var(q, 0.0, ("U", mi, s, j, chain[i][0]), whole))
            if i - 1 in left:
                self.row({left[i - 1]: 1.0, left[i]: -1.0}, pulp.LpConstraintGE, 0.0)
        terms = self.order_terms[m.order].setdefault(j, {})
        for i, v in left.items():
            a = coef[i + 1] - (coef[i] if i >= i0 else 0.0)
            if a > 0:
                terms[v] = terms.get(v, 0.0) + a
        self.order_cmax[m.order] = max(self.order_cmax[m.order], coef[-1])
        self.late[(mi, s, j)] = (max(0, first - 1), left)

    def _link(self, chain: list[tuple[int, Any]], s: int, j: int, mids: list[int],
              n_var: Any) -> None:
        """Step `j`'s starts by each bucket cover the racks counted started by then:
        ``C[j, b] >= sum over counted members of (y - U[b])``."""
        per_entry: list[dict[Any, float]] = [{} for _ in chain]
        counted: list[list[int]] = [[] for _ in chain]
        for mi in mids:
            got = self.late.get((mi, s, j))
            if got is None:
                continue
            first, left = got
            top = max(left)
            for i in range(first, len(chain) - 1):
                v = left[min(i, top)]
                per_entry[i][v] = per_entry[i].get(v, 0.0) + 1.0
                counted[i].append(mi)
        for i in range(len(chain) - 1):
            terms = per_entry[i]
            if not terms:
                continue
            if len(counted[i]) == len(mids):
                terms[n_var] = terms.get(n_var, 0.0) - 1.0
            else:
                for mi in counted[i]:
                    v = self.y[mi, s]
                    terms[v] = terms.get(v, 0.0) - 1.0
            terms[chain[i][1]] = terms.get(chain[i][1], 0.0) + 1.0
            self.row(terms, pulp.LpConstraintGE, 0.0)

    def _work(self) -> dict[tuple[int, int, float], list[dict[Any, float]]]:
        """X per step type and start bucket, and the minutes its starts put into each
        bucket (``V``, or a fixed share of X): per type, per bucket, the terms."""
        n = self.grid.n
        work: dict[tuple[int, int, float], list[dict[Any, float]]] = {}
        for xk, terms in self.x_terms.items():
            s, tid, p, b = xk
            tkey = (s, tid, p)
            tab, _ = self.types[tkey]
            xmax = self.x_max[xk]
            x = self.var(xmax, 0.0, ("X", s, tid, p, b))
            row = {v: -a for v, a in terms.items()}
            row[x] = 1.0
            self.row(row, pulp.LpConstraintEQ, 0.0)
            per = work.setdefault(tkey, [{} for _ in range(n)])
            need = float(tab.d_min)  # minutes the varying shares must make up, per rack
            free: dict[Any, float] = {}
            free_lo = 0.0
            for k, (lo, hi) in enumerate(zip(tab.lo[b], tab.hi[b], strict=True)):
                target = b + k
                if hi <= 0:
                    continue
                if hi - lo < 1e-9:  # every start puts the same minutes there
                    need -= lo
                    if target < n:
                        per[target][x] = per[target].get(x, 0.0) + lo
                    continue
                v = self.var(hi * xmax, 0.0, ("V", s, tid, p, b, k))
                free[v] = 1.0
                free_lo += lo
                self.row({v: 1.0, x: -hi}, pulp.LpConstraintLE, 0.0)
                if lo > 0:
                    self.row({v: 1.0, x: -lo}, pulp.LpConstraintGE, 0.0)
                if target < n:
                    per[target][v] = 1.0
            if free and need > free_lo + 1e-9:
                free[x] = -need
                self.row(free, pulp.LpConstraintGE, 0.0)
        return work

    def _capacity_and_power(
        self, work: dict[tuple[int, int, float], list[dict[Any, float]]]
    ) -> None:
        """Rules 6-7 per resource set and bucket, rule 8 per site and bucket."""
        c, grid = self.c, self.grid
        fixed_on: dict[int, list[tuple[int, float]]] = {}
        held: dict[int, set[int]] = {}  # per resource, the windows holding a fixed step
        for f in c.op_fixed:
            if f is not None:
                fixed_on.setdefault(f[0], []).extend(fixed_minutes(c, grid, *f))
                held.setdefault(f[0], set()).update(
                    i for i, (a, z) in enumerate(c.res_windows[f[0]]) if a < f[2] and f[1] < z)
        caps: dict[tuple[int, frozenset[int]], list[float]] = {}

        def usable(r: int, durations: frozenset[int]) -> list[float]:
            """The resource's usable minutes per bucket for steps of `durations`, less
            the fixed steps' minutes."""
            got = caps.get((r, durations))
            if got is None:
                got = usable_minutes(c, grid, r, durations, frozenset(held.get(r, ())))
                for b, mins in fixed_on.get(r, []):
                    got[b] -= mins
                caps[r, durations] = got
            return got

        for s in range(len(c.site_ids)):
            keys = [k for k in work if k[0] == s]
            family = _union_family({self.types[k][1] for k in keys})
            for rset in family:
                inside = [k for k in keys if self.types[k][1] <= rset]
                per_r = [usable(r, frozenset(d for k in inside
                                             for d in self.type_durations[k].get(r, ())))
                         for r in sorted(rset)]
                for b in range(grid.n):
                    terms = self._sum(work, inside, b, lambda _: 1.0)
                    if terms:
                        self.row(terms, pulp.LpConstraintLE,
                                 self.headroom * sum(m[b] for m in per_r))
            self._power(work, s, keys, family)

    @staticmethod
    def _sum(work: dict[tuple[int, int, float], list[dict[Any, float]]],
             keys: list[tuple[int, int, float]], b: int,
             weight: Any) -> dict[Any, float]:
        """``sum over types k of weight(k) x minutes of k in bucket b``, as terms."""
        terms: dict[Any, float] = {}
        for k in keys:
            w = weight(k)
            if w:
                for v, a in work[k][b].items():
                    terms[v] = terms.get(v, 0.0) + a * w
        return terms

    def _power(self, work: dict[tuple[int, int, float], list[dict[Any, float]]], s: int,
               keys: list[tuple[int, int, float]], family: list[frozenset[int]]) -> None:
        """Rule 8 per bucket: the energy row, and the whole-rack rows of `hull`."""
        c, grid = self.c, self.grid
        site = c.problem.sites[s]
        powered = [k for k in keys if k[2] > 0]
        windows = self.s6.power_windows.get(site.id, [])
        if not powered or (site.power_cap_kw is None and not windows):
            return
        energy = []
        for b in range(grid.n):
            seg = _cap_segments(grid, b, site.power_cap_kw, windows)
            total = 0.0
            for level, mins in seg:
                total = math.inf if level is None else total + level * mins
            energy.append(total)
        busy = [False] * grid.n  # buckets where a fixed powered step runs
        for o, f in enumerate(c.op_fixed):
            if f is None or c.res_site[f[0]] != s:
                continue
            u = c.op_unit[o]
            p = self.power[c.unit_order[u]][c.unit_ops[u].index(o)]
            if p > 0:
                for b, mins in span_minutes(grid, f[1], f[2]):
                    energy[b] -= p * mins
                    busy[b] = True
        for b in range(grid.n):
            if math.isfinite(energy[b]):
                terms = self._sum(work, powered, b, lambda k: k[2])
                if terms:
                    self.row(terms, pulp.LpConstraintLE, energy[b])
        # whole racks at once: the slots of every resource set, and the cap
        powers = [k[2] for k in powered]
        slots = {r: c.res_cap[r] for k in powered for r in self.types[k][1]}
        sets = [(frozenset(t for t, k in enumerate(powered) if self.types[k][1] <= rs),
                 sum(slots.get(r, 0) for r in rs)) for rs in family]
        sets = [(ts, n) for ts, n in sets if ts]
        base = site.power_cap_kw if site.power_cap_kw is not None else (
            windows[0].cap_kw if windows else None)
        for a, _ in hull.cuts(powers, sets, base):
            beta: dict[float | None, float] = {}
            index = {k: a[t] for t, k in enumerate(powered)}
            for b in range(grid.n):
                if busy[b]:
                    continue
                rhs = 0.0
                for level, mins in _cap_segments(grid, b, site.power_cap_kw, windows):
                    if level not in beta:
                        beta[level] = hull.beta_at(a, powers, sets, level)
                    rhs += beta[level] * mins
                terms = self._sum(work, powered, b, index.__getitem__)
                if terms:
                    self.row(terms, pulp.LpConstraintLE, rhs)

    def _quotas(self) -> None:
        """Rule 10 on the racks of each customer at each site."""
        p = self.c.problem
        total: dict[str, int] = {}
        for o in p.orders:
            if o.customer is not None:
                total[o.customer] = total.get(o.customer, 0) + o.quantity
        for cust, units in total.items():
            share = self.s6.quota(cust)
            if share is None:
                continue
            limit = self.s6.limit(share, units)
            mine = [mi for mi, m in enumerate(self.members)
                    if p.orders[m.order].customer == cust]
            for s in range(len(self.c.site_ids)):
                at = [mi for mi in mine if (mi, s) in self.y]
                if sum(len(self.members[mi].units) for mi in at) > limit:
                    self.row({self.y[mi, s]: 1.0 for mi in at}, pulp.LpConstraintLE,
                             float(limit))

    def _objective(self) -> tuple[float, list[float]]:
        """``sum_o weight_o T_o``; returns the constant part and the orders' floors."""
        c = self.c
        objective: dict[Any, float] = {}
        constant = 0.0
        floors = []
        by_order: dict[int, list[int]] = {}
        for mi, m in enumerate(self.members):
            by_order.setdefault(m.order, []).append(mi)
        for oi, o in enumerate(c.problem.orders):
            alone = max(self.alone.get(mi, -math.inf) for mi in by_order.get(oi, [-1]))
            floor = max(0.0, alone - c.order_due[oi], float(self.order_lb.get(oi, 0)))
            floors.append(floor)
            qo, w = o.quantity, float(o.weight)
            estimates = self.order_terms[oi]
            if floor > 0 or len(estimates) > 1:
                t = self.var(max(floor, self.order_cmax[oi]), floor, ("T", oi))
                objective[t] = w
                for terms in estimates.values() or [{}]:
                    row = {v: -a for v, a in terms.items()}
                    row[t] = float(qo)
                    self.row(row, pulp.LpConstraintGE, self.order_const[oi])
            else:
                for terms in estimates.values():
                    for v, a in terms.items():
                        objective[v] = objective.get(v, 0.0) + w * a / qo
                constant += w * self.order_const[oi] / qo
        self.prob.setObjective(pulp.LpAffineExpression(objective))
        return constant, floors


def _union_family(sets: set[frozenset[int]]) -> list[frozenset[int]]:
    """The sets and the unions of overlapping ones (at most `MAX_SETS`): disjoint unions
    add nothing, their rows being sums of the parts' rows."""
    family = set(sets)
    grew = True
    while grew and len(family) < MAX_SETS:
        grew = False
        items = sorted(family, key=lambda x: (len(x), sorted(x)))
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                if len(family) >= MAX_SETS:
                    break
                if a & b and not a <= b and not b <= a and (a | b) not in family:
                    family.add(a | b)
                    grew = True
    return sorted(family, key=lambda x: (len(x), sorted(x)))


def _cap_segments(grid: Grid, b: int, base: float | None,
                  windows: list[PowerWindow]) -> list[tuple[float | None, float]]:
    """Bucket `b` as (cap in force or None for none, minutes) parts (section 6)."""
    lo, hi = float(grid.start(b)), float(grid.stop(b))
    out: list[tuple[float | None, float]] = []
    covered = 0.0
    for w in windows:
        a, z = max(lo, w.start), min(hi, w.end)
        if z > a:
            out.append((w.cap_kw, z - a))
            covered += z - a
    rest = (hi - lo) - covered
    if rest > 1e-9:
        out.append((base, rest))
    return out


def build_model(
    c: Compiled, grid: Grid, s6: Section6, order_lb: Mapping[int, float] | None = None,
    window: int = LATE_WINDOW,
    whole: bool = False,
    headroom: float = 1.0,
) -> PlanningModel:
    """Build the aggregate model of `c` over `grid` (see the module docstring).

    Parameters
    ----------
    c
        The compiled problem; its horizon must reach past the grid by the longest step.
    grid
        The buckets (`solver.planning.grid.Grid`).
    s6
        Quotas and power windows (SPEC section 6).
    order_lb
        Per order index, a proven lower bound on its tardiness in minutes (e.g. from
        `solver.bounds.order_bounds`): the model keeps each order at or above it.
    window
        Per member and site, the minutes from its first late bucket over which the
        racks not yet done are counted bucket by bucket.
    whole
        The allocation's model: racks per member and site are integers, and so are its
        racks by the bucket of their last step's start, counted over the whole grid.
    headroom
        The share of each capacity row's minutes the steps may use: 1 for the bound (any
        less and it is no longer a relaxation); below 1 only for an allocation that
        leaves the detailed schedule room for what buckets do not see.
    """
    return _Builder(c, grid, s6, order_lb or {}, window, whole, headroom).build()


# ---- a schedule read into the model --------------------------------------------------------


def schedule_point(model: PlanningModel, a: Assignment) -> dict[str, float]:
    """The model's variables read off a complete schedule (the map of the module
    docstring's argument): per variable name, its value."""
    c, grid = model.c, model.grid
    n = grid.n
    unit_site = [c.res_site[a.res[ops[0]]] for ops in c.unit_ops]
    member_of = {u: mi for mi, m in enumerate(model.members) for u in m.units}
    class_of = {mi: ki for ki, mids in enumerate(model.classes) for mi in mids}
    # per unit and step: start bucket; per (site, type, bucket): minutes per offset
    out: dict[str, float] = {}
    starts: dict[tuple[int, int, int], list[int]] = {}  # (class, site, step) -> buckets
    xs: dict[tuple[int, int, float, int], float] = {}
    vs: dict[tuple[int, int, float, int, int], float] = {}
    step_bucket: dict[tuple[int, int], int] = {}
    for u, ops in enumerate(c.unit_ops):
        s = unit_site[u]
        ki = class_of[member_of[u]]
        oi = c.unit_order[u]
        for j, o in enumerate(ops):
            if c.op_fixed[o] is not None:
                continue
            b = grid.of(a.start[o])
            starts.setdefault((ki, s, j), []).append(b)
            step_bucket[u, j] = b
            if b >= n:
                continue
            modes = tuple(m for m in c.op_modes[o] if c.res_site[m.resource] == s)
            tid = model.type_of[(s, modes)]
            p = c.problem.product(c.problem.orders[oi].product).routing[j].power_kw
            xs[(s, tid, p, b)] = xs.get((s, tid, p, b), 0.0) + 1.0
            for k in range(n - b + 1):
                mins = overlap(a.start[o], a.end[o] - a.start[o], grid.start(b + k),
                               grid.stop(b + k))
                vs[(s, tid, p, b, k)] = vs.get((s, tid, p, b, k), 0.0) + mins
    for name, meta in model.meta.items():
        kind = meta[0]
        if kind == "y":
            _, mi, s = meta
            out[name] = float(sum(1 for u in model.members[mi].units if unit_site[u] == s))
        elif kind == "N":
            _, ki, s = meta
            out[name] = float(sum(1 for mi in model.classes[ki] for u in model.members[mi].units
                                  if unit_site[u] == s))
        elif kind == "C":
            _, ki, s, j, b = meta
            out[name] = float(sum(1 for x in starts.get((ki, s, j), []) if x <= b))
        elif kind == "X":
            out[name] = xs.get(meta[1:], 0.0)
        elif kind == "V":
            out[name] = vs.get(meta[1:], 0.0)
        elif kind == "U":
            _, mi, s, j, b = meta
            out[name] = float(sum(1 for u in model.members[mi].units
                                  if unit_site[u] == s and step_bucket[u, j] > b))
        elif kind == "T":
            _, oi = meta
            out[name] = float(max(0, max(a.end[c.unit_ops[u][-1]]
                                         + c.order_transit[oi][unit_site[u]]
                                         for u in c.order_units[oi]) - c.order_due[oi]))
    return out


def violations(model: PlanningModel, point: Mapping[str, float], tol: float = 1e-6) -> list[str]:
    """The rows of the model that `point` breaks, and variables outside their bounds."""
    out = []
    for v in model.prob.variables():
        x = point[v.name]
        if (v.lowBound is not None and x < v.lowBound - tol) or (
                v.upBound is not None and x > v.upBound + tol):
            out.append(f"{v.name} {model.meta[v.name]} = {x} outside [{v.lowBound}, "
                       f"{v.upBound}]")
    for con in model.prob.constraints():
        name = con.name
        lhs = sum(a * point[v.name] for v, a in con.items()) + con.constant
        scale = tol * max(1.0, abs(con.constant))
        bad = ((con.sense == pulp.LpConstraintLE and lhs > scale)
               or (con.sense == pulp.LpConstraintGE and lhs < -scale)
               or (con.sense == pulp.LpConstraintEQ and abs(lhs) > scale))
        if bad:
            terms = ", ".join(f"{a:g} {model.meta[v.name]}={point[v.name]:g}"
                              for v, a in con.items())
            out.append(f"{name}: {terms} {con.sense} {-con.constant:g} (lhs-rhs {lhs:g})")
    return out


def objective_at(model: PlanningModel, point: Mapping[str, float]) -> float:
    """The model's objective figure at `point`, its constant included."""
    obj = model.prob.objective
    return model.constant + float(sum(a * point[v.name] for v, a in obj.items()))
