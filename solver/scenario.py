"""What-if scenarios: typed changes to a problem, and the comparison of solved variants.

A scenario is a base problem plus variants, each a list of typed changes (docs/scenarios.md):
``site_down``, ``resource_down``, ``resource_add``, ``resource_remove``, ``shifts``,
``power_cap``, ``duration``, ``order_add``, ``order_change``, ``order_cancel``, ``quota``.

- `load_changes(data)` parses a list of changes and raises `ChangeError` naming every
  fault at once (the change's index, its type and the field);
- `apply_changes(problem, changes)` gives the changed problem, checked like any problem:
  a change that names what the problem lacks, or that leaves a problem that does not
  check, is a `ChangeError` naming the change;
- `compare(base, variants)` sets solved variants beside the base: per variant the on-time
  orders, the weighted tardiness, the makespan, utilisation and power per site, the
  capacity report's bottlenecks (`solver.planning.report`, the plan's load), and per order
  the delivery change against the base.

Pure: no solve happens here (`solver.resilience` solves the variants).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from solver.planning.report import capacity_report
from solver.problem import (
    Id,
    Problem,
    ProblemError,
    Shift,
    Text,
    load_problem,
    text_message,
)

MAX_CHANGES = 200  # changes in one variant
MAX_COPIES = 50  # resources one resource_add adds
MAX_BOTTLENECKS = 5  # bottlenecks a comparison names per variant
PLAN_STATUSES = ("OPTIMAL", "FEASIBLE")


class ChangeError(ProblemError):
    """Bad changes; `faults` holds one ``{"index", "type", "field", "message"}`` per fault
    (index None: the list itself), `errors` the same as lines."""

    def __init__(self, faults: Sequence[Mapping[str, Any]]) -> None:
        self._faults = [dict(f) for f in faults]
        super().__init__(describe(f) for f in self._faults)

    @property
    def faults(self) -> list[dict[str, Any]]:
        """The faults, each naming the change's index, type and field."""
        return self._faults


def describe(fault: Mapping[str, Any]) -> str:
    """A fault as one line: ``changes[2] (order_change).due: message``."""
    where = "changes"
    if fault.get("index") is not None:
        where += f"[{fault['index']}]"
        if fault.get("type"):
            where += f" ({fault['type']})"
    if fault.get("field"):
        where += f".{fault['field']}"
    return f"{where}: {fault['message']}"


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteDown(_Change):
    """Every resource of `site` unavailable within ``[start, end)``."""

    type: Literal["site_down"]
    site: Id
    start: AwareDatetime
    end: AwareDatetime


class ResourceDown(_Change):
    """`resource` unavailable within ``[start, end)``."""

    type: Literal["resource_down"]
    resource: Id
    start: AwareDatetime
    end: AwareDatetime


class ResourceAdd(_Change):
    """`count` copies of the resource `like` (at `site`, default its own), listed beside
    it wherever a step names it among its alternatives; ids ``<like>+<n>``."""

    type: Literal["resource_add"]
    like: Id
    count: Annotated[int, Field(ge=1, le=MAX_COPIES)] = 1
    site: Id | None = None


class ResourceRemove(_Change):
    """`resource` gone (and from the steps' alternatives)."""

    type: Literal["resource_remove"]
    resource: Id


class Shifts(_Change):
    """`site`'s weekly shifts replaced (an empty list: open around the clock)."""

    type: Literal["shifts"]
    site: Id
    shifts: list[Shift]


class PowerCap(_Change):
    """`site`'s power cap: without `start` and `end` the cap itself; with either, a power
    window (SPEC section 6) from `start` (default horizon_start) to `end` (default: a year
    after the latest due date) that replaces the windows it overlaps."""

    type: Literal["power_cap"]
    site: Id
    power_cap_kw: Annotated[float, Field(gt=0, le=10_000_000.0, allow_inf_nan=False)]
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class Duration(_Change):
    """`op` of `product` takes `factor` times as long (rounded, at least a minute) or
    `minutes` (on every resource that runs it). With `start` or `end`: only for the units
    of the product's orders released (release, default horizon_start) within
    ``[start, end)`` (docs/spec-notes.md)."""

    type: Literal["duration"]
    product: Id
    op: Id
    factor: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None
    minutes: Annotated[int, Field(ge=1, le=366 * 1440)] | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class OrderAdd(_Change):
    """A new order (SPEC section 1 fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["order_add"]
    id: Id
    customer: Text | None = None
    product: Id
    quantity: Annotated[int, Field(ge=1)]
    due: AwareDatetime
    release: AwareDatetime | None = None
    weight: Annotated[float, Field(gt=0, le=1_000_000.0, allow_inf_nan=False)] = 1.0
    destination: Text | None = None
    allowed_sites: list[Id] | None = None

    def order(self) -> dict[str, Any]:
        """The order as a SPEC section 1 document."""
        return self.model_dump(mode="json", exclude={"type"}, exclude_none=True)


class OrderChange(_Change):
    """An existing order's due date, quantity, weight or allowed sites changed."""

    type: Literal["order_change"]
    id: Id
    due: AwareDatetime | None = None
    quantity: Annotated[int, Field(ge=1)] | None = None
    weight: Annotated[float, Field(gt=0, le=1_000_000.0, allow_inf_nan=False)] | None = None
    allowed_sites: list[Id] | None = None


class OrderCancel(_Change):
    """An order (and its fixed steps) gone."""

    type: Literal["order_cancel"]
    id: Id


class Quota(_Change):
    """The spread-risk quota (SPEC section 6): of `customer`, or for every customer."""

    type: Literal["quota"]
    customer: Text | None = None
    max_site_share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


Change = Annotated[
    SiteDown | ResourceDown | ResourceAdd | ResourceRemove | Shifts | PowerCap | Duration
    | OrderAdd | OrderChange | OrderCancel | Quota,
    Field(discriminator="type"),
]
CHANGE_TYPES = ("site_down", "resource_down", "resource_add", "resource_remove", "shifts",
                "power_cap", "duration", "order_add", "order_change", "order_cancel",
                "quota")
FACTORY_TYPES = frozenset({"site_down", "resource_down", "resource_add", "resource_remove",
                           "shifts", "power_cap", "duration", "quota"})
ORDER_TYPES = frozenset({"order_add", "order_change", "order_cancel"})
_CHANGE: TypeAdapter[Change] = TypeAdapter(Change)


# ---- parsing ------------------------------------------------------------------------------


def load_changes(data: Any, problem: Problem | None = None) -> list[Change]:
    """Parse a list of changes; `ChangeError` naming every fault (index, type, field).
    With `problem`, the changes are also applied to it (`apply_changes`), and the faults
    of both kinds come at once."""
    changes, faults = _parse(data)
    if problem is not None and not (faults and faults[0]["index"] is None):
        good = [(i, c) for i, c in changes if all(f["index"] != i for f in faults)]
        try:
            _applied(problem, good)
        except ChangeError as exc:
            faults += exc.faults
    if faults:
        faults.sort(key=lambda f: -1 if f["index"] is None else f["index"])
        raise ChangeError(faults)
    return [c for _, c in changes]


def _parse(data: Any) -> tuple[list[tuple[int, Change]], list[dict[str, Any]]]:
    if not isinstance(data, list):
        return [], [{"index": None, "field": None, "message": "must be a list of changes"}]
    if len(data) > MAX_CHANGES:
        return [], [{"index": None, "field": None,
                     "message": f"{len(data)} changes, more than {MAX_CHANGES}"}]
    changes: list[tuple[int, Change]] = []
    faults: list[dict[str, Any]] = []
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            faults.append({"index": i, "type": None, "field": None,
                           "message": "must be an object with a type"})
            continue
        try:
            change = _CHANGE.validate_python(item)
        except ValidationError as exc:
            faults += _faults(exc, i, item)
            continue
        faults += _own_faults(i, change)
        changes.append((i, change))
    return changes, faults


def _faults(exc: ValidationError, index: int, item: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        kind = item.get("type") if isinstance(item, Mapping) else None
        if loc and loc[0] == kind:  # the union's tag
            loc.pop(0)
        field = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc).lstrip(".")
        msg = err["msg"]
        if err["type"] == "union_tag_invalid":
            field, msg = "type", f"'{kind}' is not one of {', '.join(CHANGE_TYPES)}"
        elif err["type"] == "union_tag_not_found":
            field, msg = "type", f"missing: one of {', '.join(CHANGE_TYPES)}"
        elif err["type"] == "timezone_aware":
            msg = "time has no UTC offset (write e.g. 2026-12-01T06:00:00Z)"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        else:
            msg = text_message(err) or msg
        out.append({"index": index, "type": kind if isinstance(kind, str) else None,
                    "field": field or None, "message": msg})
    return out


def _own_faults(i: int, c: Change) -> list[dict[str, Any]]:
    """The faults of one change that its types leave open (windows, one of two fields)."""
    out: list[dict[str, Any]] = []

    def fault(field: str | None, message: str) -> None:
        out.append({"index": i, "type": c.type, "field": field, "message": message})

    if (isinstance(c, SiteDown | ResourceDown | PowerCap | Duration)
            and c.start is not None and c.end is not None and c.end <= c.start):
        fault("end", "is not after start")
    if isinstance(c, Duration) and (c.factor is None) == (c.minutes is None):
        fault("factor", "give either factor or minutes")
    if isinstance(c, OrderChange) and all(
            v is None for v in (c.due, c.quantity, c.weight, c.allowed_sites)):
        fault(None, "changes nothing: give due, quantity, weight or allowed_sites")
    if isinstance(c, OrderChange) and c.allowed_sites == []:
        fault("allowed_sites", "is empty")
    return out


# ---- applying -----------------------------------------------------------------------------


def apply_changes(problem: Problem, changes: Sequence[Change]) -> Problem:
    """The problem with `changes` applied in order, checked (`load_problem`): a change
    naming a site, resource, product, op or order the problem lacks, or after which the
    problem no longer checks, is a `ChangeError` naming that change (every fault at once)."""
    return _applied(problem, list(enumerate(changes)))


def _applied(problem: Problem, changes: Sequence[tuple[int, Change]]) -> Problem:
    doc = problem.model_dump(mode="json", exclude_none=True)
    faults: list[dict[str, Any]] = []
    before = set(_problem_faults(doc))
    blamed: dict[str, dict[str, Any]] = {}
    for i, c in changes:
        own = _apply(doc, i, c)
        faults += own
        if own:
            continue
        now = _problem_faults(doc)
        for msg in now:
            if msg not in before and msg not in blamed:
                blamed[msg] = {"index": i, "type": c.type, "field": None,
                               "message": f"the changed problem does not check: {msg}"}
        before = set(now)
    faults += [f for msg, f in blamed.items() if msg in before]
    if faults:
        faults.sort(key=lambda f: f["index"])
        raise ChangeError(faults)
    return load_problem(doc)


def _problem_faults(doc: dict[str, Any]) -> list[str]:
    try:
        load_problem(doc)
    except ProblemError as exc:
        return exc.errors
    return []


def _by_id(items: list[dict[str, Any]], ident: str) -> dict[str, Any] | None:
    return next((x for x in items if x.get("id") == ident), None)


def _stamp(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _apply(doc: dict[str, Any], i: int, c: Change) -> list[dict[str, Any]]:
    """Apply one change to `doc` in place; its faults (nothing changed then)."""
    faults: list[dict[str, Any]] = []

    def fault(field: str, message: str) -> None:
        faults.append({"index": i, "type": c.type, "field": field, "message": message})

    sites, resources, products = doc["sites"], doc["resources"], doc["products"]
    orders: list[dict[str, Any]] = doc.setdefault("orders", [])
    for name in ("site",):
        ident = getattr(c, name, None)
        if ident is not None and _by_id(sites, ident) is None:
            fault(name, f"site '{ident}' is not in the problem")
    for name in ("resource", "like"):
        ident = getattr(c, name, None)
        if ident is not None and _by_id(resources, ident) is None:
            fault(name, f"resource '{ident}' is not in the problem")
    if isinstance(c, OrderChange | OrderCancel) and _by_id(orders, c.id) is None:
        fault("id", f"order '{c.id}' is not in the problem")
    if isinstance(c, OrderAdd) and _by_id(orders, c.id) is not None:
        fault("id", f"order '{c.id}' is in the problem already")
    product = _by_id(products, c.product) if isinstance(c, Duration) else None
    if isinstance(c, Duration):
        if product is None:
            fault("product", f"product '{c.product}' is not in the problem")
        elif all(s["op"] != c.op for s in product["routing"]):
            fault("op", f"op '{c.op}' is not in product '{c.product}' routing")
    if faults:
        return faults

    if isinstance(c, SiteDown):
        for r in resources:
            if r["site"] == c.site:
                r.setdefault("downtime", []).append(
                    {"start": _stamp(c.start), "end": _stamp(c.end)})
    elif isinstance(c, ResourceDown):
        res = _by_id(resources, c.resource)
        assert res is not None
        res.setdefault("downtime", []).append({"start": _stamp(c.start), "end": _stamp(c.end)})
    elif isinstance(c, ResourceAdd):
        _add_resources(doc, c)
    elif isinstance(c, ResourceRemove):
        doc["resources"] = [r for r in resources if r["id"] != c.resource]
        for prod in products:
            for step in prod["routing"]:
                if "alternatives" in step:
                    step["alternatives"] = [a for a in step["alternatives"]
                                            if a["resource"] != c.resource]
    elif isinstance(c, Shifts):
        site = _by_id(sites, c.site)
        assert site is not None
        site["shifts"] = [s.model_dump(mode="json") for s in c.shifts]
    elif isinstance(c, PowerCap):
        _power_cap(doc, c)
    elif isinstance(c, Duration):
        assert product is not None
        _duration(doc, c, product, i)
    elif isinstance(c, OrderAdd):
        orders.append(c.order())
    elif isinstance(c, OrderChange):
        order = _by_id(orders, c.id)
        assert order is not None
        for name in ("due", "quantity", "weight", "allowed_sites"):
            value = getattr(c, name)
            if value is not None:
                order[name] = _stamp(value) if isinstance(value, datetime) else value
        if c.quantity is not None:  # fixed steps of units the order no longer has go
            doc["fixed"] = [f for f in doc.get("fixed", [])
                            if f["order"] != c.id or f["unit"] <= c.quantity]
    elif isinstance(c, OrderCancel):
        doc["orders"] = [o for o in orders if o["id"] != c.id]
        doc["fixed"] = [f for f in doc.get("fixed", []) if f["order"] != c.id]
    elif isinstance(c, Quota):
        pol = doc.setdefault("policies", {})
        if c.customer is None:
            pol["max_site_share"] = c.max_site_share
        else:
            pol.setdefault("customers", {})[c.customer] = {"max_site_share": c.max_site_share}
    return faults


def copy_id(like: str, n: int) -> str:
    """The id of the `n`-th copy of resource `like`."""
    return f"{like}+{n}"


def _add_resources(doc: dict[str, Any], c: ResourceAdd) -> None:
    resources: list[dict[str, Any]] = doc["resources"]
    like = _by_id(resources, c.like)
    assert like is not None
    taken = {r["id"] for r in resources}
    new: list[str] = []
    n = 0
    while len(new) < c.count:
        n += 1
        if copy_id(c.like, n) not in taken:
            new.append(copy_id(c.like, n))
    for rid in new:
        copy = {**like, "id": rid, "site": c.site or like["site"]}
        copy.pop("downtime", None)  # a new resource: none of the original's downtime
        resources.append(copy)
    for prod in doc["products"]:
        for step in prod["routing"]:
            alts = step.get("alternatives")
            if alts is None:
                continue
            for a in list(alts):
                if a["resource"] == c.like:
                    alts += [{"resource": rid, "duration_min": a["duration_min"]} for rid in new]


def _power_cap(doc: dict[str, Any], c: PowerCap) -> None:
    site = _by_id(doc["sites"], c.site)
    assert site is not None
    if c.start is None and c.end is None:
        site["power_cap_kw"] = c.power_cap_kw
        return
    t0 = datetime.fromisoformat(doc["horizon_start"])
    start = c.start or t0
    if c.end is not None:
        end = c.end
    else:
        dues = [datetime.fromisoformat(o["due"]) for o in doc.get("orders", [])]
        end = max([start, t0, *dues]) + timedelta(days=365)
    kept: list[dict[str, Any]] = []
    for w in site.get("power_windows") or []:
        a, z = datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])
        if a < start:
            kept.append({**w, "end": _stamp(min(z, start))})
        if z > end:
            kept.append({**w, "start": _stamp(max(a, end))})
    kept.append({"start": _stamp(start), "end": _stamp(end), "power_cap_kw": c.power_cap_kw})
    kept.sort(key=lambda w: datetime.fromisoformat(w["start"]))
    site["power_windows"] = kept


def _scaled(minutes: int, c: Duration) -> int:
    if c.minutes is not None:
        return c.minutes
    assert c.factor is not None
    return max(1, round(minutes * c.factor))


def _scale_step(step: dict[str, Any], c: Duration) -> None:
    if "alternatives" in step:
        for a in step["alternatives"]:
            a["duration_min"] = _scaled(int(a["duration_min"]), c)
    else:
        step["duration_min"] = _scaled(int(step["duration_min"]), c)


def _duration(doc: dict[str, Any], c: Duration, product: dict[str, Any], i: int) -> None:
    """The op's durations; over a time range, on a copy of the product (id
    ``<product>@<i>``) that the orders released in the range are built as."""
    if c.start is None and c.end is None:
        step = next(s for s in product["routing"] if s["op"] == c.op)
        _scale_step(step, c)
        return
    t0 = datetime.fromisoformat(doc["horizon_start"])

    def in_range(o: dict[str, Any]) -> bool:
        rel = datetime.fromisoformat(o["release"]) if o.get("release") else t0
        rel = max(rel, t0)
        return (c.start is None or rel >= c.start) and (c.end is None or rel < c.end)

    hit = [o for o in doc.get("orders", []) if o["product"] == c.product and in_range(o)]
    if not hit:
        return
    copy_ = {**product, "id": f"{c.product}@{i}",
             "routing": [dict(s, alternatives=[dict(a) for a in s["alternatives"]])
                         if "alternatives" in s else dict(s) for s in product["routing"]]}
    _scale_step(next(s for s in copy_["routing"] if s["op"] == c.op), c)
    doc["products"].append(copy_)
    for r in doc["resources"]:
        if r.get("products") is not None and c.product in r["products"]:
            r["products"] = [*r["products"], copy_["id"]]
    for o in hit:
        o["product"] = copy_["id"]


# ---- comparing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Solved:
    """One variant as solved: its name, changes, problem and (validated) schedule."""

    name: str
    changes: Sequence[Change]
    problem: Problem
    schedule: Mapping[str, Any] | None


def _minutes(a: str, b: str) -> int:
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60)


def site_figures(problem: Problem, schedule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per site: the mean utilisation of its resources (the schedule's KPI), the busy
    step-minutes, the peak running power (kW) against the cap, the energy (kWh)."""
    util = (schedule.get("kpis") or {}).get("utilization") or {}
    power = {(p.id, s.op): s.power_kw for p in problem.products for s in p.routing}
    events: dict[str, list[tuple[int, float]]] = {}
    busy: dict[str, int] = {}
    energy: dict[str, float] = {}
    for it in schedule.get("items") or []:
        site, a, z = str(it["site"]), int(it["start_min"]), int(it["end_min"])
        busy[site] = busy.get(site, 0) + z - a
        kw = power.get((str(it["product"]), str(it["op"])), 0.0)
        if kw:
            events.setdefault(site, []).extend([(a, kw), (z, -kw)])
            energy[site] = energy.get(site, 0.0) + kw * (z - a) / 60
    out = []
    for s in problem.sites:
        mine = [float(util[r.id]) for r in problem.resources if r.site == s.id and r.id in util]
        peak = run = 0.0
        for _, d in sorted(events.get(s.id, []), key=lambda e: (e[0], e[1])):
            run += d
            peak = max(peak, run)
        out.append({
            "site": s.id,
            "utilisation": round(sum(mine) / len(mine), 4) if mine else None,
            "busy_min": busy.get(s.id, 0),
            "peak_kw": round(peak, 1),
            "power_cap_kw": s.power_cap_kw,
            "energy_kwh": round(energy.get(s.id, 0.0), 1),
        })
    return out


def heat_map(report: Mapping[str, Any]) -> dict[str, Any]:
    """Per site and bucket, the most utilised resource group's utilisation (the power's
    too) of a capacity report: the small heat map of a comparison."""
    rows = []
    for s in report["sites"]:
        series = [g["utilisation"] for g in s["groups"]]
        if s.get("power") is not None:
            series.append(s["power"]["utilisation"])
        top = [max((x[b] for x in series if x[b] is not None), default=None)
               for b in range(len(report["buckets"]))]
        rows.append({"site": s["id"], "utilisation": top})
    return {"bucket": report["bucket"],
            "buckets": [b["start"] for b in report["buckets"]], "sites": rows}


def summary(v: Solved, *, capacity: bool = True) -> dict[str, Any]:
    """One variant's figures (no comparison): status, KPIs, sites, bottlenecks."""
    sch = v.schedule or {}
    kpis = sch.get("kpis") or {}
    planned = sch.get("status") in PLAN_STATUSES and bool(sch.get("items"))
    out: dict[str, Any] = {
        "name": v.name,
        "changes": [c.model_dump(mode="json", exclude_none=True) for c in v.changes],
        "status": sch.get("status"),
        "orders": len(v.problem.orders),
        "on_time": kpis.get("on_time") if planned else None,
        "weighted_tardiness_min": kpis.get("total_weighted_tardiness_min") if planned else None,
        "makespan_min": kpis.get("makespan_min") if planned else None,
        "lower_bound": sch.get("lower_bound") if planned else None,
        "objective": sch.get("objective"),
        "sites": site_figures(v.problem, sch) if planned else [],
        "bottlenecks": [],
        "heat": None,
        "reasons": list(sch.get("reasons") or []),
    }
    if planned and capacity:
        rep = capacity_report(v.problem, dict(sch), allocation=False).to_dict()
        out["bottlenecks"] = rep["bottlenecks"][:MAX_BOTTLENECKS]
        out["heat"] = heat_map(rep)
    return out


def order_changes(base: Solved, v: Solved) -> list[dict[str, Any]]:
    """Per order whose delivery or presence differs from the base: the base's and the
    variant's delivery and tardiness, the delivery change in minutes (later is positive),
    and `change`: later, earlier, added or cancelled."""
    def rows(s: Solved) -> dict[str, Mapping[str, Any]]:
        sch = s.schedule or {}
        return {str(o["id"]): o for o in sch.get("orders") or []}

    b, n = rows(base), rows(v)
    if not b or not n:
        return []
    weights = {o.id: o.weight for o in v.problem.orders} | {
        o.id: o.weight for o in base.problem.orders if o.id not in n}
    out = []
    for oid in sorted(set(b) | set(n)):
        was, now = b.get(oid), n.get(oid)
        if was is not None and now is not None:
            delta = _minutes(str(was["delivery"]), str(now["delivery"]))
            if delta == 0 and was.get("due") == now.get("due"):
                continue
            change = "later" if delta > 0 else "earlier" if delta < 0 else "due"
        else:
            delta, change = None, "added" if was is None else "cancelled"
        out.append({
            "order": oid, "change": change, "delivery_change_min": delta,
            "base_delivery": was["delivery"] if was else None,
            "delivery": now["delivery"] if now else None,
            "base_tardiness_min": was["tardiness_min"] if was else None,
            "tardiness_min": now["tardiness_min"] if now else None,
            "weight": weights.get(oid),
        })
    return out


def compare(base: Solved, variants: Sequence[Solved], *, capacity: bool = True
            ) -> dict[str, Any]:
    """The base and each variant side by side (docs/scenarios.md): the figures of each, and
    per variant the change of weighted tardiness, on-time orders and makespan against
    the base, and the orders whose delivery changed. A variant (or base) without a plan
    has figures of None and no order changes."""
    head = summary(base, capacity=capacity)
    out = []
    for v in variants:
        s = summary(v, capacity=capacity)
        for key in ("weighted_tardiness_min", "on_time", "makespan_min"):
            a, z = head[key], s[key]
            s[f"{key}_change"] = (None if a is None or z is None
                                  else round(float(z) - float(a), 3))
        s["order_changes"] = order_changes(base, v)
        s["slipped"] = [r["order"] for r in s["order_changes"] if r["change"] == "later"]
        out.append(s)
    return {"base": head, "variants": out}


def render_table(comparison: Mapping[str, Any]) -> str:
    """The comparison as a plain-text table: one line per variant, then per variant the
    orders that change (the largest changes first, at most ten)."""
    rows = [comparison["base"], *comparison["variants"]]
    head = ("variant", "status", "on time", "w. tardiness", "change", "makespan h",
            "late orders")

    def fig(x: Any) -> str:
        if x is None:
            return "-"
        if isinstance(x, float) and x.is_integer():
            return f"{int(x):,}"
        return f"{x:,.4g}" if isinstance(x, float) else f"{x:,}"

    lines = []
    table = [head]
    for i, r in enumerate(rows):
        ontime = "-" if r["on_time"] is None else f"{r['on_time']}/{r['orders']}"
        ms = None if r["makespan_min"] is None else round(r["makespan_min"] / 60, 1)
        change = "" if i == 0 else fig(r.get("weighted_tardiness_min_change"))
        late = "-" if r["on_time"] is None else str(r["orders"] - r["on_time"])
        table.append((str(r["name"]), str(r["status"]), ontime,
                      fig(r["weighted_tardiness_min"]), change, fig(ms), late))
    widths = [max(len(row[k]) for row in table) for k in range(len(head))]
    for row in table:
        lines.append("  ".join(
            cell.ljust(w) if k < 2 else cell.rjust(w)
            for k, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    for v in comparison["variants"]:
        ch = [r for r in v["order_changes"] if r["change"] in ("later", "earlier")]
        extra = [r for r in v["order_changes"] if r["change"] in ("added", "cancelled")]
        if not ch and not extra:
            continue
        lines.append("")
        lines.append(f"{v['name']}: {len(ch)} order(s) deliver at another time"
                     + (f", {len(extra)} added or cancelled" if extra else ""))
        ch.sort(key=lambda r: -abs(r["delivery_change_min"]))
        for r in ch[:10]:
            d = int(r["delivery_change_min"])
            sign = "+" if d > 0 else "-"
            lines.append(f"  {r['order']:<16} {sign}{_span(abs(d))}  tardiness "
                         f"{_span(int(r['base_tardiness_min']))} -> "
                         f"{_span(int(r['tardiness_min']))}")
        if len(ch) > 10:
            lines.append(f"  ... and {len(ch) - 10} more")
        for r in extra:
            lines.append(f"  {r['order']:<16} {r['change']}")
        if v["reasons"]:
            lines.append(f"  {v['reasons'][0]}")
    return "\n".join(lines) + "\n"


def _span(minutes: int) -> str:
    """Minutes as days and hours: ``2d 4h``, ``35m``, ``0``."""
    if minutes == 0:
        return "0"
    d, rest = divmod(minutes, 1440)
    h, m = divmod(rest, 60)
    parts = [f"{d}d"] if d else []
    if h:
        parts.append(f"{h}h")
    if m and not d:
        parts.append(f"{m}m")
    return " ".join(parts)


def site_down_days(problem: Problem, site: str, days: float) -> list[Change]:
    """The change "`site` is down for `days` days from horizon_start"."""
    t0 = problem.horizon_start
    end = t0 + timedelta(minutes=math.ceil(days * 1440))
    return [SiteDown(type="site_down", site=site, start=t0, end=end)]


__all__ = [
    "CHANGE_TYPES", "FACTORY_TYPES", "ORDER_TYPES", "Change", "ChangeError", "Solved",
    "apply_changes", "compare", "load_changes", "order_changes", "render_table",
    "site_down_days", "summary",
]
