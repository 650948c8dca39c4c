"""SPEC section 6 as the planning model reads it: spread-risk quotas and power windows.

`read_section6` checks the raw JSON (every fault named, all at once);
`section6_of` reads the same fields from a `Problem` whose model carries them (it finds
nothing on a problem model without them). Times become minutes from `horizon_start`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from itertools import pairwise
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from solver.problem import Problem, ProblemError

_TIME = TypeAdapter(AwareDatetime)


@dataclass(frozen=True, slots=True)
class PowerWindow:
    """Within ``[start, end)`` minutes the site's power cap is `cap_kw`."""

    start: float
    end: float
    cap_kw: float


@dataclass(frozen=True)
class Section6:
    """Quotas (shares as exact fractions) and each site's power windows."""

    max_site_share: Fraction | None = None
    customer_share: dict[str, Fraction] = field(default_factory=dict)
    power_windows: dict[str, list[PowerWindow]] = field(default_factory=dict)

    def quota(self, customer: str | None) -> Fraction | None:
        """The share in force for `customer` (None: no quota, or no customer)."""
        if customer is None:
            return None
        return self.customer_share.get(customer, self.max_site_share)

    def limit(self, share: Fraction, units: int) -> int:
        """Rule 10: the most of a customer's `units` one site may build."""
        return math.ceil(share * units)


def _minutes(t0: datetime, t: datetime) -> float:
    return (t - t0).total_seconds() / 60.0


def _share(value: object, where: str, errs: list[str]) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errs.append(f"{where}: {value!r} is not a number in (0, 1]")
        return None
    if not 0 < value <= 1:
        errs.append(f"{where}: {value!r} is not in (0, 1]")
        return None
    return Fraction(str(value))


def _windows(
    raw: object, where: str, t0: datetime, errs: list[str]
) -> list[PowerWindow]:
    if not isinstance(raw, list):
        errs.append(f"{where}: must be a list of windows")
        return []
    out: list[tuple[int, PowerWindow]] = []
    for i, w in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(w, Mapping):
            errs.append(f"{at}: must be an object with start, end and power_cap_kw")
            continue
        extra = set(w) - {"start", "end", "power_cap_kw"}
        for name in sorted(extra):
            errs.append(f"{at}.{name}: unknown field")
        times: list[datetime] = []
        for name in ("start", "end"):
            try:
                times.append(_TIME.validate_python(w.get(name)))
            except ValidationError:
                errs.append(f"{at}.{name}: {w.get(name)!r} is not a time with a UTC offset")
        cap = w.get("power_cap_kw")
        ok_cap = (not isinstance(cap, bool) and isinstance(cap, int | float)
                  and math.isfinite(cap) and cap > 0)
        if not ok_cap:
            errs.append(f"{at}.power_cap_kw: {cap!r} is not a number > 0")
        if len(times) != 2:
            continue
        if times[1] <= times[0]:
            errs.append(f"{at}.end: is not after start")
            continue
        if ok_cap:
            assert isinstance(cap, int | float)
            out.append((i, PowerWindow(_minutes(t0, times[0]), _minutes(t0, times[1]),
                                       float(cap))))
    out.sort(key=lambda iw: iw[1].start)
    for (i, a), (j, b) in pairwise(out):
        if b.start < a.end:
            errs.append(f"{where}: windows {min(i, j)} and {max(i, j)} overlap")
    return [w for _, w in out]


def read_section6(data: Mapping[str, Any], problem: Problem) -> Section6:
    """The `policies` and sites' `power_windows` of raw problem JSON, checked.

    Parameters
    ----------
    data
        The problem as parsed JSON (the fields of other sections are not looked at).
    problem
        The same problem, checked (`load_problem` on it without the section 6 fields).

    Raises
    ------
    ProblemError
        Listing every fault: a share outside (0, 1], a window whose end is not after its
        start, overlapping windows of one site, and a quota that the orders'
        `allowed_sites` (and fixed steps) make impossible, naming the customer and site.
    """
    errs: list[str] = []
    t0 = problem.horizon_start
    share: Fraction | None = None
    per: dict[str, Fraction] = {}
    pol = data.get("policies")
    if pol is not None:
        if not isinstance(pol, Mapping):
            errs.append("policies: must be an object")
        else:
            for name in sorted(set(pol) - {"max_site_share", "customers"}):
                errs.append(f"policies.{name}: unknown field")
            if pol.get("max_site_share") is not None:
                share = _share(pol["max_site_share"], "policies.max_site_share", errs)
            cust = pol.get("customers", {})
            if not isinstance(cust, Mapping):
                errs.append("policies.customers: must be an object")
                cust = {}
            for cid, spec in cust.items():
                at = f"policies.customers.{cid}"
                if not isinstance(spec, Mapping) or "max_site_share" not in spec:
                    errs.append(f"{at}: must be an object with max_site_share")
                    continue
                for name in sorted(set(spec) - {"max_site_share"}):
                    errs.append(f"{at}.{name}: unknown field")
                got = _share(spec["max_site_share"], f"{at}.max_site_share", errs)
                if got is not None:
                    per[str(cid)] = got
    windows: dict[str, list[PowerWindow]] = {}
    sites = data.get("sites")
    for i, s in enumerate(sites if isinstance(sites, list) else []):
        if isinstance(s, Mapping) and s.get("power_windows") is not None:
            where = f"sites[{i}] (id '{s.get('id')}').power_windows"
            windows[str(s.get("id"))] = _windows(s["power_windows"], where, t0, errs)
    out = Section6(share, per, windows)
    errs += quota_faults(problem, out)
    if errs:
        raise ProblemError(errs)
    return out


def quota_faults(problem: Problem, s6: Section6) -> list[str]:
    """Quotas that the orders' allowed sites and fixed steps make impossible: one message
    per customer and site that must take more units than the quota allows."""
    all_sites = [s.id for s in problem.sites]
    res_site = {r.id: r.site for r in problem.resources}
    pinned: dict[tuple[str, int], str] = {}
    for f in problem.fixed:
        if f.resource in res_site:
            pinned[(f.order, f.unit)] = res_site[f.resource]
    total: dict[str, int] = {}
    forced: dict[tuple[str, str], int] = {}
    for o in problem.orders:
        if o.customer is None:
            continue
        total[o.customer] = total.get(o.customer, 0) + o.quantity
        allowed = o.allowed_sites if o.allowed_sites is not None else all_sites
        for u in range(1, o.quantity + 1):
            site = pinned.get((o.id, u)) or (allowed[0] if len(allowed) == 1 else None)
            if site is not None:
                forced[(o.customer, site)] = forced.get((o.customer, site), 0) + 1
    out = []
    for (cust, site), n in sorted(forced.items()):
        share = s6.quota(cust)
        if share is not None and n > s6.limit(share, total[cust]):
            out.append(
                f"policies: customer '{cust}' must have {n} of its {total[cust]} units built "
                f"at site '{site}' (allowed_sites and fixed steps), more than its quota "
                f"{float(share):g} allows ({s6.limit(share, total[cust])})"
            )
    return out


def section6_of(problem: Problem) -> Section6:
    """Section 6 from a problem model that carries `policies` and sites' `power_windows`
    (attributes named as the JSON fields); empty when it carries neither."""
    t0 = problem.horizon_start
    pol: Any = getattr(problem, "policies", None)
    share: Fraction | None = None
    per: dict[str, Fraction] = {}
    if pol is not None:
        top = getattr(pol, "max_site_share", None)
        share = None if top is None else Fraction(str(top))
        for cid, spec in (getattr(pol, "customers", None) or {}).items():
            got = getattr(spec, "max_site_share", spec)
            if got is not None:
                per[str(cid)] = Fraction(str(got))
    windows: dict[str, list[PowerWindow]] = {}
    for s in problem.sites:
        raw: Any = getattr(s, "power_windows", None)
        if raw:
            windows[s.id] = sorted(
                (PowerWindow(_minutes(t0, w.start), _minutes(t0, w.end), float(w.power_cap_kw))
                 for w in raw),
                key=lambda w: w.start,
            )
    return Section6(share, per, windows)
