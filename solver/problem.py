"""The problem contract of SPEC.md section 1: pydantic models and cross-reference checks.

Section 6 too: a site's `power_windows` (the cap in force within each window) and the
problem's `policies` (spread-risk quotas, rule 10), with their checks: shares in (0, 1],
windows apart and each ending after it starts, and quotas the orders can keep.

`load_problem` is the one way in: it parses JSON-like data, checks every cross-reference
and raises `ProblemError` listing *every* fault (each naming the id and field) rather than
the first one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

SiteKey = TypeVar("SiteKey", str, int)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class ProblemError(ValueError):
    """Invalid problem input; `errors` lists one plain message per fault, `faults` the
    same as {field?, id?, message} (the field path and the id the message names)."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Each message with the field path and the id it starts with, where it has them:
        ``orders[2] (id 'SO-3').quantity: ...`` gives field ``orders[2].quantity`` and id
        ``SO-3``; ``order 'SO-3': ...`` field ``orders`` and id ``SO-3``; ``fixed[0]
        (SO-3/1/test): ...`` field ``fixed[0]`` and id ``SO-3``."""
        return [fault_of(m) for m in self.errors]


_PATH = re.compile(
    r"^(?P<head>[A-Za-z_]\w*(?:\[\d+\])?)"
    r"(?: \((?:id '(?P<id>[^']*)'|(?P<fixed>[^)/]+)/[^)]*)\))?"
    r"(?P<tail>(?:\.[\w-]+|\[\d+\])*): "
)
_KIND = re.compile(r"^(?P<kind>order|resource|product|site) '(?P<id>[^']*)'")


def fault_of(message: str) -> dict[str, str]:
    """One message of `ProblemError` as {field?, id?, message} (`ProblemError.faults`)."""
    out: dict[str, str] = {}
    if (m := _PATH.match(message)) is not None:
        out["field"] = m["head"] + m["tail"]
        if m["id"] is not None or m["fixed"] is not None:
            out["id"] = m["id"] if m["id"] is not None else m["fixed"]
    elif (k := _KIND.match(message)) is not None:
        out["field"] = k["kind"] + "s"
        out["id"] = k["id"]
    out["message"] = message
    return out


class Objective(StrEnum):
    TARDINESS = "tardiness"
    MAKESPAN = "makespan"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_TEXT = 200  # the longest id or name (what a database column keeps everywhere)
MINUTES_PER_YEAR = 366 * 1440  # the longest duration or transit time
MAX_CAPACITY = 1_000  # steps one resource runs at once
MAX_WEIGHT = 1_000_000.0
MAX_POWER_KW = 10_000_000.0
_CLEAN = r"^[^\x00-\x1f\x7f]*$"  # the pattern of every text (`text_message` says it in words)

# ids are non-empty and free of control characters (a NUL cannot even be stored everywhere);
# a lone surrogate ("\ud800", which no database stores as text) fails the pattern too
Id = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=_CLEAN)]
# free text (names, kinds, customers, destinations): the same rule, empty allowed
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=_CLEAN)]
Minutes = Annotated[int, Field(ge=1, le=MINUTES_PER_YEAR)]


class Shift(_Model):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"'{v}' is not a time of day HH:MM")
        return v

    @field_validator("start")
    @classmethod
    def _not_2400(cls, v: str) -> str:
        if v == "24:00":
            raise ValueError("a shift cannot start at 24:00 (write 00:00)")
        return v

    def start_minute(self) -> int:
        """Minutes after local midnight at which the shift starts."""
        h, m = self.start.split(":")
        return int(h) * 60 + int(m)

    def length_min(self) -> int:
        """Nominal length in local wall-clock minutes (past midnight when end <= start)."""
        h, m = self.end.split(":")
        end = int(h) * 60 + int(m)
        start = self.start_minute()
        return end - start if end > start else end + 1440 - start


class PowerWindow(_Model):
    """SPEC section 6: within ``[start, end)`` the site's cap is `power_cap_kw`."""

    start: AwareDatetime
    end: AwareDatetime
    power_cap_kw: Annotated[float, Field(gt=0, le=MAX_POWER_KW, allow_inf_nan=False)]


class Site(_Model):
    id: Id
    name: Text | None = None
    timezone: str = "UTC"
    shifts: list[Shift] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    power_cap_kw: Annotated[float, Field(gt=0, le=MAX_POWER_KW, allow_inf_nan=False)] | None = None
    transit_min: dict[Text, Annotated[int, Field(ge=0, le=MINUTES_PER_YEAR)]] = Field(
        default_factory=dict)
    # SPEC section 6: the cap in force within each window instead of power_cap_kw
    power_windows: list[PowerWindow] | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"'{v}' is not a known IANA time zone") from None
        return v


class Window(_Model):
    start: AwareDatetime
    end: AwareDatetime
    # why the resource is down (planned maintenance): notes only, left out when unset
    reason: Text | None = Field(default=None, exclude_if=lambda v: v is None)


class Resource(_Model):
    id: Id
    site: Id
    kind: Text | None = None
    capacity: Annotated[int, Field(ge=1, le=MAX_CAPACITY)] = 1
    calendar: Literal["site", "24x7"] = "site"
    downtime: list[Window] = Field(default_factory=list)
    products: list[Id] | None = None


class Alternative(_Model):
    resource: Id
    duration_min: Minutes


class Step(_Model):
    op: Id
    kind: Text | None = None
    duration_min: Minutes | None = None
    alternatives: list[Alternative] | None = None
    power_kw: Annotated[float, Field(ge=0, le=MAX_POWER_KW, allow_inf_nan=False)] = 0.0


class Product(_Model):
    id: Id
    family: Text | None = None
    routing: list[Step] = Field(min_length=1)


class Order(_Model):
    id: Id
    customer: Text | None = None
    product: Id
    quantity: Annotated[int, Field(ge=1)]
    due: AwareDatetime
    release: AwareDatetime | None = None
    weight: Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)] = 1.0
    destination: Text | None = None
    allowed_sites: list[Id] | None = None


class FixedStep(_Model):
    order: Id
    unit: Annotated[int, Field(ge=1)]
    op: Id
    resource: Id
    start: AwareDatetime
    end: AwareDatetime


Share = Annotated[float, Field(allow_inf_nan=False)]
"""A spread-risk quota: the most of one customer's racks one site may build, in (0, 1]
(checked with the cross-references, so that every fault of section 6 is named at once)."""


class CustomerPolicy(_Model):
    max_site_share: Share


class Policies(_Model):
    """SPEC section 6: the spread-risk quota, and per-customer overrides."""

    max_site_share: Share | None = None
    customers: dict[Text, CustomerPolicy] = Field(default_factory=dict)

    def share(self, customer: str | None) -> float | None:
        """The quota in force for `customer` (None: none, or an order without customer)."""
        if customer is None:
            return None
        own = self.customers.get(customer)
        return own.max_site_share if own is not None else self.max_site_share


def site_limit(share: float, units: int) -> int:
    """Rule 10: the most of a customer's `units` one site may build, ceil(share x units),
    with the share read as the decimal it was written as (0.7 x 10 is 7, not 8)."""
    return math.ceil(Fraction(str(share)) * units)


class Problem(_Model):
    name: Text = "problem"
    horizon_start: AwareDatetime

    @field_validator("horizon_start")
    @classmethod
    def _whole_minute(cls, v: AwareDatetime) -> AwareDatetime:
        if v.second or v.microsecond:
            raise ValueError("horizon_start must be a whole minute (no seconds)")
        return v

    sites: list[Site] = Field(min_length=1)
    resources: list[Resource] = Field(min_length=1)
    products: list[Product] = Field(min_length=1)
    orders: list[Order] = Field(default_factory=list)
    objective: Objective = Objective.TARDINESS
    fixed: list[FixedStep] = Field(default_factory=list)
    policies: Policies | None = None  # SPEC section 6

    # ---- lookups (cheap, computed on demand) -------------------------------------------
    def site(self, site_id: str) -> Site:
        return next(s for s in self.sites if s.id == site_id)

    def product(self, product_id: str) -> Product:
        return next(p for p in self.products if p.id == product_id)


# ---- eligibility: the one definition shared by the compiler and the checks -----------------


def eligible(problem: Problem, product: Product, step: Step) -> list[tuple[Resource, int]]:
    """Resources that may run `step` of `product`, with the duration on each (rule 5)."""
    by_id = {r.id: r for r in problem.resources}
    out: list[tuple[Resource, int]] = []
    if step.alternatives is not None:
        for alt in step.alternatives:
            res = by_id.get(alt.resource)
            if res is not None and _qualified(res, product):
                out.append((res, alt.duration_min))
    elif step.duration_min is not None:
        for res in problem.resources:
            if res.kind == step.kind and _qualified(res, product):
                out.append((res, step.duration_min))
    return out


def _qualified(res: Resource, product: Product) -> bool:
    return res.products is None or product.id in res.products


# ---- loading ------------------------------------------------------------------------------


def load_problem(
    data: Mapping[str, Any] | str | bytes | Path, limits: Limits | None = None
) -> Problem:
    """Parse and check a SPEC section 1 problem; raise `ProblemError` listing every fault
    (`limits`, default `Limits()`: how far its times may lie from `horizon_start`, how many
    units an order may have; see `check_limits`)."""
    problem = _parse(data)
    errors = check_limits(problem, limits or Limits()) + check_references(problem)
    if errors:
        raise ProblemError(errors)
    return problem


def _parse(data: Mapping[str, Any] | str | bytes | Path) -> Problem:
    """The problem's shape (pydantic), or `ProblemError` naming every fault of it."""
    if isinstance(data, Path):
        try:
            data = data.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProblemError([f"cannot read {data}: {exc.strerror}"]) from None
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ProblemError([f"not valid JSON: {exc.msg} at line {exc.lineno}"]) from None
    if not isinstance(data, Mapping):
        raise ProblemError(["the problem must be a JSON object"])
    try:
        return Problem.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(_describe(exc, data) + _beyond_shape(exc, data)) from None


_LISTS = {"sites": "sites", "resources": "resources", "products": "products",
          "orders": "orders", "fixed": "fixed"}


def _beyond_shape(exc: ValidationError, data: Mapping[str, Any]) -> list[str]:
    """The faults of the later layers (cross-references, limits) in what did parse, so that
    one answer names every fault: the items with a shape fault are left out, their ids
    still count as known (an order of a product whose routing is bad is not also 'of an
    unknown product'), and what hangs on them is not judged."""
    bad: dict[str, set[int]] = {}
    pruned = dict(data)
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        if not loc:
            return []
        head = str(loc[0])
        if head in _LISTS and len(loc) > 1 and isinstance(loc[1], int):
            bad.setdefault(head, set()).add(loc[1])
        elif head in ("sites", "resources", "products"):
            return []  # the factory itself has no shape: nothing to check it against
        else:  # a top-level value (or an unknown field): judged without it
            pruned.pop(head, None)
    ghosts: dict[str, set[str]] = {}
    for head, rows in bad.items():
        items = pruned.get(head)
        if not isinstance(items, list):
            return []
        for i in rows:
            if i < len(items) and isinstance(items[i], Mapping):
                ident = items[i].get("id")
                if isinstance(ident, str):
                    ghosts.setdefault(head, set()).add(ident)
        pruned[head] = [x for i, x in enumerate(items) if i not in rows]
    timed = "horizon_start" in pruned
    pruned.setdefault("horizon_start", "2000-01-01T00:00:00Z")
    try:
        rest = Problem.model_validate(pruned)
    except ValidationError:
        return []  # e.g. no site left: the shape faults say it all
    limits = check_limits(rest, Limits()) if timed else []
    return limits + check_references(rest, ghosts)


def _describe(exc: ValidationError, data: Mapping[str, Any]) -> list[str]:
    """Pydantic errors as 'orders[2] (id 'SO-3').quantity: message' lines."""
    out = []
    for err in exc.errors(include_url=False):
        parts: list[str] = []
        node: Any = data
        for loc in err["loc"]:
            if isinstance(loc, int):
                label = f"[{loc}]"
                if isinstance(node, list) and loc < len(node):
                    node = node[loc]
                    if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                        label += f" (id '{node['id']}')"
                else:
                    node = None
                parts.append(label)
            else:
                parts.append(("." if parts else "") + str(loc))
                node = node.get(loc) if isinstance(node, Mapping) else None
        where = "".join(parts) or "problem"
        msg = err["msg"]
        if err["type"] == "timezone_aware":
            msg = "time has no UTC offset (write e.g. 2026-12-01T06:00:00Z)"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        else:
            msg = text_message(err) or msg
        out.append(f"{where}: {msg}")
    return out


def _dups(kind: str, ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i in ids:
        if i in seen:
            out.append(f"{kind} '{i}': duplicate id")
        seen.add(i)
    return out


def check_references(p: Problem, ghosts: Mapping[str, set[str]] | None = None) -> list[str]:
    """Every cross-reference check of SPEC section 1; one message per fault (`ghosts`: ids
    per list, e.g. ``{"products": {"P1"}}``, of items left out for a fault of their shape:
    known, and what depends on them not judged)."""
    ghosts = ghosts or {}
    errs: list[str] = []
    errs += _dups("site", (s.id for s in p.sites))
    errs += _dups("resource", (r.id for r in p.resources))
    errs += _dups("product", (x.id for x in p.products))
    errs += _dups("order", (o.id for o in p.orders))
    site_ids = {s.id for s in p.sites} | ghosts.get("sites", set())
    product_ids = {x.id for x in p.products} | ghosts.get("products", set())
    res_by_id = {r.id: r for r in p.resources}
    known_res = set(res_by_id) | ghosts.get("resources", set())

    for r in p.resources:
        if r.site not in site_ids:
            errs.append(f"resource '{r.id}': site '{r.site}' is not a site")
        for x in r.products or []:
            if x not in product_ids:
                errs.append(f"resource '{r.id}': products lists unknown product '{x}'")
        for w in r.downtime:
            if w.end <= w.start:
                errs.append(f"resource '{r.id}': downtime ends at or before it starts")

    for prod in p.products:
        errs += _dups(f"product '{prod.id}': routing op", (s.op for s in prod.routing))
        for st in prod.routing:
            where = f"product '{prod.id}' step '{st.op}'"
            if st.alternatives is not None:
                if st.kind is not None or st.duration_min is not None:
                    errs.append(f"{where}: give either kind + duration_min or alternatives")
                if not st.alternatives:
                    errs.append(f"{where}: alternatives is empty")
                errs += _dups(f"{where}: alternative", (a.resource for a in st.alternatives))
                for alt in st.alternatives:
                    if alt.resource not in known_res:
                        errs.append(f"{where}: alternative resource '{alt.resource}' is unknown")
            elif st.kind is None or st.duration_min is None:
                errs.append(f"{where}: needs kind and duration_min (or alternatives)")
            caps = [c for c in (peak_cap(s) for s in p.sites) if c is not None]
            if (st.power_kw > 0 and len(caps) == len(p.sites) and st.power_kw > max(caps)
                    and not ghosts.get("sites")):
                errs.append(
                    f"{where}: power_kw {st.power_kw:g} exceeds every site's power_cap_kw"
                )

    products = {x.id: x for x in p.products}
    bad, order_sites = order_faults(p, ghosts)
    errs += [u.reason for u in bad]

    errs += _check_fixed(p, products, res_by_id, ghosts)
    if not any(ghosts.get(k) for k in ("sites", "resources", "orders")):
        errs += _check_section6(p, order_sites, res_by_id)
    return errs


class Unbuildable(NamedTuple):
    """An order its problem cannot build, whatever the other orders do: `code` says why in
    a word, `reason` in a sentence; `op` the routing step at fault and `sites` the sites
    concerned, where they apply.

    Codes: ``unknown_product``, ``unknown_site`` (allowed_sites lists a site that is not
    one), ``no_allowed_site`` (allowed_sites is empty), ``unknown_destination`` (missing
    from an allowed site's transit_min), ``no_eligible_resource`` (a step no resource at
    an allowed site may run), ``no_site_for_routing`` (no allowed site runs every step,
    for its resources and power caps), ``quota`` (a spread-risk quota of rule 10 the
    order's sites cannot keep), ``out_of_range`` (a time or quantity past the limits)."""

    order: str
    code: str
    reason: str
    op: str | None = None
    sites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The schedule's `unplanned` entry: order, code, reason, and op and sites when
        they apply."""
        out: dict[str, Any] = {"order": self.order, "code": self.code, "reason": self.reason}
        if self.op is not None:
            out["op"] = self.op
        if self.sites:
            out["sites"] = list(self.sites)
        return out


def order_faults(
    p: Problem, ghosts: Mapping[str, set[str]] | None = None
) -> tuple[list[Unbuildable], dict[str, set[str]]]:
    """The orders of `p` that fail the cross-reference checks of their own (product,
    sites, destination, eligible resources, one site for the whole routing), and per
    checked order the sites that can run its whole routing (`ghosts` as
    `check_references`: with a site or resource left out, eligibility is not judged)."""
    ghosts = ghosts or {}
    judged = not ghosts.get("sites") and not ghosts.get("resources")
    site_ids = {s.id for s in p.sites}
    sites = {s.id: s for s in p.sites}
    products = {x.id: x for x in p.products}
    bad: list[Unbuildable] = []
    order_sites: dict[str, set[str]] = {}
    step_sites: dict[tuple[str, str], set[str]] = {}
    for o in p.orders:
        where = f"order '{o.id}'"
        if o.product not in products:
            if o.product not in ghosts.get("products", set()):
                bad.append(Unbuildable(o.id, "unknown_product",
                                       f"{where}: product '{o.product}' is unknown"))
            continue
        allowed = o.allowed_sites if o.allowed_sites is not None else sorted(site_ids)
        before = len(bad)
        for s in allowed:
            if s not in site_ids and s not in ghosts.get("sites", set()):
                bad.append(Unbuildable(o.id, "unknown_site",
                                       f"{where}: allowed_sites lists unknown site '{s}'",
                                       sites=(s,)))
        if o.allowed_sites is not None and not o.allowed_sites:
            bad.append(Unbuildable(o.id, "no_allowed_site", f"{where}: allowed_sites is empty"))
        allowed = [s for s in allowed if s in site_ids]
        if o.destination is not None:
            for s in allowed:
                if o.destination not in sites[s].transit_min:
                    bad.append(Unbuildable(
                        o.id, "unknown_destination",
                        f"{where}: destination '{o.destination}' is missing from "
                        f"site '{s}' transit_min", sites=(s,)))
        if not judged:
            continue
        prod = products[o.product]
        runnable = set(allowed)
        for st in prod.routing:
            key = (prod.id, st.op)
            if key not in step_sites:  # once per product and step, not per order
                step_sites[key] = {r.site for r, _ in eligible(p, prod, st)}
            at = step_sites[key] & set(allowed)
            if not at:
                bad.append(Unbuildable(
                    o.id, "no_eligible_resource",
                    f"{where}: step '{st.op}' of product '{prod.id}' has no eligible "
                    f"resource at any allowed site ({', '.join(sorted(allowed))})",
                    op=st.op, sites=tuple(sorted(allowed))))
            runnable &= at
            runnable = {
                s for s in runnable
                if (cap := peak_cap(sites[s])) is None or st.power_kw <= cap
            }
        order_sites[o.id] = runnable
        if not runnable and len(bad) == before:
            bad.append(Unbuildable(
                o.id, "no_site_for_routing",
                f"{where}: no allowed site can run every step of product '{prod.id}' "
                "(resources and power caps)", sites=tuple(sorted(allowed))))
    return bad, order_sites


def unbuildable(p: Problem, limits: Limits | None = None) -> list[Unbuildable]:
    """Every order of `p` that cannot be built, whatever the other orders do (the pure
    judgement `load_plannable` plans around and the validator checks an `unplanned`
    list with): its own faults (`order_faults`), its times and quantity past `limits`
    (default `Limits()`, around `horizon_start`), and, while the other orders keep the
    spread-risk quotas, the orders left out so that the rest can (rule 10: of a customer
    whose racks confined to some sites overfill their quota there, the orders confined
    to those sites, latest due first, until the rest fit). One entry per fault."""
    limits = limits or Limits()
    bad: list[Unbuildable] = []
    for i, o in enumerate(p.orders):
        for where, msg in limit_faults(o, limits, p.horizon_start, "horizon_start",
                                       f"orders[{i}] (id '{o.id}')"):
            bad.append(Unbuildable(o.id, "out_of_range", f"{where}: {msg}"))
    own, order_sites = order_faults(p)
    bad += own
    if p.policies is not None and _policies_sound(p):
        res_by_id = {r.id: r for r in p.resources}
        out = {u.order for u in bad}
        while True:
            rest = p.model_copy(update={"orders": [o for o in p.orders if o.id not in out]})
            cuts = _quota_cuts(rest, order_sites, res_by_id)
            if not cuts:
                break
            cust, cut, message = cuts[0]
            confined = [o for o in rest.orders if o.customer == cust
                        and _unit_sites(rest, o, order_sites, res_by_id) <= cut]
            drop = max(confined, key=lambda o: (o.due, o.id))
            out.add(drop.id)
            bad.append(Unbuildable(
                drop.id, "quota",
                f"order '{drop.id}': {message.removeprefix('policies: ')}; its racks can be "
                f"built only at {', '.join(repr(s) for s in sorted(order_sites[drop.id]))}",
                sites=tuple(sorted(order_sites[drop.id]))))
    return bad


def _policies_sound(p: Problem) -> bool:
    """Shares in (0, 1] and power windows apart: the quotas can be judged (no order
    sites given, so `_check_section6` judges no quota itself)."""
    return not _check_section6(p, {}, {})


def _unit_sites(
    p: Problem, o: Order, order_sites: Mapping[str, set[str]], res_by_id: Mapping[str, Resource]
) -> frozenset[str]:
    """Every site some unit of `o` may be built at (a fixed step pins its unit)."""
    pinned = {f.unit: res_by_id[f.resource].site for f in p.fixed
              if f.order == o.id and f.resource in res_by_id}
    free = set(order_sites.get(o.id, set())) if len(pinned) < o.quantity else set()
    return frozenset(free | set(pinned.values()))


STALE = frozenset({"unknown_product", "unknown_site", "unknown_destination",
                   "no_allowed_site", "out_of_range"})
"""The codes of `Unbuildable` that a problem file cannot have (a broken reference, a value
past the limits) but the service's stored orders can come to have."""


@dataclass(frozen=True)
class Plannable:
    """A problem without the orders it cannot build (`unbuildable`), and those orders."""

    problem: Problem
    unplanned: list[Unbuildable]

    def unplanned_dicts(self) -> list[dict[str, Any]]:
        """The schedule's `unplanned` section: one entry per left-out order (its first
        fault)."""
        seen: set[str] = set()
        out = []
        for u in self.unplanned:
            if u.order not in seen:
                seen.add(u.order)
                out.append(u.as_dict())
        return out


def without_orders(p: Problem, ids: Iterable[str]) -> Problem:
    """`p` without the orders `ids` and their fixed steps."""
    drop = set(ids)
    if not drop:
        return p
    return p.model_copy(update={
        "orders": [o for o in p.orders if o.id not in drop],
        "fixed": [f for f in p.fixed if f.order not in drop],
    })


def load_plannable(
    data: Mapping[str, Any] | str | bytes | Path, limits: Limits | None = None, *,
    plan_stale: bool = False, require_orders: bool = True,
) -> Plannable:
    """Like `load_problem`, but an order the problem cannot build (`unbuildable`) is left
    out with its reasons instead of failing the whole: the problem of the other orders,
    and the left-out ones. Raise `ProblemError` listing every other fault, and when orders
    were given and none of them can be built (then listing theirs; not without
    `require_orders`: the problem then has no orders left). An order that names what the
    problem lacks (a product, site or destination) or has a time or quantity past
    `limits` is a fault of the input too (`STALE` codes), unless `plan_stale`: the
    service's orders were checked when they came, and a later factory or horizon may
    leave them behind."""
    limits = limits or Limits()
    problem = _parse(data)
    start = check_limits(problem.model_copy(update={"orders": []}), limits)
    if start and start[0].startswith("horizon_start"):
        raise ProblemError(start)
    bad = unbuildable(problem, limits)
    if not plan_stale:
        start += [u.reason for u in bad if u.code in STALE]
        dropped = {u.order for u in bad if u.code in STALE}
        bad = [u for u in bad if u.order not in dropped]
    rest = without_orders(problem, (u.order for u in bad))
    errors = start + check_references(rest)
    if require_orders and problem.orders and not rest.orders:
        errors += [u.reason for u in bad]
        errors.append("orders: no order can be built, so there is nothing to plan")
    if errors:
        raise ProblemError(errors)
    return Plannable(rest, bad)


def peak_cap(site: Site) -> float | None:
    """The highest power cap ever in force at `site` (None: uncapped at some moment)."""
    if site.power_cap_kw is None:
        return None
    return max([site.power_cap_kw, *(w.power_cap_kw for w in site.power_windows or [])])


def _share_fault(value: float | None, where: str) -> list[str]:
    if value is None or 0 < value <= 1:
        return []
    return [f"{where}: {value:g} is not in (0, 1]"]


def _check_section6(
    p: Problem, order_sites: Mapping[str, set[str]], res_by_id: Mapping[str, Resource]
) -> list[str]:
    """SPEC section 6: shares in (0, 1], each site's power windows in order and apart, and
    quotas the orders can keep (rule 10)."""
    errs: list[str] = []
    pol = p.policies
    if pol is not None:
        errs += _share_fault(pol.max_site_share, "policies.max_site_share")
        for cid, cp in pol.customers.items():
            errs += _share_fault(cp.max_site_share, f"policies.customers.{cid}.max_site_share")
    for i, site in enumerate(p.sites):
        where = f"sites[{i}] (id '{site.id}').power_windows"
        good: list[tuple[int, PowerWindow]] = []
        for j, w in enumerate(site.power_windows or []):
            if w.end <= w.start:
                errs.append(f"{where}[{j}].end: is not after start")
            else:
                good.append((j, w))
        good.sort(key=lambda jw: jw[1].start)
        for (j, a), (k, b) in pairwise(good):
            if b.start < a.end:
                errs.append(f"{where}: windows {min(j, k)} and {max(j, k)} overlap")
    if pol is not None and not errs:
        errs += quota_faults(p, order_sites, res_by_id)
    return errs


def quota_faults(
    p: Problem, order_sites: Mapping[str, set[str]], res_by_id: Mapping[str, Resource]
) -> list[str]:
    """Rule 10 quotas that the orders' sites (allowed_sites, the sites' resources and power
    caps, fixed steps) make impossible: per customer, each site that must take more units
    than its quota allows, or else a set of sites that must together."""
    return [message for _, _, message in _quota_cuts(p, order_sites, res_by_id)]


def _quota_cuts(
    p: Problem, order_sites: Mapping[str, set[str]], res_by_id: Mapping[str, Resource]
) -> list[tuple[str, frozenset[str], str]]:
    """`quota_faults` as (customer, the sites overfilled, the message)."""
    assert p.policies is not None
    pinned: dict[tuple[str, int], str] = {}
    for f in p.fixed:
        if f.resource in res_by_id:
            pinned[(f.order, f.unit)] = res_by_id[f.resource].site
    # per customer, its units grouped by the sites they may use
    groups: dict[str, dict[frozenset[str], int]] = {}
    for o in p.orders:
        if p.policies.share(o.customer) is None or not order_sites.get(o.id):
            continue
        assert o.customer is not None
        g = groups.setdefault(o.customer, {})
        for u in range(1, o.quantity + 1):
            at = pinned.get((o.id, u))
            key = frozenset([at]) if at is not None else frozenset(order_sites[o.id])
            g[key] = g.get(key, 0) + 1
    out: list[tuple[str, frozenset[str], str]] = []
    for cust in sorted(groups):
        g = groups[cust]
        share = p.policies.share(cust)
        assert share is not None
        total = sum(g.values())
        limit = site_limit(share, total)
        single = False
        for key in sorted((k for k in g if len(k) == 1), key=sorted):
            (site,) = key
            if g[key] > limit:
                single = True
                out.append((cust, key,
                    f"policies: customer '{cust}' must have {g[key]} of its {total} units "
                    f"built at site '{site}' (allowed_sites and fixed steps), more than its "
                    f"quota {share:g} allows ({limit})"
                ))
        if single:
            continue
        cut = spread_cut(list(g.items()), {s: limit for k in g for s in k})
        if cut is not None:
            n = sum(k for s, k in g.items() if s <= cut)
            names = ", ".join(f"'{s}'" for s in sorted(cut))
            out.append((cust, cut,
                f"policies: customer '{cust}' must have {n} of its {total} units built at "
                f"sites {names} (allowed_sites and fixed steps), more than its quota "
                f"{share:g} allows there ({limit} per site)"
            ))
    return out


def spread_cut(
    groups: Sequence[tuple[frozenset[SiteKey], int]], room: Mapping[SiteKey, int]
) -> frozenset[SiteKey] | None:
    """Whether units (groups of `n` that may each go to any of a set of sites) can be
    spread with at most `room[site]` at each site: None if so, else a set of sites that the
    units confined to it overfill (Hall's condition, by a maximum flow: source -> group ->
    site -> sink, `room` on each site's edge, and the sites reachable in the residual)."""
    room = dict(room)
    left = [n for _, n in groups]
    flow: dict[tuple[int, SiteKey], int] = {}
    prev_s: dict[SiteKey, int] = {}
    while True:
        # a breadth-first search for a path source -> group -> (site -> group)* -> site
        # with room, through residual edges (group -> site always; site -> group when
        # that group sends flow there)
        prev_g: dict[int, SiteKey | None] = {i: None for i, n in enumerate(left) if n > 0}
        prev_s = {}
        queue = list(prev_g)
        end: SiteKey | None = None
        while queue and end is None:
            nxt: list[int] = []
            for gi in queue:
                for site in sorted(groups[gi][0]):
                    if site in prev_s:
                        continue
                    prev_s[site] = gi
                    if room.get(site, 0) > 0:
                        end = site
                        break
                    for gj in range(len(groups)):
                        if gj not in prev_g and flow.get((gj, site), 0) > 0:
                            prev_g[gj] = site
                            nxt.append(gj)
                if end is not None:
                    break
            queue = nxt
        if end is None:
            break
        # as many units along the path as all its edges take
        path: list[tuple[int, SiteKey, SiteKey | None]] = []  # (group, to, from)
        at: SiteKey = end
        push = room[end]
        while True:
            gi = prev_s[at]
            back = prev_g[gi]
            path.append((gi, at, back))
            if back is None:
                push = min(push, left[gi])
                break
            push = min(push, flow[gi, back])
            at = back
        room[end] -= push
        for gi, to, back in path:
            flow[gi, to] = flow.get((gi, to), 0) + push
            if back is None:
                left[gi] -= push
            else:
                flow[gi, back] -= push
    if not any(left):
        return None
    return frozenset(prev_s)


def _check_fixed(
    p: Problem, products: dict[str, Product], res_by_id: dict[str, Resource],
    ghosts: Mapping[str, set[str]],
) -> list[str]:
    errs: list[str] = []
    orders = {o.id: o for o in p.orders}
    seen: set[tuple[str, int, str]] = set()
    for i, f in enumerate(p.fixed):
        where = f"fixed[{i}] ({f.order}/{f.unit}/{f.op})"
        o = orders.get(f.order)
        if o is None:
            if f.order not in ghosts.get("orders", set()):
                errs.append(f"{where}: order '{f.order}' is unknown")
            continue
        if f.unit > o.quantity:
            errs.append(f"{where}: unit {f.unit} exceeds the order's quantity {o.quantity}")
        prod = products.get(o.product)
        if prod is None:
            continue
        step = next((s for s in prod.routing if s.op == f.op), None)
        if step is None:
            errs.append(f"{where}: op '{f.op}' is not in product '{prod.id}' routing")
            continue
        key = (f.order, f.unit, f.op)
        if key in seen:
            errs.append(f"{where}: the same step is fixed twice")
        seen.add(key)
        if f.resource not in res_by_id:
            if f.resource not in ghosts.get("resources", set()):
                errs.append(f"{where}: resource '{f.resource}' is unknown")
        elif f.resource not in {r.id for r, _ in eligible(p, prod, step)}:
            errs.append(f"{where}: resource '{f.resource}' cannot run step '{f.op}'")
        elif o.allowed_sites is not None and res_by_id[f.resource].site not in o.allowed_sites:
            errs.append(f"{where}: resource '{f.resource}' is not at an allowed site")
        if f.end <= f.start:
            errs.append(f"{where}: end is not after start")
    # all fixed steps of one unit must be at one site
    unit_sites: dict[tuple[str, int], set[str]] = {}
    for f in p.fixed:
        if f.resource in res_by_id:
            unit_sites.setdefault((f.order, f.unit), set()).add(res_by_id[f.resource].site)
    for (oid, u), ss in unit_sites.items():
        if len(ss) > 1:
            errs.append(f"fixed steps of {oid}/{u} are at several sites: {', '.join(sorted(ss))}")
    return errs


# ---- limits on values: times near the horizon, sizes a solve can hold -----------------------

def text_message(err: Mapping[str, Any]) -> str | None:
    """What a pydantic fault of the text rule (`Id`, `Text`) says in plain words (pydantic's
    own name a regular expression), or None for any other fault."""
    if err.get("type") == "string_unicode":
        return "is not valid Unicode text (it holds a lone surrogate such as \\ud800)"
    if err.get("type") == "string_pattern_mismatch" and (
            (err.get("ctx") or {}).get("pattern") == _CLEAN):
        return "must not contain control characters (U+0000-U+001F, U+007F)"
    return None


EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)  # the range of horizon_start
LATEST_START = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limits:
    """Bounds on a problem's values that its types leave open, so that no input makes a
    solve overflow or run out of time and memory: every time within `span_days` of the
    anchor (`horizon_start`, or the service's now), at most `max_quantity` units an order."""

    span_days: int = 3653  # ten years
    max_quantity: int = 1_000


def _iso(t: datetime) -> str:
    """`t` as ISO 8601 text, `Z` for UTC (as given: converting could overflow)."""
    return t.isoformat().replace("+00:00", "Z")


def _shift(t: datetime, days: int) -> datetime:
    """`t` moved by `days`, clamped to the calendar's ends."""
    try:
        return t + timedelta(days=days)
    except OverflowError:
        return (datetime.max if days > 0 else datetime.min).replace(tzinfo=UTC)


def limit_faults(
    node: object, limits: Limits, anchor: datetime, anchor_name: str, path: str = ""
) -> list[tuple[str, str]]:
    """(field path, message) for every time under `node` further than `limits.span_days`
    from `anchor` (dates by the anchor's date), and every order with more units than
    `limits.max_quantity`; works on any model (a problem, an order, a floor event) and on
    lists and dicts of them. Paths read like `orders[3].due`, `sites[0].holidays[1]`."""
    lo, hi = _shift(anchor, -limits.span_days), _shift(anchor, limits.span_days)
    near = f"within {limits.span_days} days of {anchor_name} ({_iso(anchor)})"
    faults: list[tuple[str, str]] = []

    def leaf(where: str, v: object) -> None:
        if isinstance(v, datetime):
            if not lo <= v <= hi:
                faults.append((where, f"{_iso(v)} is out of range: times must lie {near}"))
        elif isinstance(v, date):
            if not lo.date() <= v <= hi.date():
                faults.append((where, f"{v.isoformat()} is out of range: dates must lie {near}"))
        elif isinstance(v, BaseModel | list | tuple | dict):
            walk(where, v)

    def walk(where: str, v: object) -> None:
        if isinstance(v, BaseModel):
            if isinstance(v, Order) and v.quantity > limits.max_quantity:
                faults.append((f"{where}.quantity" if where else "quantity",
                               f"{v.quantity} units is more than the limit of "
                               f"{limits.max_quantity} per order"))
            if type(v) is Order:  # the many: only its times (a quick path)
                for name in ("due", "release"):
                    t = getattr(v, name)
                    if t is not None and not lo <= t <= hi:
                        leaf(f"{where}.{name}" if where else name, t)
                return
            for name, item in v.__dict__.items():
                if item is not None and not isinstance(item, str | int | float):
                    leaf(f"{where}.{name}" if where else name, item)
        elif isinstance(v, list | tuple):
            for i, item in enumerate(v):
                ident = item.__dict__.get("id") if isinstance(item, BaseModel) else None
                if isinstance(ident, str):
                    leaf(f"{where}[{i}] (id '{ident}')", item)
                elif not isinstance(item, str | int | float):
                    leaf(f"{where}[{i}]", item)
        elif isinstance(v, dict):
            for key, item in v.items():
                if not isinstance(item, str | int | float):
                    leaf(f"{where}.{key}" if where else str(key), item)

    leaf(path, node)
    return faults


def check_limits(p: Problem, limits: Limits) -> list[str]:
    """The faults of `limit_faults` for a problem, anchored at its `horizon_start`, which
    itself lies between 1970 and 2200; one message per fault."""
    t0 = p.horizon_start
    if not EARLIEST_START <= t0 < LATEST_START:
        return [f"horizon_start: {_iso(t0)} is out of range: it must lie from "
                f"{EARLIEST_START:%Y-%m-%d} to before {LATEST_START:%Y-%m-%d}"]
    return [f"{where}: {msg}" for where, msg in limit_faults(p, limits, t0, "horizon_start")
            if where != "horizon_start"]
