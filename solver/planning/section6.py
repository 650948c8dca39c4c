"""SPEC section 6 as the planning model reads it: spread-risk quotas and power windows.

The problem model (`solver.problem`) reads and checks both; `section6_of` takes them from
a `Problem` (shares as exact fractions, times as minutes from `horizon_start`), and
`read_section6` from raw JSON beside a problem checked without them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from solver.problem import Problem, load_problem


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


def read_section6(data: Mapping[str, Any], problem: Problem) -> Section6:
    """The `policies` and sites' `power_windows` of raw problem JSON, checked by the
    problem model (`solver.problem`) together with `problem`.

    Parameters
    ----------
    data
        The problem as parsed JSON (only its section 6 fields are read: `policies` and
        each site's `power_windows`, matched to `problem`'s sites by id).
    problem
        The same problem, checked (with or without the section 6 fields).

    Raises
    ------
    ProblemError
        Listing every fault: a share outside (0, 1], a window whose end is not after its
        start, overlapping windows of one site, and a quota that the orders'
        `allowed_sites` (and fixed steps) make impossible, naming the customer and site.
    """
    merged = problem.model_dump(mode="json", exclude_none=True)
    merged.pop("policies", None)
    if data.get("policies") is not None:
        merged["policies"] = data["policies"]
    raw_sites = data.get("sites")
    windows = {
        s.get("id"): s["power_windows"]
        for s in (raw_sites if isinstance(raw_sites, list) else [])
        if isinstance(s, Mapping) and s.get("power_windows") is not None
    }
    for site in merged["sites"]:
        site.pop("power_windows", None)
        if site["id"] in windows:
            site["power_windows"] = windows[site["id"]]
    return section6_of(load_problem(merged))


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
    """Section 6 of a problem model: its `policies` and its sites' `power_windows`
    (empty when it has neither), shares as exact fractions, times in minutes."""
    t0 = problem.horizon_start
    pol = problem.policies
    share: Fraction | None = None
    per: dict[str, Fraction] = {}
    if pol is not None:
        share = None if pol.max_site_share is None else Fraction(str(pol.max_site_share))
        per = {cid: Fraction(str(cp.max_site_share)) for cid, cp in pol.customers.items()}
    windows: dict[str, list[PowerWindow]] = {}
    for s in problem.sites:
        if s.power_windows:
            windows[s.id] = sorted(
                (PowerWindow(_minutes(t0, w.start), _minutes(t0, w.end), w.power_cap_kw)
                 for w in s.power_windows),
                key=lambda w: w.start,
            )
    return Section6(share, per, windows)


def admit_fixed(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A problem document whose quotas admit the racks its fixed steps already pin.

    A rack with a fixed step is built where that step ran: a fact the plan cannot undo.
    When a customer's racks pinned at one site already exceed its quota there (the quota
    or the orders changed since those racks started), no schedule keeps rule 10, so for
    that customer alone the share becomes the least one (to four decimals, rounded up)
    whose limit holds the pinned racks, written as its own override in `policies`, and
    a note says so. Racks that only `allowed_sites` force to a site are not relaxed:
    that stays an input error. Data that does not read as a problem is returned as it
    is (the problem model names its faults).

    Returns
    -------
    tuple
        The document (a shallow copy when changed) and one note per customer relaxed.
    """
    pol = data.get("policies")
    fixed = data.get("fixed")
    if not isinstance(pol, Mapping) or not isinstance(fixed, list) or not fixed:
        return dict(data), []
    try:
        res_site = {str(r["id"]): str(r["site"]) for r in data.get("resources") or []}
        pinned = {(str(f["order"]), int(f["unit"])): res_site[str(f["resource"])]
                  for f in fixed if str(f.get("resource")) in res_site}
        orders = [(str(o["id"]), o.get("customer"), int(o.get("quantity", 1)))
                  for o in data.get("orders") or []]
        default = pol.get("max_site_share")
        own = {str(k): v.get("max_site_share") for k, v in (pol.get("customers") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return dict(data), []
    total: dict[str, int] = {}
    at: dict[tuple[str, str], int] = {}
    for oid, cust, qty in orders:
        if not isinstance(cust, str):
            continue
        total[cust] = total.get(cust, 0) + qty
        for u in range(1, qty + 1):
            site = pinned.get((oid, u))
            if site is not None:
                at[cust, site] = at.get((cust, site), 0) + 1
    raised: dict[str, float] = {}
    notes: list[str] = []
    for (cust, site), n in sorted(at.items()):
        share = own.get(cust, default)
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
            continue
        limit = math.ceil(Fraction(str(share)) * total[cust])
        if n <= limit:
            continue
        need = min(1.0, math.ceil(Fraction(n, total[cust]) * 10_000) / 10_000)
        if need > raised.get(cust, 0.0):
            raised[cust] = need
            notes.append(
                f"policies: customer '{cust}' already has {n} of its {total[cust]} racks "
                f"started at site '{site}', more than its quota {share:g} allows "
                f"({limit}); this plan holds its quota at {need:g}")
    if not raised:
        return dict(data), []
    customers = {**(pol.get("customers") or {})}
    for cust, need in raised.items():
        customers[cust] = {**(customers.get(cust) or {}), "max_site_share": need}
    return {**data, "policies": {**pol, "customers": customers}}, notes
