"""List scheduling that respects every rule: the CP-SAT hint and the answer of last resort.

A serial schedule-generation scheme over ops: ready ops (whose predecessor is placed) are
taken in priority order and put at their earliest feasible start, filling gaps left by
earlier placements. Calendars come from the compiled start intervals, capacity from one
lane per unit of capacity, power from a per-site usage profile (`solver.timeline`). A
unit's site is chosen when its first op is placed, by trying the whole routing at every
allowed site.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from solver.compiled import Compiled, Stopped
from solver.problem import spread_cut
from solver.solution import Assignment, score, unit_delivery
from solver.timeline import INF, Timeline
from solver.tuning import Tuning


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
    quotas: Quotas | None = None  # the units per customer and site so far (rule 10)


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
    patience: float | None = INF,
    cutoff: int | None = None, order_cutoff: Sequence[int] | None = None,
    units: Collection[int] | None = None, resume: PassState | None = None,
    checkpoints: Checkpoints | None = None, halt: Callable[[], bool] | None = None,
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
    sequence's do: `solver.search.sequence`), a pass resumed from the state saved before some
    unit gives the same schedule as a whole pass with keys that agree up to that unit.

    `halt`: polled every few hundred steps; True gives up with `Stopped`.

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
    quotas: Quotas | None = None
    if resume is not None:
        a, tl = resume.a.copy(), resume.tl.copy()
        last_site = resume.last_site[:]
        late.total, late.order_late = resume.late_total, resume.order_late[:]
        if resume.quotas is not None:
            quotas = resume.quotas.copy()
        if cutoff is not None and late.total > cutoff:
            raise Cutoff
    else:
        a, tl = _start(c)
        if c.quota_limit:
            quotas = Quotas(c, units)
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
    pops = 0
    while heap:
        pops += 1
        if halt is not None and pops % 512 == 0 and halt():
            raise Stopped
        key, o = heapq.heappop(heap)
        u = c.op_unit[o]
        if checkpoints is not None and first_of[u] == o and checkpoints.at(key):
            checkpoints.saved.append((key, PassState(
                tl.copy(), a.copy(), last_site[:], late.total, late.order_late[:],
                None if quotas is None else quotas.copy(),
            )))
        ops = c.unit_ops[u]
        j = op_pos[o]
        est = _ready_time(c, a, u, j)
        rr = ref.res[o] if ref is not None else -1
        if unit_site[u] < 0:
            # the sites left to the unit within its customer's quota (all: no quota)
            sites = c.unit_sites[u] if quotas is None else quotas.sites(u)
            if not sites:
                raise DispatchFailed(
                    [f"no site can build {_op_label(c, o)} within the spread-risk quota "
                     f"of customer '{c.quota_customer[c.order_quota[c.unit_order[u]]]}'"],
                    proven=False,
                )
            if rr >= 0 and c.res_site[rr] in sites:
                unit_site[u] = c.res_site[rr]
            else:
                oi = c.unit_order[u]
                unit_site[u], plan = _choose_site(c, tl, u, est, last_site[oi], trials, sites)
                last_site[oi] = unit_site[u]
                if ref is None:
                    trial, trial_at = _reusable(c, tl, ops, plan), tl.placed
            if quotas is not None:
                quotas.take(u, unit_site[u])
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
    trials: _Trials | None = None, sites: Sequence[int] | None = None,
) -> tuple[int, list[tuple[int, int, int, int]]]:
    """The allowed site where the unit's whole routing would deliver first, and that
    routing's places there, step by step (each found with nothing else placed).

    `first`: a site to try first (the order's previous unit's, usually the winner), so
    that the others are cut as soon as they deliver later; the answer does not depend
    on it. `trials` keeps each site's trial for the units of the same route class and
    ready time that come next: until something is placed at that site, they would find
    the same places there (an order's racks after the first try one site again, not
    all of them). `sites`: the sites to try (default: the unit's own)."""
    oi = c.unit_order[u]
    ops = c.unit_ops[u]
    if trials is not None and trials.key != (key := (c.route_classes()[u], est)):
        trials.key, trials.sites = key, {}
    best: tuple[int, int, int] | None = None
    best_plan: list[tuple[int, int, int, int]] = []
    sites = c.unit_sites[u] if sites is None else sites
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


class Quotas:
    """Rule 10 in a pass: per quota group, the units each site has taken so far and the
    units still to place by the sites they may use; a site is open to a unit while its
    share has room and the group's later units can still all be placed within theirs."""

    __slots__ = ("c", "keys", "left", "used")

    def __init__(self, c: Compiled, units: Collection[int] | None = None) -> None:
        self.c = c
        n_sites = len(c.site_ids)
        self.used = [[0] * n_sites for _ in c.quota_limit]
        self.left: list[dict[frozenset[int], int]] = [{} for _ in c.quota_limit]
        # per unit, the sites it may use (shared by every copy)
        self.keys: dict[int, frozenset[int]] = {}
        pinned = c.unit_starts()[1]
        for u, oi in enumerate(c.unit_order):
            g = c.order_quota[oi]
            if g < 0:
                continue
            if pinned[u] >= 0:  # fixed steps say where (all placed, or the rest to follow)
                self.used[g][pinned[u]] += 1
            elif units is None or u in units:
                key = self.keys[u] = frozenset(c.unit_sites[u])
                self.left[g][key] = self.left[g].get(key, 0) + 1

    def copy(self) -> Quotas:
        out = Quotas.__new__(Quotas)
        out.c, out.keys = self.c, self.keys
        out.used = [row[:] for row in self.used]
        out.left = [dict(d) for d in self.left]
        return out

    def sites(self, u: int) -> list[int]:
        """The unit's sites that keep its group's quota now and for its later units."""
        c = self.c
        g = c.order_quota[c.unit_order[u]]
        if g < 0:
            return c.unit_sites[u]
        limit, used = c.quota_limit[g], self.used[g]
        key = self.keys.get(u)
        room = [limit - x for x in used]
        sites = [s for s in c.unit_sites[u] if room[s] > 0]
        groups = [(k, n) for k, n in self.left[g].items() if n > 0]
        if len(room) <= HALL_SITES and key is not None:
            # the sets of sites that the units still to place (this one included) fill
            # exactly: taking a place at s leaves the rest placeable unless s lies in
            # such a set that this unit could also leave (a state that keeps the quotas
            # stays one: every choice is checked so)
            tight = _tight_sets(groups, room)
            if not tight:
                return sites
            mask = sum(1 << t for t in key)
            return [s for s in sites
                    if not any(t >> s & 1 and t & mask != mask for t in tight)]
        # many sites: by the flow, the rest placed after this unit takes each site
        rest = dict(self.left[g])
        if key is not None:
            rest[key] -= 1
        after = [(k, n) for k, n in rest.items() if n > 0]
        out = []
        for s in sites:
            room[s] -= 1
            if spread_cut(after, dict(enumerate(room))) is None:
                out.append(s)
            room[s] += 1
        return out

    def take(self, u: int, site: int) -> None:
        """The unit is built at `site`."""
        c = self.c
        g = c.order_quota[c.unit_order[u]]
        if g < 0:
            return
        self.used[g][site] += 1
        key = self.keys.get(u)
        if key is not None and self.left[g].get(key, 0) > 0:
            self.left[g][key] -= 1


HALL_SITES = 8
"""Up to this many sites, a quota's Hall condition is kept by the sets of sites it holds
tight (at most 256 sets, cheaper than a flow per site); above, by the flow
(`solver.problem.spread_cut`)."""


def _tight_sets(groups: Sequence[tuple[frozenset[int], int]], room: Sequence[int]) -> list[int]:
    """The sets of sites (bit masks) whose room the units confined to them fill exactly
    (`n` units per group, each to one of the group's sites)."""
    n_sites = len(room)
    full = 1 << n_sites
    have = [0] * full  # the room of each set of sites
    for t in range(1, full):
        low = t & -t
        have[t] = have[t ^ low] + room[low.bit_length() - 1]
    need = [0] * full  # the units confined to each set
    for k, n in groups:
        m = sum(1 << i for i in k)
        for t in range(m, full):
            if t & m == m:
                need[t] += n
    return [t for t in range(1, full) if need[t] and need[t] >= have[t]]


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


def best_dispatch(
    c: Compiled, rules: Sequence[str] = ("edd", "slack", "mwkr"), seed: int = 0, tries: int = 0,
    halt: Callable[[], bool] | None = None,
) -> Assignment:
    """The best of several priority rules (and `tries` randomised MWKR passes).

    Raises `HorizonTooShort` only when no rule fits in the horizon, `Stopped` when `halt`
    says so (`dispatch`).
    """
    best: Assignment | None = None
    best_key: tuple[int, int] | None = None
    rng = random.Random(seed)
    plans: list[tuple[str, random.Random | None]] = [(r, None) for r in rules]
    plans += [("mwkr", rng)] * tries
    short: HorizonTooShort | None = None
    for rule, r in plans:
        try:
            a = dispatch(c, rule_keys(c, rule, r), halt=halt)
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


def dispatch_rules(c: Compiled, tuning: Tuning) -> tuple[str, ...]:
    """The priority rules whose dispatch schedules a solve starts from (the best of them):
    one pass costs seconds at thousands of racks, so every rule only when small."""
    return ("edd", "slack", "mwkr") if c.n_ops <= tuning.all_rules_max_ops else ("edd",)


def repair(c: Compiled, rules: Sequence[str], tuning: Tuning,
           halt: Callable[[], bool] | None = None) -> Assignment:
    """The reference schedule replayed on the current problem: the best of several ways
    (`dispatch` with `repair`) — in reference order with each of the tuning's
    `repair_patience` waits (deferring the steps that lost their place, or shifting them
    right), and in each priority rule's order (due dates first), each step back at its
    reference resource and time when free. The rules matter when the floor has drifted
    far from the plan: then the best order for the due dates is no longer the plan's,
    and the search starts from whichever trade-off is best."""
    keys = repair_keys(c)
    tries = [dispatch(c, keys, repair=True, patience=p, halt=halt)
             for p in tuning.repair_patience]
    for rule in rules:
        ordered = [(1, *k) for k in rule_keys(c, rule)]
        tries.append(dispatch(c, ordered, repair=True, patience=None, halt=halt))
    return min(tries, key=lambda a: score(c, a))
