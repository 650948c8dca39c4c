"""A brute-force optimum for tiny problems: the test suite's independent oracle.

It shares nothing with the solver but the input contract (`solver.problem`): calendars,
capacity, power and the objective are worked out here again, in the simplest way.

Method: a depth-first search over every *list* of the free ops that keeps routing order
(every interleaving of the units), every mode (resource) of each op, and therefore every
site of each unit (the site of its first op's resource). Each list is turned into a
schedule by the serial schedule-generation scheme: in list order, each op starts at the
earliest time at or after its ready time (release, or its predecessor's end) at which it
lies inside one available window of its resource and keeps that resource's capacity and
its site's power cap, given the ops placed before it. Fixed steps are placed first,
exactly as given.

Why this finds the optimum for the regular objectives rackplan has (weighted tardiness
then makespan, or makespan then weighted tardiness; both only grow when a step ends later):

Let S be an optimal schedule. List its free ops by start time in S (ties in any order);
this list keeps routing order because every duration is at least one minute, and use in
each op S's mode. Let T be the schedule the scheme builds from that list. By induction
over the list, every op starts in T no later than in S: when op k is placed, its ready
time in T is at most its ready time in S (its predecessor ends no later, or is the same
fixed step); every op j placed before k started in S at or before S_k, and starts in T
at or before S_j, so with its fixed duration it occupies in T at most the part of
[S_k, infinity) it occupied in S - on its resource and at its site alike - while the
fixed steps are where they are in both. Hence at time S_k the resource has the capacity
and the site the power that k needs for its whole duration (as in S), the window of the
calendar is the same, and the scheme places k at S_k or earlier. (A free op that must
end before a fixed step of its unit ends in T no later than in S, so it still does.)
Every op of T then ends no later than in S, so T is no worse than S for a regular
objective: T is optimal too. Windows and downtime change nothing in this argument, which
is why the scheme stays exact with calendars, where the classic "active schedule"
reasoning is usually stated without them.

SPEC section 6 changes nothing either. A power window makes the cap a function of time,
the same in S and T, so at S_k the site still has the power k needs (the earliest-start
search also tries the instants where the cap in force changes). A quota limits how many
of a customer's units each site builds: T puts every unit at S's site (the modes are S's),
so T keeps the quotas whenever S does, and the search, which skips a site once it holds
its limit of the customer's units, never drops T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from solver.problem import DAYS, Objective, Problem, eligible

Key = tuple[Fraction, int]
"""(primary, secondary) figure of a schedule, compared lexicographically."""


def _minutes(t0: datetime, t: datetime) -> Fraction:
    return Fraction(int((t - t0).total_seconds() * 1_000_000), 60_000_000)


def _wall(d: date, hhmm: str, tz: ZoneInfo) -> datetime:
    """Local wall time `hhmm` of date `d` (24:00 is the next midnight), fold=0."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(d + timedelta(days=h // 24), time(h % 24, m), tzinfo=tz)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _minus(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = spans
    for ha, hb in holes:
        nxt: list[tuple[int, int]] = []
        for a, b in out:
            if hb <= a or ha >= b:
                nxt.append((a, b))
                continue
            if a < ha:
                nxt.append((a, ha))
            if hb < b:
                nxt.append((hb, b))
        out = nxt
    return out


def windows(problem: Problem, horizon: int) -> dict[str, list[tuple[int, int]]]:
    """Available windows of each resource in whole minutes from horizon_start, up to `horizon`.

    Shift occurrences belong to the local date they start on; a holiday removes them (or,
    without shifts, the whole local day); touching periods merge; downtime is cut out,
    rounded outward; a 24x7 resource keeps only its downtime.
    """
    t0 = problem.horizon_start
    site_open: dict[str, list[tuple[int, int]]] = {}
    for site in problem.sites:
        tz = ZoneInfo(site.timezone)
        first = t0.astimezone(tz).date() - timedelta(days=2)
        last = (t0 + timedelta(minutes=horizon)).astimezone(tz).date() + timedelta(days=1)
        spans: list[tuple[int, int]] = []
        d = first
        while d <= last:
            if d not in site.holidays:
                if not site.shifts:
                    a, b = _wall(d, "00:00", tz), _wall(d, "24:00", tz)
                    spans.append((math.ceil(_minutes(t0, a)), math.floor(_minutes(t0, b))))
                for sh in site.shifts:
                    if DAYS[d.weekday()] not in sh.days:
                        continue
                    a = _wall(d, sh.start, tz)
                    end_day = d if sh.end == "24:00" or sh.end > sh.start else d + timedelta(1)
                    b = _wall(end_day, sh.end, tz)
                    spans.append((math.ceil(_minutes(t0, a)), math.floor(_minutes(t0, b))))
            d += timedelta(days=1)
        site_open[site.id] = _union(spans)
    out: dict[str, list[tuple[int, int]]] = {}
    for r in problem.resources:
        base = [(0, horizon)] if r.calendar == "24x7" else site_open[r.site]
        holes = [
            (math.floor(_minutes(t0, w.start)), math.ceil(_minutes(t0, w.end)))
            for w in r.downtime
        ]
        out[r.id] = [(a, min(b, horizon)) for a, b in _minus(base, holes) if a < horizon]
    return out


@dataclass
class _Op:
    unit: int  # index into units
    index: int  # position in the routing
    power: Fraction
    modes: list[tuple[str, str, int]]  # (resource id, site id, duration)
    fixed: tuple[str, int, int] | None  # (resource id, start, end)


@dataclass
class _Unit:
    order: int
    ops: list[_Op]
    release: int
    sites: set[str]


class BruteForce:
    """Exhaustive search for the optimum of a tiny problem (a handful of ops)."""

    def __init__(self, problem: Problem, horizon_days: int = 60) -> None:
        self.p = problem
        t0 = problem.horizon_start
        last = max(
            [_minutes(t0, o.due) for o in problem.orders]
            + [_minutes(t0, o.release) for o in problem.orders if o.release is not None]
            + [_minutes(t0, f.end) for f in problem.fixed]
            + [Fraction(0)]
        )
        self.horizon = math.ceil(last) + horizon_days * 1440
        self.win = windows(problem, self.horizon)
        self.res = {r.id: r for r in problem.resources}
        self.site_cap = {
            s.id: None if s.power_cap_kw is None else Fraction(str(s.power_cap_kw))
            for s in problem.sites
        }
        # SPEC section 6: each site's power windows [start, end, cap] in minutes
        self.power_windows = {
            s.id: [(_minutes(t0, w.start), _minutes(t0, w.end), Fraction(str(w.power_cap_kw)))
                   for w in s.power_windows or []]
            for s in problem.sites
        }
        # rule 10: per order its customer's limit per site (None: no quota)
        pol = problem.policies
        units_of: dict[str, int] = {}
        for o in problem.orders:
            if o.customer is not None:
                units_of[o.customer] = units_of.get(o.customer, 0) + o.quantity
        self.customer: list[str | None] = []
        self.limit: list[int | None] = []
        for o in problem.orders:
            share = pol.share(o.customer) if pol is not None else None
            self.customer.append(o.customer if share is not None else None)
            self.limit.append(
                None if share is None or o.customer is None
                else math.ceil(Fraction(str(share)) * units_of[o.customer])
            )
        products = {x.id: x for x in problem.products}
        fixed = {(f.order, f.unit, f.op): f for f in problem.fixed}
        all_sites = [s.id for s in problem.sites]
        self.units: list[_Unit] = []
        self.due: list[int] = []
        self.weight: list[Fraction] = []
        self.transit: list[dict[str, int]] = []
        for oi, o in enumerate(problem.orders):
            prod = products[o.product]
            allowed = set(o.allowed_sites if o.allowed_sites is not None else all_sites)
            self.due.append(math.floor(_minutes(t0, o.due)))
            self.weight.append(Fraction(str(o.weight)))
            self.transit.append({
                s.id: (s.transit_min[o.destination] if o.destination else 0)
                for s in problem.sites if s.id in allowed
            })
            release = max(0, math.ceil(_minutes(t0, o.release))) if o.release else 0
            for u in range(1, o.quantity + 1):
                unit = _Unit(oi, [], release, set(allowed))
                for j, st in enumerate(prod.routing):
                    modes = [(r.id, r.site, d) for r, d in eligible(problem, prod, st)
                             if r.site in allowed]
                    f = fixed.get((o.id, u, st.op))
                    fx = None
                    if f is not None:
                        fx = (f.resource, math.floor(_minutes(t0, f.start)),
                              math.floor(_minutes(t0, f.end)))
                        unit.sites &= {self.res[f.resource].site}
                    unit.ops.append(_Op(len(self.units), j, Fraction(str(st.power_kw)),
                                        modes, fx))
                self.units.append(unit)
        self.best: Key | None = None
        self.leaves = 0

    # ---- the schedule-generation scheme ----------------------------------------------

    def _earliest(
        self, op: _Op, res: str, site: str, dur: int, ready: int,
        on_res: dict[str, list[tuple[int, int]]],
        on_site: dict[str, list[tuple[int, int, Fraction]]],
    ) -> int | None:
        """Earliest start >= ready inside a window, within capacity and power."""
        cap = self.res[res].capacity
        wins = self.power_windows[site]
        capped = op.power > 0 and (self.site_cap[site] is not None or bool(wins))
        busy = on_res.get(res, [])
        drawn = on_site.get(site, []) if capped else []
        # where the cap in force changes (power windows): a start may wait for one
        edges = [x for a, b, _ in wins for x in (a, b)] if capped else []
        cands = {ready}
        cands.update(a for a, _ in self.win[res] if a > ready)
        cands.update(e for _, e in busy if e > ready)
        cands.update(e for _, e, _ in drawn if e > ready)
        cands.update(math.ceil(x) for x in edges if x > ready)
        for t in sorted(cands):
            end = t + dur
            if not any(a <= t and end <= b for a, b in self.win[res]):
                continue
            points: list[int | Fraction] = [t]
            points += [s for s, _ in busy if t < s < end]
            points += [s for s, _, _ in drawn if t < s < end]
            if any(sum(1 for s, e in busy if s <= x < e) >= cap for x in points):
                continue
            points += [x for x in edges if t < x < end]
            if capped and any(
                (pcap := self._cap_at(site, x)) is not None
                and sum((p for s, e, p in drawn if s <= x < e), Fraction(0)) + op.power > pcap
                for x in points
            ):
                continue
            return t
        return None

    def _cap_at(self, site: str, x: Fraction | int) -> Fraction | None:
        """The site's power cap in force at instant `x` (None: none)."""
        for a, b, cap in self.power_windows[site]:
            if a <= x < b:
                return cap
        return self.site_cap[site]

    def _quota_full(self, ui: int, site: str, site_of: list[str | None]) -> bool:
        """Rule 10: whether `site` has as many of the unit's customer's units as it may."""
        oi = self.units[ui].order
        cust, limit = self.customer[oi], self.limit[oi]
        if cust is None or limit is None:
            return False
        n = sum(1 for uj, s in enumerate(site_of)
                if s == site and self.customer[self.units[uj].order] == cust)
        return n >= limit

    def _key(self, ends: dict[tuple[int, int], tuple[int, str]]) -> Key:
        late: dict[int, int] = {}
        makespan = max((e for e, _ in ends.values()), default=0)
        for ui, unit in enumerate(self.units):
            end, site = ends[ui, len(unit.ops) - 1]
            delivery = end + self.transit[unit.order][site]
            late[unit.order] = max(late.get(unit.order, 0), delivery - self.due[unit.order])
        wt = sum((self.weight[o] * max(0, v) for o, v in late.items()), Fraction(0))
        if self.p.objective == Objective.MAKESPAN:
            return (Fraction(makespan), int(wt * 1_000_000))
        return (wt, makespan)

    def _bound(self, nxt: list[int], ends: dict[tuple[int, int], tuple[int, str]],
               site_of: list[str | None]) -> Key:
        """A lexicographic lower bound on every completion of a partial schedule."""
        late: dict[int, int] = {}
        makespan = max((e for e, _ in ends.values()), default=0)
        for ui, unit in enumerate(self.units):
            j = nxt[ui]
            t = ends[ui, j - 1][0] if j > 0 else unit.release
            for op in unit.ops[j:]:
                t = op.fixed[2] if op.fixed else t + min((d for *_, d in op.modes), default=0)
            makespan = max(makespan, t)
            sites = [site_of[ui]] if site_of[ui] else list(self.transit[unit.order])
            tr = min((self.transit[unit.order][s] for s in sites if s is not None), default=0)
            late[unit.order] = max(late.get(unit.order, 0), t + tr - self.due[unit.order])
        wt = sum((self.weight[o] * max(0, v) for o, v in late.items()), Fraction(0))
        if self.p.objective == Objective.MAKESPAN:
            return (Fraction(makespan), 0)
        return (wt, makespan)

    def _search(
        self, nxt: list[int], ends: dict[tuple[int, int], tuple[int, str]],
        site_of: list[str | None], on_res: dict[str, list[tuple[int, int]]],
        on_site: dict[str, list[tuple[int, int, Fraction]]],
    ) -> None:
        if all(nxt[u] == len(unit.ops) for u, unit in enumerate(self.units)):
            self.leaves += 1
            key = self._key(ends)
            if self.best is None or key < self.best:
                self.best = key
            return
        if self.best is not None and self._bound(nxt, ends, site_of) >= self.best:
            return
        for ui, unit in enumerate(self.units):
            j = nxt[ui]
            if j == len(unit.ops):
                continue
            op = unit.ops[j]
            ready = ends[ui, j - 1][0] if j > 0 else unit.release
            for res, site, dur in op.modes:
                if site not in unit.sites or site_of[ui] not in (None, site):
                    continue
                if site_of[ui] is None and self._quota_full(ui, site, site_of):
                    continue
                start = self._earliest(op, res, site, dur, ready, on_res, on_site)
                if start is None:
                    continue
                end = start + dur
                # steps fixed later in the routing come next: they must still fit
                k, t, ok = j + 1, end, True
                while k < len(unit.ops) and unit.ops[k].fixed is not None:
                    fx = unit.ops[k].fixed
                    assert fx is not None
                    ok = ok and fx[1] >= t
                    t = fx[2]
                    k += 1
                if not ok:
                    continue
                saved_site = site_of[ui]
                site_of[ui] = site
                nxt[ui] = k
                ends[ui, j] = (end, site)
                for kk in range(j + 1, k):
                    fx = unit.ops[kk].fixed
                    assert fx is not None
                    ends[ui, kk] = (fx[2], site)
                on_res.setdefault(res, []).append((start, end))
                if op.power > 0:
                    on_site.setdefault(site, []).append((start, end, op.power))
                self._search(nxt, ends, site_of, on_res, on_site)
                on_res[res].pop()
                if op.power > 0:
                    on_site[site].pop()
                for kk in range(j, k):
                    del ends[ui, kk]
                nxt[ui] = j
                site_of[ui] = saved_site

    def run(self) -> Key | None:
        """The optimal (primary, secondary) figures, or None when nothing fits."""
        on_res: dict[str, list[tuple[int, int]]] = {}
        on_site: dict[str, list[tuple[int, int, Fraction]]] = {}
        nxt = [0] * len(self.units)
        ends: dict[tuple[int, int], tuple[int, str]] = {}
        site_of: list[str | None] = [None] * len(self.units)
        for ui, unit in enumerate(self.units):
            for op in unit.ops:
                if op.fixed is None:
                    continue
                res, s, e = op.fixed
                site = self.res[res].site
                site_of[ui] = site
                on_res.setdefault(res, []).append((s, e))
                if op.power > 0:
                    on_site.setdefault(site, []).append((s, e, op.power))
            # a unit whose first steps are fixed starts after them
            k = 0
            while k < len(unit.ops) and unit.ops[k].fixed is not None:
                fx = unit.ops[k].fixed
                assert fx is not None
                if k > 0 and ends[ui, k - 1][0] > fx[1]:
                    return None
                ends[ui, k] = (fx[2], self.res[fx[0]].site)
                k += 1
            nxt[ui] = k
        if not self._fixed_fit(on_res, on_site):
            return None
        self._search(nxt, ends, site_of, on_res, on_site)
        return self.best

    def _fixed_fit(
        self, on_res: dict[str, list[tuple[int, int]]],
        on_site: dict[str, list[tuple[int, int, Fraction]]],
    ) -> bool:
        """The fixed steps alone keep every capacity and power cap (rules 7 and 8)."""
        for res, spans in on_res.items():
            cap = self.res[res].capacity
            if any(sum(1 for a, b in spans if a <= x < b) > cap for x, _ in spans):
                return False
        for site, drawn in on_site.items():
            pcap = self.site_cap[site]
            if pcap is not None and any(
                sum((p for a, b, p in drawn if a <= x < b), Fraction(0)) > pcap
                for x, _, _ in drawn
            ):
                return False
        return True


def brute_force(problem: Problem) -> Key | None:
    """The optimum of a tiny problem as (primary, secondary) figures, or None if infeasible.

    For objective ``tardiness`` the key is (total weighted tardiness, makespan); for
    ``makespan`` it is (makespan, weighted tardiness in millionths).
    """
    return BruteForce(problem).run()


def count_free_ops(problem: Problem) -> int:
    """How many steps of the problem are not fixed (the size brute force can afford)."""
    products = {x.id: x for x in problem.products}
    total = sum(o.quantity * len(products[o.product].routing) for o in problem.orders)
    return total - len(problem.fixed)


__all__: list[str] = ["BruteForce", "Key", "brute_force", "count_free_ops", "windows"]
