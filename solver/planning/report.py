"""The capacity report: per site, resource group and bucket, what is available and what
the allocation and the plan load, with the power against the cap, the product families'
shares, the bottleneck buckets and the orders late whatever the sequence.

`capacity_report(problem, schedule=None, bucket="week")` is pure: a checked problem and
optionally a schedule of it (SPEC section 3) in, a `Report` out (`Report.to_dict()` is
the JSON shape of docs/planning.md). Its parts:

- **Groups.** A site's resources that share kind and qualification (``products``) form
  one group; a resource without a kind (reached only through ``alternatives``) is a group
  of its own. Available minutes per bucket are capacity times the minutes of the
  resources' windows there (shifts, holidays, DST, downtime, ``24x7``).
- **The allocation's load** (`allocate`, the integer model, within `allocation_seconds`):
  the minutes the model's solution puts on each type of step per bucket (the work its
  capacity rows hold, `StepLoad`), split over the groups of the type's eligible
  resources by their capacity, and over the families by their share of the racks
  allocated to that type at the site. It is where the allocation needs the work, not a
  schedule; null when HiGHS found no allocation in the time (the report says why).
- **The plan's load**: the schedule's steps, minute by minute, in the buckets they run in.
- **Power**: per site and bucket the energy (kWh) the cap in force allows (`power_cap_kw`
  and `power_windows`; null in a bucket that is partly uncapped) against the energy of
  the steps running there.
- **Utilisation**: the plan's load (else the allocation's) over the available minutes;
  a bucket at or above `BOTTLENECK` is named a bottleneck.
- **Late whatever the sequence**: orders whose racks, each alone at its best site from
  its release, still deliver after the due date; the lateness that implies is a proven
  bound on the order's tardiness (rules 2, 3, 5, 6, 9).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from solver.compiled import Compiled, compile_problem, iso_minute
from solver.planning.allocate import Allocation, allocate
from solver.planning.bound import build, compile_for, model_grid
from solver.planning.grid import DAY, WEEK, Grid, bucket_minutes
from solver.planning.model import _cap_segments
from solver.planning.section6 import section6_of
from solver.planning.tables import capacity_minutes, span_minutes
from solver.problem import Problem

# a bucket whose utilisation reaches this share is named a bottleneck
BOTTLENECK = 0.9
# the most bottleneck buckets the report names (the most utilised first)
MAX_BOTTLENECKS = 50
# seconds the allocation's model (build and HiGHS) gets by default
ALLOCATION_SECONDS = 20.0


@dataclass
class Series:
    """Per-bucket figures of one row: available, the allocation's and the plan's load
    (None: not computed), and each load per product family."""

    available: list[float]
    allocated: list[float] | None
    planned: list[float] | None
    allocated_by_family: dict[str, list[float]] = field(default_factory=dict)
    planned_by_family: dict[str, list[float]] = field(default_factory=dict)

    def utilisation(self) -> list[float | None]:
        """The plan's load (else the allocation's) over the available, per bucket (None
        where nothing is available)."""
        load = self.planned if self.planned is not None else self.allocated
        if load is None:
            return [None] * len(self.available)
        return [None if a <= 0 else round(x / a, 4)
                for a, x in zip(self.available, load, strict=True)]


@dataclass
class Group:
    """One resource group of a site."""

    id: str
    kind: str | None
    products: list[str] | None
    resources: list[str]
    minutes: Series


@dataclass
class SiteReport:
    """One site: its groups and its power (energy in kWh; None: no cap at the site)."""

    id: str
    name: str | None
    groups: list[Group]
    power: Series | None


@dataclass
class Report:
    """The capacity report (`Report.to_dict` for its JSON shape)."""

    problem: str
    bucket: str
    bucket_minutes: int
    buckets: list[tuple[str, str]]  # per bucket, its first and its last-plus-one minute
    families: list[str]
    sites: list[SiteReport]
    bottlenecks: list[dict[str, Any]]
    late_orders: list[dict[str, Any]]
    allocation: dict[str, Any]
    plan: dict[str, Any] | None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (docs/planning.md)."""
        return {
            "problem": self.problem,
            "bucket": self.bucket,
            "bucket_minutes": self.bucket_minutes,
            "buckets": [{"index": i, "start": a, "end": z}
                        for i, (a, z) in enumerate(self.buckets)],
            "families": self.families,
            "sites": [_site_dict(s) for s in self.sites],
            "bottlenecks": self.bottlenecks,
            "late_orders": self.late_orders,
            "allocation": self.allocation,
            "plan": self.plan,
            "seconds": round(self.seconds, 3),
        }


def _series_dict(s: Series, unit: str) -> dict[str, Any]:
    def r(xs: list[float] | None) -> list[float] | None:
        return None if xs is None else [round(x, 1) for x in xs]

    return {
        f"available_{unit}": r(s.available),
        f"allocated_{unit}": r(s.allocated),
        f"planned_{unit}": r(s.planned),
        "utilisation": s.utilisation(),
        "by_family": {
            fam: {f"allocated_{unit}": r(s.allocated_by_family.get(fam)),
                  f"planned_{unit}": r(s.planned_by_family.get(fam))}
            for fam in sorted(set(s.allocated_by_family) | set(s.planned_by_family))
        },
    }


def _site_dict(s: SiteReport) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "groups": [{"id": g.id, "kind": g.kind, "products": g.products,
                    "resources": g.resources, **_series_dict(g.minutes, "min")}
                   for g in s.groups],
        "power": None if s.power is None else _series_dict(s.power, "kwh"),
    }


def family_of(problem: Problem, product: str) -> str:
    """A product's family (rack generation), or the product id when it names none."""
    fam = problem.product(product).family
    return fam if fam else product


def capacity_report(
    problem: Problem,
    schedule: dict[str, Any] | None = None,
    *,
    bucket: object = "week",
    allocation: bool = True,
    allocation_seconds: float = ALLOCATION_SECONDS,
    threads: int = 1,
) -> Report:
    """The capacity report of `problem` (and of `schedule`'s plan, when given).

    Parameters
    ----------
    problem
        A checked problem (`solver.problem.load_problem`).
    schedule
        A schedule of `problem` (SPEC section 3), already validated by the caller; its
        items give the plan's load.
    bucket
        ``"day"``, ``"week"`` or a whole number of minutes.
    allocation
        Whether to run the allocation (`allocate`) for its load; the orders late
        whatever the sequence come from its model's floors either way.
    allocation_seconds
        The allocation's time limit (its model's build and HiGHS).
    threads
        HiGHS threads.

    Raises
    ------
    ProblemError
        When `bucket` is not day, week or a whole number of minutes (the message names
        the field), or the problem does not compile.
    """
    t0 = time.perf_counter()
    length = bucket_minutes(bucket)
    name = {DAY: "day", WEEK: "week"}.get(length, f"{length} min")
    items = list((schedule or {}).get("items") or [])
    c = compile_for(problem, length)
    grid = model_grid(c, length)
    plan_end = max((int(it["end_min"]) for it in items), default=0)
    if plan_end > grid.end:
        n = math.ceil(plan_end / length)
        longest = max((m.duration for ms in c.op_modes for m in ms), default=0)
        if n * length + longest > c.horizon:
            c = compile_problem(problem, n * length + longest)
        grid = Grid(length, n)
    groups, res_group = _groups(c)
    families = sorted({family_of(problem, p.id) for p in problem.products})
    n = grid.n
    avail: dict[str, list[float]] = {g: [0.0] * n for g in groups}
    for r, g in enumerate(res_group):
        for b, x in enumerate(capacity_minutes(c, grid, r)):
            avail[g][b] += x

    alloc_info: dict[str, Any]
    alloc_load: dict[str, dict[str, list[float]]] | None = None
    alloc_power: dict[str, dict[str, list[float]]] | None = None
    late: dict[str, int] = {}
    if allocation:
        got = allocate(c, bucket=length, time_limit=allocation_seconds, threads=threads)
        late = got.floors
        alloc_info = _allocation_info(got)
        if got.orders:
            alloc_load, alloc_power = _allocation_load(c, grid, got, res_group)
    else:
        alloc_info = {"status": "not run", "reasons": ["the allocation was not asked for"]}
        late = _floors(c, length)
    plan_load, plan_power = (_plan_load(c, grid, items, families) if schedule is not None
                             else (None, None))

    s6 = section6_of(problem)
    sites: list[SiteReport] = []
    for s, site in enumerate(problem.sites):
        gs = []
        for gid, (si, kind, prods, members) in groups.items():
            if si != s:
                continue
            gs.append(Group(gid, kind, prods, members, _series(
                avail[gid], alloc_load, plan_load, gid, families, n)))
        windows = s6.power_windows.get(site.id, [])
        power = None
        if site.power_cap_kw is not None or windows:
            cap: list[float] = []
            for b in range(n):
                total = 0.0
                for level, mins in _cap_segments(grid, b, site.power_cap_kw, windows):
                    total = math.inf if level is None or math.isinf(total) else (
                        total + level * mins / 60)
                cap.append(total)
            power = _series(cap, alloc_power, plan_power, site.id, families, n)
        sites.append(SiteReport(site.id, site.name, gs, power))
    buckets = [(iso_minute(problem, grid.start(b)), iso_minute(problem, grid.start(b + 1)))
               for b in range(n)]
    report = Report(
        problem=problem.name, bucket=name, bucket_minutes=length, buckets=buckets,
        families=families, sites=sites,
        bottlenecks=_bottlenecks(sites, buckets, "plan" if schedule is not None
                                 else "allocation"),
        late_orders=_late_orders(problem, c, late),
        allocation=alloc_info,
        plan=None if schedule is None else {
            "status": schedule.get("status"),
            "objective_value": schedule.get("objective_value"),
            "lower_bound": schedule.get("lower_bound"),
            "items": len(items),
        },
    )
    report.seconds = time.perf_counter() - t0
    return report


def _groups(c: Compiled) -> tuple[dict[str, tuple[int, str | None, list[str] | None,
                                                  list[str]]], list[str]]:
    """Per group id: (site, kind, qualification, resource ids); per resource its group."""
    groups: dict[str, tuple[int, str | None, list[str] | None, list[str]]] = {}
    res_group: list[str] = []
    for r, res in enumerate(c.problem.resources):
        s = c.res_site[r]
        site = c.site_ids[s]
        prods = sorted(res.products) if res.products is not None else None
        if res.kind is None:
            gid = f"{site}/{res.id}"
        else:
            gid = f"{site}/{res.kind}" + (f" [{', '.join(prods)}]" if prods else "")
        if gid not in groups:
            groups[gid] = (s, res.kind, prods, [])
        groups[gid][3].append(res.id)
        res_group.append(gid)
    return groups, res_group


def _series(available: list[float], alloc: dict[str, dict[str, list[float]]] | None,
            plan: dict[str, dict[str, list[float]]] | None, key: str,
            families: list[str], n: int) -> Series:
    def total(by: dict[str, dict[str, list[float]]] | None) -> list[float] | None:
        if by is None:
            return None
        per = by.get(key, {})
        return [sum(per[f][b] for f in per) for b in range(n)]

    def split(by: dict[str, dict[str, list[float]]] | None) -> dict[str, list[float]]:
        per = (by or {}).get(key, {})
        return {f: per[f] for f in families if f in per and any(per[f])}

    return Series(available, total(alloc), total(plan), split(alloc), split(plan))


def _add(to: dict[str, dict[str, list[float]]], key: str, fam: str, n: int,
         spans: list[tuple[int, float]], factor: float) -> None:
    row = to.setdefault(key, {}).setdefault(fam, [0.0] * n)
    for b, mins in spans:
        if b < n:
            row[b] += mins * factor


def _plan_load(c: Compiled, grid: Grid, items: list[dict[str, Any]], families: list[str]
               ) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """The plan's minutes per group, family and bucket, and its energy per site."""
    p = c.problem
    _, res_group = _groups(c)
    group_of = dict(zip(c.res_ids, res_group, strict=True))
    power = {(prod.id, st.op): st.power_kw for prod in p.products for st in prod.routing}
    load: dict[str, dict[str, list[float]]] = {}
    energy: dict[str, dict[str, list[float]]] = {}
    n = grid.n
    for it in items:
        fam = family_of(p, it["product"])
        spans = span_minutes(grid, float(it["start_min"]), float(it["end_min"]))
        _add(load, group_of[it["group"]], fam, n, spans, 1.0)
        kw = power.get((it["product"], it["op"]), 0.0)
        if kw > 0:
            _add(energy, it["site"], fam, n, spans, kw / 60)
    return load, energy


def _allocation_load(
    c: Compiled, grid: Grid, got: Allocation, res_group: list[str]
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """The allocation model's minutes per group, family and bucket, and its energy per
    site (module docstring)."""
    n = grid.n
    res_index = {r: i for i, r in enumerate(c.res_ids)}
    load: dict[str, dict[str, list[float]]] = {}
    energy: dict[str, dict[str, list[float]]] = {}
    for st in got.load:
        weights: dict[str, float] = {}
        for r in st.resources:
            ri = res_index[r]
            weights[res_group[ri]] = weights.get(res_group[ri], 0.0) + c.res_cap[ri]
        total = sum(weights.values())
        families = st.families or {"": 1.0}
        spans = [(b, m) for b, m in enumerate(st.minutes[:n]) if m > 1e-9]
        for fam, share in families.items():
            for g, w in weights.items():
                _add(load, g, fam, n, spans, share * w / total)
            if st.power_kw > 0:
                _add(energy, st.site, fam, n, spans, share * st.power_kw / 60)
    return load, energy


def _allocation_info(got: Allocation) -> dict[str, Any]:
    return {
        "status": got.status,
        "tardiness": None if got.tardiness is None else round(got.tardiness, 1),
        "bound": None if got.bound is None else round(got.bound, 1),
        "rows": got.rows, "columns": got.columns, "integers": got.integers,
        "build_seconds": round(got.build_seconds, 3),
        "solve_seconds": round(got.solve_seconds, 3),
        "reasons": got.reasons,
        "orders": {o: [asdict(sp) for sp in plans] for o, plans in got.orders.items()},
    }


def _floors(c: Compiled, length: int) -> dict[str, int]:
    """The orders' proven floors without the allocation (the model built, not solved)."""
    model = build(c, bucket=length)
    return {c.order_ids[oi]: math.floor(f + 1e-9) for oi, f in enumerate(model.floors)
            if f >= 1}


def _late_orders(problem: Problem, c: Compiled, floors: dict[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_id = {o.id: o for o in problem.orders}
    for oid, minutes in floors.items():
        o = by_id[oid]
        oi = c.order_ids.index(oid)
        out.append({
            "id": oid, "customer": o.customer, "product": o.product,
            "family": family_of(problem, o.product), "quantity": o.quantity,
            "weight": o.weight, "due": iso_minute(problem, c.order_due[oi]),
            "earliest_delivery": iso_minute(problem, c.order_due[oi] + minutes),
            "tardiness_bound_min": minutes,
            "weighted_bound": round(o.weight * minutes, 3),
        })
    out.sort(key=lambda x: (-float(x["weighted_bound"]), str(x["id"])))
    return out


def _bottlenecks(sites: list[SiteReport], buckets: list[tuple[str, str]],
                 source: str) -> list[dict[str, Any]]:
    """Buckets at or above `BOTTLENECK` utilisation, the most utilised first."""
    found: list[dict[str, Any]] = []
    for site in sites:
        rows: list[tuple[str, str | None, Series]] = [
            (g.id, g.kind, g.minutes) for g in site.groups]
        if site.power is not None:
            rows.append(("power", "power", site.power))
        for gid, kind, series in rows:
            for b, u in enumerate(series.utilisation()):
                if u is not None and u >= BOTTLENECK:
                    found.append({"site": site.id, "group": gid, "kind": kind, "bucket": b,
                                  "start": buckets[b][0], "utilisation": u,
                                  "source": source})
    found.sort(key=lambda x: (-float(x["utilisation"]), int(x["bucket"]), str(x["site"]),
                              str(x["group"])))
    return found[:MAX_BOTTLENECKS]


__all__ = ["BOTTLENECK", "Report", "capacity_report", "family_of"]
