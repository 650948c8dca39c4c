"""The problem as dense integer arrays for the backends (dispatch, CP-SAT).

Ids and datetimes stop here: inside, sites, resources, orders, units and ops are indices,
times are whole minutes from `horizon_start`, weights and power are scaled integers.

A reschedule also compiles its reference schedule (`Reference`): the place of every step
in the plan the floor follows, and what moving a step away from it costs (`MoveCosts`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from solver.calendar import Interval, minutes_between, resource_windows
from solver.problem import Objective, Problem, ProblemError, Site, eligible, site_limit

DAY = 1440
INF_ROUTE = 1 << 40  # min_route of a site where some step cannot run


@dataclass(frozen=True, slots=True)
class Mode:
    """One way to run an op: on `resource` for `duration` minutes."""

    resource: int
    duration: int


# a mode with its start bounds: (resource, duration, first starts, last starts)
SiteMode = tuple[int, int, list[int], list[int]]


@dataclass
class Compiled:
    """Dense view of a `Problem` over the planning horizon `[0, horizon)` minutes."""

    problem: Problem
    horizon: int
    objective: Objective
    exact: bool  # weights and power are exact in integers (else OPTIMAL is never claimed)
    site_ids: list[str]
    site_cap: list[int | None]
    power_scale: int
    res_ids: list[str]
    res_site: list[int]
    res_cap: list[int]
    res_windows: list[list[Interval]]
    order_ids: list[str]
    order_due: list[int]
    order_release: list[int]
    order_weight: list[int]
    weight_scale: int
    order_transit: list[dict[int, int]]
    order_units: list[list[int]]
    unit_order: list[int]
    unit_no: list[int]
    unit_ops: list[list[int]]
    unit_sites: list[list[int]]
    op_unit: list[int]
    op_name: list[str]
    op_power: list[int]
    op_modes: list[list[Mode]]
    op_fixed: list[tuple[int, int, int] | None]
    # SPEC section 6. Power windows: `site_cap` is the highest cap ever in force at the
    # site (None: never capped), and `site_dips` per site the stretches [a, b) where the
    # cap in force is lower, by how much (sorted, apart; whole minutes, the least cap of
    # each minute). Quotas: per order its customer's quota group (-1: none), and per
    # group the most of its units one site may build (rule 10) and its customer.
    site_dips: list[list[tuple[int, int, int]]] = field(default_factory=list)
    order_quota: list[int] = field(default_factory=list)
    quota_limit: list[int] = field(default_factory=list)
    quota_customer: list[str] = field(default_factory=list)
    # a schedule to stay close to (a reschedule): moving a step away from it costs
    reference: Reference | None = None
    _starts: dict[tuple[int, int], list[Interval]] = field(default_factory=dict)
    _bounds: dict[tuple[int, int], tuple[list[int], list[int]]] = field(default_factory=dict)
    _routes: dict[tuple[int, int], tuple[int, list[int]]] = field(default_factory=dict)
    _min_dur: list[int] = field(default_factory=list)
    _op_pos: list[int] = field(default_factory=list)
    _unit_starts: tuple[list[int], list[int]] | None = None
    _site_modes: list[list[list[SiteMode]]] = field(default_factory=list)
    _route_class: list[int] = field(default_factory=list)

    @property
    def n_ops(self) -> int:
        return len(self.op_unit)

    def start_intervals(self, resource: int, duration: int) -> list[Interval]:
        """Closed intervals [a, b] of feasible starts of a `duration` step on `resource`."""
        key = (resource, duration)
        got = self._starts.get(key)
        if got is None:
            got = [(a, b - duration) for a, b in self.res_windows[resource] if b - a >= duration]
            self._starts[key] = got
        return got

    def start_bounds(self, resource: int, duration: int) -> tuple[list[int], list[int]]:
        """`start_intervals` as two lists, their first and their last starts."""
        key = (resource, duration)
        got = self._bounds.get(key)
        if got is None:
            ivs = self.start_intervals(resource, duration)
            got = self._bounds[key] = ([a for a, _ in ivs], [b for _, b in ivs])
        return got

    def op_positions(self) -> list[int]:
        """Per op, its place in its unit's routing (0 for the first step)."""
        if not self._op_pos:
            pos = [0] * self.n_ops
            for ops in self.unit_ops:
                for j, o in enumerate(ops):
                    pos[o] = j
            self._op_pos.extend(pos)
        return self._op_pos

    def unit_starts(self) -> tuple[list[int], list[int]]:
        """Per unit, its first step to place (-1: all are fixed) and the site of its
        fixed steps (-1: none), built once."""
        if self._unit_starts is None:
            first = [-1] * len(self.unit_ops)
            site = [-1] * len(self.unit_ops)
            for u, ops in enumerate(self.unit_ops):
                for o in ops:
                    f = self.op_fixed[o]
                    if f is None:
                        if first[u] < 0:
                            first[u] = o
                    elif site[u] < 0:
                        site[u] = self.res_site[f[0]]
            self._unit_starts = (first, site)
        return self._unit_starts

    def site_modes(self) -> list[list[list[SiteMode]]]:
        """Per op and site, the op's modes there with their `start_bounds`:
        (resource, duration, first starts, last starts), built once."""
        if not self._site_modes:
            n_sites = len(self.site_ids)
            # ops with the same modes (the same step of an order's racks) share one table
            shared: dict[tuple[Mode, ...], list[list[SiteMode]]] = {}
            for modes in self.op_modes:
                key = tuple(modes)
                by_site = shared.get(key)
                if by_site is None:
                    by_site = shared[key] = [[] for _ in range(n_sites)]
                    for m in modes:
                        los, his = self.start_bounds(m.resource, m.duration)
                        by_site[self.res_site[m.resource]].append(
                            (m.resource, m.duration, los, his)
                        )
                self._site_modes.append(by_site)
        return self._site_modes

    def route_classes(self) -> list[int]:
        """Per unit, a number shared by exactly the units whose steps have the same modes
        and power and whose allowed sites are the same: units that would find the same
        places on the same timeline from the same ready time (an order's racks)."""
        if not self._route_class:
            ids: dict[tuple[object, ...], int] = {}
            for u, ops in enumerate(self.unit_ops):
                key = (
                    tuple(tuple(self.op_modes[o]) for o in ops),
                    tuple(self.op_power[o] for o in ops),
                    tuple(self.unit_sites[u]),
                )
                self._route_class.append(ids.setdefault(key, len(ids)))
        return self._route_class

    def res_min_duration(self, resource: int) -> int:
        """The shortest step any op can run on `resource` (INF_ROUTE if none)."""
        if not self._min_dur:
            md = [INF_ROUTE] * len(self.res_ids)
            for modes in self.op_modes:
                for m in modes:
                    md[m.resource] = min(md[m.resource], m.duration)
            self._min_dur.extend(md)
        return self._min_dur[resource]

    def min_route(self, unit: int, site: int) -> int:
        """The least total duration of the unit's steps at `site` (INF_ROUTE if one cannot
        run there): no routing there ends sooner after its first start."""
        return self._route(unit, site)[0]

    def route_rest(self, unit: int, site: int) -> list[int]:
        """Per step j of the unit, the least total duration of its steps after j at
        `site` (INF_ROUTE if one cannot run there): what follows step j's end at least."""
        return self._route(unit, site)[1]

    def _route(self, unit: int, site: int) -> tuple[int, list[int]]:
        """(`min_route`, `route_rest`) of the unit at `site`, computed once."""
        key = (unit, site)
        got = self._routes.get(key)
        if got is None:
            ops = self.unit_ops[unit]
            rest = [0] * len(ops)
            acc = 0
            for j in range(len(ops) - 1, -1, -1):
                rest[j] = acc
                ds = [m.duration for m in self.op_modes[ops[j]]
                      if self.res_site[m.resource] == site]
                acc += min(ds) if ds else INF_ROUTE
            got = self._routes[key] = (acc, rest)
        return got

    def earliest_start(self, resource: int, duration: int, t: int) -> int | None:
        """Earliest feasible start at or after `t` of a step on `resource`, if any."""
        ivs = self.start_intervals(resource, duration)
        i = bisect_right(ivs, (t, math.inf)) - 1
        if i >= 0 and ivs[i][1] >= t:
            return t
        i += 1
        return ivs[i][0] if i < len(ivs) else None

    def mode_site(self, m: Mode) -> int:
        return self.res_site[m.resource]


SCALES = (1, 10, 100, 1000, 10_000)


def _scale(values: list[float]) -> tuple[int, bool]:
    """The least power of ten that makes every value whole, and whether one does."""
    for s in SCALES:
        if all(abs(v * s - round(v * s)) < 1e-9 for v in values):
            return s, True
    return SCALES[-1], False


def default_horizon(problem: Problem) -> int:
    """A first planning horizon: last due/release plus four weeks (grown when needed)."""
    t0 = problem.horizon_start
    last = max(
        [minutes_between(t0, o.due) for o in problem.orders]
        + [minutes_between(t0, o.release) for o in problem.orders if o.release]
        + [minutes_between(t0, f.end) for f in problem.fixed]
        + [0]
    )
    return max(last, 0) + 28 * DAY


class Stopped(Exception):
    """The caller's `halt` asked the work to give up before it was done."""


def compile_problem(
    problem: Problem, horizon: int | None = None,
    reference: Mapping[str, Any] | None = None, move_costs: MoveCosts | None = None,
    halt: Callable[[], bool] | None = None,
) -> Compiled:
    """Build the dense view; raises `ProblemError` for steps that fit no window.

    `reference`: a SPEC section 3 schedule to stay close to (a reschedule), compiled with
    `move_costs` (the defaults when None) into `Compiled.reference`. `halt`: polled every
    few hundred orders; True raises `Stopped`.
    """
    t0 = problem.horizon_start
    H = horizon if horizon is not None else default_horizon(problem)
    site_ids = [s.id for s in problem.sites]
    site_ix = {s: i for i, s in enumerate(site_ids)}
    sites = {s.id: s for s in problem.sites}

    powers = [st.power_kw for p in problem.products for st in p.routing]
    caps = [s.power_cap_kw for s in problem.sites if s.power_cap_kw is not None]
    caps += [w.power_cap_kw for s in problem.sites for w in s.power_windows or []]
    pscale, p_exact = _scale(powers + caps)
    site_cap = [
        None if s.power_cap_kw is None else math.floor(s.power_cap_kw * pscale + 1e-9)
        for s in problem.sites
    ]
    site_dips: list[list[tuple[int, int, int]]] = [[] for _ in problem.sites]
    if any(s.power_windows for s in problem.sites):
        products_by_id = {p.id: p for p in problem.products}
        # more than every step together draws: a cap that never binds
        ample = 1 + sum(
            o.quantity * sum(math.ceil(st.power_kw * pscale - 1e-9)
                             for st in products_by_id[o.product].routing)
            for o in problem.orders if o.product in products_by_id
        )
        for i, site in enumerate(problem.sites):
            if site.power_windows:
                site_cap[i], site_dips[i] = _power_dips(site, t0, pscale, ample)

    res_ids = [r.id for r in problem.resources]
    res_ix = {r: i for i, r in enumerate(res_ids)}
    cache: dict[str, list[Interval]] = {}
    res_windows = [
        resource_windows(r, sites[r.site], t0, H, cache) for r in problem.resources
    ]
    max_window = [max((b - a for a, b in w), default=0) for w in res_windows]

    wscale, w_exact = _scale([o.weight for o in problem.orders])
    products = {p.id: p for p in problem.products}
    fixed = {(f.order, f.unit, f.op): f for f in problem.fixed}

    c = Compiled(
        problem=problem, horizon=H, objective=problem.objective,
        exact=p_exact and w_exact, site_ids=site_ids, site_cap=site_cap, power_scale=pscale,
        res_ids=res_ids, res_site=[site_ix[r.site] for r in problem.resources],
        res_cap=[r.capacity for r in problem.resources], res_windows=res_windows,
        order_ids=[], order_due=[], order_release=[], order_weight=[], weight_scale=wscale,
        order_transit=[], order_units=[], unit_order=[], unit_no=[], unit_ops=[],
        unit_sites=[], op_unit=[], op_name=[], op_power=[], op_modes=[], op_fixed=[],
        site_dips=site_dips,
    )
    _compile_quotas(c)
    errors: list[str] = []
    for oi, o in enumerate(problem.orders):
        if halt is not None and oi % 256 == 255 and halt():
            raise Stopped
        prod = products[o.product]
        allowed = o.allowed_sites if o.allowed_sites is not None else site_ids
        c.order_ids.append(o.id)
        c.order_due.append(minutes_between(t0, o.due))
        c.order_release.append(max(0, -minutes_between(o.release, t0)) if o.release else 0)
        c.order_weight.append(max(1, round(o.weight * wscale)))
        c.order_transit.append(
            {site_ix[s]: (sites[s].transit_min[o.destination] if o.destination else 0)
             for s in allowed}
        )
        # modes per step, restricted to allowed sites and to resources with a long enough window
        step_modes: list[list[Mode]] = []
        n_err = len(errors)
        for st in prod.routing:
            modes = [
                Mode(res_ix[r.id], d) for r, d in eligible(problem, prod, st)
                if r.site in allowed and max_window[res_ix[r.id]] >= d
            ]
            if not modes and any(r.site in allowed for r, _ in eligible(problem, prod, st)):
                errors.append(
                    f"order '{o.id}': step '{st.op}' of product '{prod.id}' is longer than "
                    "every available window of every eligible resource"
                )
            step_modes.append(modes)
        power = [math.ceil(st.power_kw * pscale - 1e-9) for st in prod.routing]
        common = [
            s for s in (site_ix[x] for x in allowed)
            if all(any(c.res_site[m.resource] == s for m in ms) for ms in step_modes)
            and all(site_cap[s] is None or p <= (site_cap[s] or 0) for p in power)
        ]
        c.order_units.append([])
        for u in range(1, o.quantity + 1):
            ui = len(c.unit_order)
            c.order_units[oi].append(ui)
            c.unit_order.append(oi)
            c.unit_no.append(u)
            fixed_here = [fixed.get((o.id, u, st.op)) for st in prod.routing]
            usites = common
            pinned = {sites[problem.resources[res_ix[f.resource]].site].id
                      for f in fixed_here if f is not None}
            if pinned:
                usites = [site_ix[s] for s in pinned]
            c.unit_sites.append(usites)
            ops = []
            for j, st in enumerate(prod.routing):
                oix = len(c.op_unit)
                ops.append(oix)
                c.op_unit.append(ui)
                c.op_name.append(st.op)
                c.op_power.append(power[j])
                f = fixed_here[j]
                if f is not None:
                    r = res_ix[f.resource]
                    s, e = minutes_between(t0, f.start), minutes_between(t0, f.end)
                    c.op_fixed.append((r, s, e))
                    c.op_modes.append([Mode(r, e - s)])
                else:
                    c.op_fixed.append(None)
                    c.op_modes.append(
                        [m for m in step_modes[j] if c.res_site[m.resource] in usites]
                    )
            c.unit_ops.append(ops)
        if not common and len(errors) == n_err:
            errors.append(
                f"order '{o.id}': no allowed site has a window long enough for every step "
                f"of product '{prod.id}'"
            )
    if errors:
        raise ProblemError(errors)
    if reference is not None:
        c.reference = compile_reference(c, reference, move_costs or MoveCosts())
    return c


FAR = 1 << 50
"""Minutes beyond any schedule, either way: the ends of a cap that holds for all time."""


def _power_dips(
    site: Site, t0: datetime, scale: int, ample: int
) -> tuple[int, list[tuple[int, int, int]]]:
    """A site's power windows in whole minutes: (the highest cap in force, the stretches
    where the cap is lower, by how much). The cap of a minute is the least in force at any
    instant of it (a window starting or ending within a minute holds for all of it when
    lower); no cap at all counts as `ample`."""

    def kw(cap: float | None) -> int:
        return ample if cap is None else math.floor(cap * scale + 1e-9)

    base = kw(site.power_cap_kw)
    wins = sorted(
        ((w.start - t0).total_seconds() / 60, (w.end - t0).total_seconds() / 60,
         kw(w.power_cap_kw))
        for w in site.power_windows or []
    )
    # the cap in force as pieces [a, b) of real minutes covering all time
    pieces: list[tuple[float, float, int]] = []
    t = float(-FAR)
    for a, b, cap in wins:
        if a > t:
            pieces.append((t, a, base))
        pieces.append((a, b, cap))
        t = b
    pieces.append((t, float(FAR), base))
    per_minute: dict[int, int] = {}  # the minutes a piece starts or ends within
    whole: list[tuple[int, int, int]] = []
    for a, b, cap in pieces:
        lo, hi = math.ceil(a), math.floor(b)
        if lo < hi:
            whole.append((lo, hi, cap))
        for m, cut in ((lo - 1, a < lo), (hi, b > hi)):
            if cut:
                per_minute[m] = min(per_minute.get(m, cap), cap)
    segs = sorted(whole + [(m, m + 1, cap) for m, cap in per_minute.items()])
    peak = max(cap for _, _, cap in segs)
    dips: list[tuple[int, int, int]] = []
    for lo, hi, cap in segs:
        if cap < peak:
            if dips and dips[-1][1] == lo and dips[-1][2] == peak - cap:
                dips[-1] = (dips[-1][0], hi, peak - cap)
            else:
                dips.append((lo, hi, peak - cap))
    return peak, dips


def _compile_quotas(c: Compiled) -> None:
    """Rule 10 on the dense view: a quota group per customer with a quota in force."""
    pol = c.problem.policies
    c.order_quota = [-1] * len(c.problem.orders)
    if pol is None:
        return
    groups: dict[str, int] = {}
    units: list[int] = []
    for oi, o in enumerate(c.problem.orders):
        if pol.share(o.customer) is None:
            continue
        assert o.customer is not None
        g = groups.setdefault(o.customer, len(groups))
        if g == len(units):
            units.append(0)
        units[g] += o.quantity
        c.order_quota[oi] = g
    c.quota_customer = list(groups)
    c.quota_limit = [
        site_limit(pol.share(cust) or 1.0, units[g]) for cust, g in groups.items()
    ]


def iso_minute(problem: Problem, minute: int) -> str:
    """UTC ISO time of `minute` from the problem's horizon_start, written with a Z."""
    t = problem.horizon_start + timedelta(minutes=minute)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_datetime_str(c: Compiled, minute: int) -> str:
    """UTC ISO time of `minute` from horizon_start, written with a Z."""
    return iso_minute(c.problem, minute)


# ---- the reference schedule (a reschedule) --------------------------------------------------

#: objective units per minute of the primary figure (weighted tardiness or makespan)
UNIT = 60


@dataclass(frozen=True)
class MoveCosts:
    """What moving one step away from the reference costs, in minutes of the primary
    objective (weighted tardiness, or makespan for objective `makespan`).

    A free step that is not where the reference had it costs `site` when its unit moved
    to another site, else `resource` when it moved to another resource of the same site,
    else `time` when it starts at another time on the same resource; plus `per_hour` for
    each hour its start moved, a started hour counting whole. Hours, not minutes: priced
    per minute, CP-SAT improves a shifted step one minute at a time. Steps that are facts
    (fixed: done, running or frozen) never count. The search minimises
    ``UNIT * primary + moves`` in integers. Where the defaults come from: docs/tuning.md.
    """

    site: float = 12.0
    resource: float = 3.0
    time: float = 1.5
    per_hour: float = 0.1

    def __post_init__(self) -> None:
        for name in ("site", "resource", "time", "per_hour"):
            if getattr(self, name) < 0:
                raise ValueError(f"move cost '{name}' must not be negative")


@dataclass
class Reference:
    """The reference schedule over the compiled ops, and the move costs in objective units.

    `res[o]` is -1 for an op the reference does not place (a new order or unit, or a
    fixed step)."""

    res: list[int]
    start: list[int]
    site_cost: int
    res_cost: int
    time_cost: int
    hour_cost: int  # per started hour of start shift

    def placed(self, o: int) -> bool:
        return self.res[o] >= 0

    def op_cost(self, c: Compiled, o: int, r: int, s: int) -> int:
        """The cost of op `o` running on `r` from `s` (0 when it is where it was)."""
        rr = self.res[o]
        if rr < 0:
            return 0
        rs = self.start[o]
        if c.res_site[r] != c.res_site[rr]:
            kind = self.site_cost
        elif r != rr:
            kind = self.res_cost
        elif s != rs:
            kind = self.time_cost
        else:
            return 0
        return kind + self.hour_cost * hours(abs(s - rs))


def hours(minutes: int) -> int:
    """Started hours in `minutes` (>= 0): what a shift of the start is priced by."""
    return -(-minutes // 60)


def compile_reference(c: Compiled, schedule: Mapping[str, Any], costs: MoveCosts) -> Reference:
    """The reference's steps as op indices of `c`, matched by (order, unit, op).

    Steps of orders, units or ops the problem no longer has, on resources it no longer
    has, or on resources that may not run them any more are left out: they must move
    anyway. Times are read as absolute instants, so the reference may have another
    `horizon_start`."""
    n = c.n_ops
    res = [-1] * n
    start = [0] * n
    order_ix = {oid: i for i, oid in enumerate(c.order_ids)}
    res_ix = {rid: i for i, rid in enumerate(c.res_ids)}
    t0 = c.problem.horizon_start
    for item in schedule.get("items") or []:
        oi = order_ix.get(str(item.get("order")))
        r = res_ix.get(str(item.get("group")))
        if oi is None or r is None:
            continue
        unit = item.get("unit")
        units = c.order_units[oi]
        if not isinstance(unit, int) or not 1 <= unit <= len(units):
            continue
        u = units[unit - 1]
        o = next((x for x in c.unit_ops[u] if c.op_name[x] == item.get("op")), None)
        if o is None or c.op_fixed[o] is not None:
            continue
        if all(m.resource != r for m in c.op_modes[o]):
            continue
        try:
            when = datetime.fromisoformat(str(item["start"]))
        except (KeyError, ValueError):
            continue
        if when.tzinfo is None:
            continue
        res[o] = r
        start[o] = minutes_between(t0, when)
    scale = UNIT * (c.weight_scale if c.objective == Objective.TARDINESS else 1)
    return Reference(
        res=res, start=start,
        site_cost=round(costs.site * scale), res_cost=round(costs.resource * scale),
        time_cost=round(costs.time * scale), hour_cost=round(costs.per_hour * scale),
    )
