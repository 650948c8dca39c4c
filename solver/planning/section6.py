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
