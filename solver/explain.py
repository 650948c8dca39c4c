"""Why is this order late: the chain that made it late, read from the problem and the schedule.

Like the validator, this module works from a `Problem` and a SPEC section 3 schedule alone:
no solver run, no compiled model. It uses `solver.calendar` for the available windows.
`explain(problem, schedule)` assumes a schedule the validator accepts; a schedule whose
items cannot be read raises `ExplainError` listing every fault.

All times inside are whole minutes from `horizon_start`. A due date is read rounded down to
the minute and a release rounded up (so tardiness is exactly SPEC rule 9's figure).

The chain
---------
For a late order, the chain is the routing of its latest rack (the unit with the latest
delivery; ties: the lowest unit number). It runs from the chain's start ``T0`` (the order's
release, or `horizon_start` when there is none or it is earlier; a fixed first step that
starts earlier moves ``T0`` to its start) to the order's delivery ``D``, and tiles that span
exactly: for each step, its wait from its ready time (``T0`` for the first step, the
previous step's end after that) to its start, then its run from start to end; then the
transit from the last end to the delivery. So, in integer minutes::

    chain_min = sum(waits) + sum(runs) + transit = D - T0
              = tardiness + slack,  with  slack = due - T0,

where the slack is the time the order had from the chain's start to its due date (negative
when it was due before it could start). The identity is exact for every late order.

Causes of a wait
----------------
Each minute ``t`` of a step's wait is judged on every *option*: each eligible resource at the
rack's site on which a start at ``t`` would have ended before the step's actual end (the
step's own resource is always one). On an option the start at ``t`` is held by

- the calendar: no available window of the resource holds ``[t, t + duration)`` (it is
  closed at ``t``, or the window ends too soon); the closure that holds it is named by the
  most specific reason it contains, in the order downtime (which window), holiday (which
  local date), weekend (it contains a whole local day without shifts), shift (an ordinary
  closure between shifts); the others it contains are listed in ``also``;
- the resource: all its capacity slots are taken at some moment of ``[t, t + duration)`` by
  other racks' steps (their items and orders are named);
- the power cap: the other steps running at the site then, plus this step, would draw more
  than the cap in force (the site's ``power_windows`` when the problem model has them, else
  ``power_cap_kw``).

On each option, a start held for several of these reasons is held by the one that strikes
first within ``[t, t + duration)`` (ties: calendar, resource, power): a start at 14:01 on a
line booked from 14:00 waits for the line, one at 23:00 for the closed shift. A minute is
held when every option is held. Its cause is the calendar (named by the own resource's
closure: ``downtime``, ``holiday``, ``weekend`` or ``shift``) if every option's first
conflict is its calendar, else ``resource`` if each is the calendar or the capacity, else
``power``;
the other reasons that held the step's own resource then are listed in ``also``. A minute
that no option held is ``idle``: the plan could have started the step then without moving
anything else. Waits of a fixed step are ``fixed``; minutes before `horizon_start` are
``horizon_start``. Consecutive minutes with the same cause form one wait, in time order.

A step run on a resource slower than the fastest eligible one at its site has
``run - fastest`` extra minutes; each is judged the same way on the faster resources (see
`_Explainer._slower`) and listed under ``slower``.

Per-order bound and site choice
-------------------------------
The *structural bound* is the earliest delivery of each of the order's racks alone in the
factory: from the release, every step at its earliest start in an available window of its
fastest-ending eligible resource (fixed steps where they are fixed), at the best allowed site,
plus the transit; a step that draws power only starts where the cap in force allows it alone.
This is a proven lower bound on the order's delivery in every valid schedule.
``structural_bound_min`` is the least tardiness it implies (0: the order could be on time
alone). When it is positive and the release is after `horizon_start`, the ``release`` cause
gets the minutes the same bound would lose with a release at `horizon_start`.

The *site choice* measure stays inside this schedule: for every other allowed site that can
run the routing, the order's late racks (latest first, racks with fixed steps excluded) are
placed there one by one, each step at its earliest start in the capacity, power and
calendars that this schedule leaves free at that site (nothing else moves; each placed rack
takes what it uses). A rack that would not arrive earlier there stays where it is, and the
racks after it too. When the order's delivery that way is earlier, the difference is the
site-choice minutes, and ``moved`` lists the placements (they form a valid schedule with the
rest of this one). The customer's site-share quota (SPEC section 6, rule 10) caps how many
racks may move to a site: the latest racks move first, up to the quota's limit less the
customer's racks already built there. When the quota keeps racks back that would arrive
earlier, a ``quota`` cause gets the minutes lost that way, naming the customer, the site,
the share, the limit and the racks already there.

Classes
-------
- ``structural``: ``structural_bound_min > 0``.
- Otherwise the largest of the capacity minutes (``resource`` + ``power`` waits), the
  site-choice minutes, the quota minutes and the ``idle`` minutes decides (ties in that
  order):
  ``priority`` when capacity is largest and at least half of its minutes (`PRIORITY_SHARE`)
  are waits in which an order of lower priority held the resource or the power (an order
  whose weight is at most this one's and whose due date is at least as late, one of the two
  strictly); else ``capacity``, naming each resource group (kind and site) or site power
  with its minutes and ISO weeks (site local); ``site``; ``quota`` (a site-share quota keeps
  its racks from a site where they would arrive earlier); ``plan`` (the plan left it idle,
  or ran it on slower resources, with nothing holding it).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any, NotRequired, TypeGuard
from zoneinfo import ZoneInfo

from typing_extensions import TypedDict  # the TypedDict pydantic reads on 3.11

from solver.calendar import Interval, merge, minutes_between, resource_windows, site_windows
from solver.problem import DAYS, Problem, Product, Site, eligible, site_limit

__all__ = [
    "CLASSES",
    "PRIORITY_SHARE",
    "Cause",
    "ChainStep",
    "ExplainError",
    "Explanation",
    "Group",
    "OrderExplanation",
    "Other",
    "SiteChoice",
    "Summary",
    "TopCause",
    "Transit",
    "Wait",
    "WhatIf",
    "Yielded",
    "explain",
    "late_because",
    "render_text",
]

DAY = 1440
PRIORITY_SHARE = 0.5
"""Share of the capacity-wait minutes behind lower-priority orders that makes it `priority`."""
CLASSES = ("structural", "priority", "capacity", "site", "quota", "plan")
TOP_CAUSES = 10
"""How many causes the summary ranks."""
MARGIN = 28 * DAY
"""Minutes past the schedule's last moment over which calendars are read."""
POWER_EPSILON = Fraction(1e-9)
"""Slack on a site's power cap, as the validator allows it (kW)."""
_NEG = -(1 << 62)
_BIG = 10**18  # headroom of an uncapped moment
_SPECIAL = ("downtime", "holiday", "weekend")

Num = int | Fraction

# ---- the output (JSON-ready) ------------------------------------------------------------

Wait = TypedDict(
    "Wait",
    {
        "cause": str,
        "minutes": int,
        "from": str,
        "to": str,
        "from_min": int,
        "to_min": int,
        "also": list[str],
        "ids": dict[str, Any],
        "text": str,
    },
)
"""One wait of a step: `cause` held it from `from` to `to` (see the module docstring)."""


class ChainStep(TypedDict):
    """One routing step of the latest rack, with the waits before its start."""

    unit: int
    op: str
    item: str
    resource: str
    site: str
    ready: str
    ready_min: int
    ready_from: str  # "release", "horizon_start" or the previous step's item id
    start: str
    end: str
    start_min: int
    end_min: int
    run_min: int
    fastest_min: int  # the step's shortest duration on an eligible resource at the site
    waits: list[Wait]  # from ready to start
    slower: list[Wait]  # run_min - fastest_min minutes: why not on a faster resource


class Transit(TypedDict):
    """The last segment of the chain: from the last step's end to the delivery."""

    site: str
    destination: str | None
    minutes: int
    start: str
    end: str


class Cause(TypedDict):
    """A cause of an order's lateness, its minutes summed over the chain."""

    cause: str
    subject: str
    minutes: int
    ids: dict[str, Any]
    text: str


class Group(TypedDict):
    """A resource group (kind at a site) or a site's power that held the order."""

    group: str
    cause: str  # "resource" or "power"
    kind: str | None
    site: str
    minutes: int
    weeks: list[str]


class Yielded(TypedDict):
    """An order of lower priority that held this one."""

    order: str
    weight: float
    due: str
    minutes: int


class SiteChoice(TypedDict):
    """A better allowed site for the order's late racks, inside this schedule's free room."""

    site: str
    better_site: str
    minutes: int
    delivery_there: str
    on_time_there: bool
    moved: list[dict[str, Any]]


class Other(TypedDict):
    """Another order whose tardiness the change moves."""

    order: str
    weight: float
    tardiness_before_min: int
    tardiness_min: int
    delta_min: int


class WhatIf(TypedDict):
    """One checked counterfactual for a late order."""

    kind: str
    change: dict[str, Any]
    text: str
    tardiness_before_min: int
    tardiness_min: int
    delivery: str
    on_time: bool
    others_weighted_delta_min: float
    others: list[Other]
    checked: str
    seconds: float
    schedule: NotRequired[dict[str, Any]]


OrderExplanation = TypedDict(
    "OrderExplanation",
    {
        "order": str,
        "customer": str | None,
        "quantity": int,
        "weight": float,
        "due": str,
        "delivery": str,
        "tardiness_min": int,
        "class": str,
        "summary": str,
        "unit": int,
        "site": str,
        "chain_start": str,
        "chain_start_from": str,
        "slack_min": int,
        "chain_min": int,
        "chain": list[ChainStep],
        "transit": Transit,
        "causes": list[Cause],
        "structural_bound_min": int,
        "earliest_delivery": str,
        "capacity": list[Group],
        "priority": list[Yielded],
        "site_choice": SiteChoice | None,
        "what_if": NotRequired[list[WhatIf]],
    },
)
"""Why one order is late (see the module docstring for every figure). ``what_if``, when
present, holds the checked counterfactuals that `solver.whatif` adds on request."""


class TopCause(TypedDict):
    """A cause ranked over all explained orders by weighted minutes."""

    cause: str
    subject: str
    minutes: int
    weighted_minutes: float
    orders: list[str]


class Summary(TypedDict):
    """Counts over the explained orders."""

    orders: int
    late: int
    explained: int
    total_weighted_tardiness_min: float
    by_class: dict[str, int]
    top_causes: list[TopCause]


class Explanation(TypedDict):
    """Everything `explain` returns; `reasons` says why nothing is explained, if so."""

    problem: str
    status: str
    reasons: list[str]
    summary: Summary
    orders: list[OrderExplanation]


class ExplainError(ValueError):
    """The schedule cannot be read against the problem; `errors` lists every fault."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# ---- public entry points ----------------------------------------------------------------


def explain(
    problem: Problem, schedule: Mapping[str, Any], order: str | None = None
) -> Explanation:
    """Explain every late order of a schedule (or only `order`).

    Parameters
    ----------
    problem
        The problem the schedule solves, as `load_problem` returns it.
    schedule
        A SPEC section 3 schedule that the validator accepts.
    order
        Explain only this order id (nothing when it is on time; `reasons` says so).

    Returns
    -------
    Explanation
        Per late order its chain, causes, class and summary sentences, plus a summary over
        them. A schedule with status INFEASIBLE or UNKNOWN explains nothing and says why.

    Raises
    ------
    ExplainError
        If `order` is not an order of the problem, or the schedule's items do not read as
        one complete schedule of the problem (every fault listed).
    """
    if order is not None and all(o.id != order for o in problem.orders):
        raise ExplainError([f"order '{order}' is not in the problem"])
    status = str(schedule.get("status"))
    if status in ("INFEASIBLE", "UNKNOWN"):
        reasons = [f"the schedule's status is {status}: there is no plan to explain"]
        given = schedule.get("reasons")
        if isinstance(given, list):
            reasons += [str(r) for r in given]
        return _explanation(problem, status, reasons, [], 0, 0.0)
    ex = _Explainer(problem, schedule)
    late = [oi for oi in range(len(problem.orders)) if ex.tardiness(oi) > 0]
    twt = sum(problem.orders[oi].weight * ex.tardiness(oi) for oi in late)
    reasons = []
    chosen = late
    if order is not None:
        oi = next(i for i, o in enumerate(problem.orders) if o.id == order)
        chosen = [oi] if oi in late else []
        if not chosen:
            reasons.append(
                f"order '{order}' is on time: delivered {ex.iso(ex.order_delivery(oi))}, "
                f"due {ex.iso(ex.due[oi])}"
            )
    elif not late:
        reasons.append("every order is on time: there is nothing to explain")
    out = [ex.explain_order(oi) for oi in chosen]
    return _explanation(problem, status, reasons, out, len(late), twt)


def render_text(explanation: Explanation) -> str:
    """The explanation as the plain-text report a planner reads.

    Parameters
    ----------
    explanation
        What `explain` returned.

    Returns
    -------
    str
        The summary first, then per order its sentences, its chain step by step with each
        wait, and the minutes' sum; lines joined by newlines, with a trailing newline.
    """
    s = explanation["summary"]
    lines = [
        f"{explanation['problem']}: {s['late']} of {s['orders']} orders late "
        f"(weighted tardiness {_n(s['total_weighted_tardiness_min'])} min)"
    ]
    lines += explanation["reasons"]
    if explanation["orders"]:
        counts = ", ".join(f"{k} {v}" for k, v in s["by_class"].items() if v)
        lines.append(f"Explained: {s['explained']} ({counts})")
    if s["top_causes"]:
        lines.append("Top causes (weight x minutes):")
        for c in s["top_causes"]:
            lines.append(
                f"  {_n(c['weighted_minutes']):>12}  {c['cause']:<9} {c['subject']} "
                f"({say_minutes(c['minutes'])} in {len(c['orders'])} order"
                f"{'s' if len(c['orders']) != 1 else ''})"
            )
    for o in explanation["orders"]:
        lines.append("")
        lines.append(
            f"{o['order']}  {say_minutes(o['tardiness_min'])} late  [{o['class']}]  weight "
            f"{_n(o['weight'])}, due {_hm(o['due'])}, delivered {_hm(o['delivery'])}"
        )
        lines.append(f"  {o['summary']}")
        lines.append(
            f"  Rack {o['unit']} at {o['site']}, from {_hm(o['chain_start'])} "
            f"({o['chain_start_from']}):"
        )
        for st in o["chain"]:
            lines += _wait_lines(st["waits"], "wait")
            lines.append(
                f"    {st['op']:<10} {st['resource']:<12} {_hm(st['start'])} -> "
                f"{_hm(st['end'])}  {say_minutes(st['run_min'])}"
            )
            lines += _wait_lines(st["slower"], "slower")
        t = o["transit"]
        if t["minutes"]:
            lines.append(
                f"    transit    {t['site']} -> {t['destination']}  {say_minutes(t['minutes'])}"
            )
        lines.append(
            f"  Chain {_n(o['chain_min'])} min = tardiness {_n(o['tardiness_min'])} + slack "
            f"{_n(o['slack_min'])} (due - chain start); alone it could be delivered "
            f"{_hm(o['earliest_delivery'])}"
        )
        lines += _what_if_lines(o)
    return "\n".join(lines) + "\n"


def late_because(o: OrderExplanation) -> str:
    """Why the order is late in one line, for a table cell: its class, then the sentence
    after the delivery (``capacity: Its last rack waited 1 d 1 h for assembly at CMH
    (2026-W50).``)."""
    head = (f"after its due date {_hm(o['due'])}.")
    text = o["summary"]
    at = text.find(head)
    tail = text[at + len(head):].strip() if at >= 0 else text
    return f"{o['class']}: {tail}" if tail else o["class"]


def _what_if_lines(o: OrderExplanation) -> list[str]:
    """The order's counterfactuals, when they were asked for, one sentence each."""
    if "what_if" not in o:
        return []
    found = o["what_if"]
    if not found:
        return ["  What would make it on time: no change tried (priority, site, resource, "
                "shift, power) makes it less late."]
    out = ["  What would make it on time (each re-solved and validated):"]
    out += [f"    {i}. {w['text']}" for i, w in enumerate(found, start=1)]
    return out


def _wait_lines(waits: Sequence[Wait], word: str, most: int = 4) -> list[str]:
    """A step's waits one a line; past `most`, one line per cause with its spans counted
    and the orders that held it."""
    if len(waits) <= most:
        out = []
        for w in waits:
            also = f" (also {', '.join(w['also'])})" if w["also"] else ""
            out.append(f"      {word} {say_minutes(w['minutes']):>12}  "
                       f"{w['cause']}{also}: {w['text']}")
        return out
    by: dict[str, tuple[int, int, list[str]]] = {}
    for w in waits:
        m, n, orders = by.get(w["cause"], (0, 0, []))
        orders += [x for x in w["ids"].get("orders", []) if x not in orders]
        by[w["cause"]] = (m + w["minutes"], n + 1, orders)
    total = say_minutes(sum(w["minutes"] for w in waits))
    out = [f"      {word} {total:>12}  in {len(waits)} spans:"]
    for cause, (m, n, orders) in sorted(by.items(), key=lambda x: -x[1][0]):
        held = f", held by {say_ids(orders, 5)}" if orders else ""
        out.append(f"        {say_minutes(m):>12}  {cause} ({n} span{'s' if n > 1 else ''}{held})")
    return out


# ---- the engine -------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    id: str
    oi: int
    unit: int
    k: int
    r: int
    site: int
    start: int
    end: int
    kw: Num
    fixed: bool


@dataclass(slots=True)
class _Profile:
    """A step function of headroom: `hs[i]` holds on `[xs[i], xs[i+1])` (`xs[0]` is -inf).
    For power, `ls` is the load of the other steps at the same breakpoints."""

    xs: list[int]
    hs: list[Num]
    ls: list[Num] = field(default_factory=list)


@dataclass(slots=True)
class _Closures:
    """The complement of a resource's windows: spans, each with its reason."""

    a: list[int]
    b: list[int]
    kind: list[str]
    also: list[list[str]]
    ids: list[dict[str, Any]]


@dataclass(slots=True)
class _Option:
    """An eligible resource for a start in the wait: the starts each reason holds, and
    where its conflicts lie (closures of the calendar, moments the capacity or the power
    is short)."""

    r: int
    d: int
    cut: int  # starts before this end before the step's actual end
    cal: list[tuple[int, int, int]]  # held starts (from, to, closure index)
    busy: list[Interval]  # held starts
    power: list[Interval]  # held starts
    full: list[Interval]  # moments every slot is taken
    short: list[Interval]  # moments the power is short


Overlay = list[tuple[int, int, Num]]  # (from, to, extra use) added to a profile's use


class _Explainer:
    """One explanation run over one schedule."""

    def __init__(self, problem: Problem, schedule: Mapping[str, Any]) -> None:
        self.p = problem
        self.h = problem.horizon_start
        self.res = problem.resources
        self.res_ix = {r.id: i for i, r in enumerate(self.res)}
        self.sites = problem.sites
        self.site_ix = {s.id: i for i, s in enumerate(self.sites)}
        self.res_site = [self.site_ix[r.site] for r in self.res]
        self.products = {x.id: x for x in problem.products}
        self.orders = problem.orders
        self.order_ix = {o.id: i for i, o in enumerate(self.orders)}
        self.tz = [ZoneInfo(s.timezone) for s in self.sites]
        self.due = [minutes_between(self.h, o.due) for o in self.orders]
        self.release = [
            max(0, -minutes_between(o.release, self.h)) if o.release else 0 for o in self.orders
        ]
        self.fixed = {(f.order, f.unit, f.op) for f in problem.fixed}
        figures = [st.power_kw for x in problem.products for st in x.routing] + [
            c for site in self.sites
            for c in [site.power_cap_kw, *(w.power_cap_kw for w in _windows(site))]
            if c is not None
        ]
        self.whole_kw = all(float(x).is_integer() for x in figures)
        self.units: dict[tuple[int, int], list[_Item]] = {}
        self._read(schedule)
        last = max((it.end for ops in self.units.values() for it in ops), default=0)
        self.H = max([last, *self.due, *self.release]) + MARGIN
        self._elig: dict[tuple[str, int], list[tuple[int, int]]] = {}
        self._w0: dict[int, list[Interval]] = {}
        self._w1: dict[str, list[Interval]] = {}
        self._w2: dict[int, list[Interval]] = {}
        self._closures: dict[int, _Closures] = {}
        self._starts: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        self._calb: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
        self._occ: dict[int, _Profile] = {}
        self._pow: dict[int, _Profile | None] = {}
        self._cap: dict[int, _Profile | None] = {}
        self._by_res: dict[int, tuple[list[int], list[_Item], int]] = {}
        self._by_site: dict[int, tuple[list[int], list[_Item], int]] = {}
        self._paths: dict[int, tuple[int, int, list[tuple[int, int, int, int]]]] = {}
        self._deliv = {key: self._unit_delivery(ops) for key, ops in self.units.items()}

    # ---- reading ------------------------------------------------------------------------

    def _read(self, schedule: Mapping[str, Any]) -> None:
        """Resolve every item; raise `ExplainError` listing every fault."""
        errs: list[str] = []
        items = schedule.get("items")
        if not isinstance(items, list):
            raise ExplainError(["the schedule has no list of 'items' (validate it first)"])
        seen: dict[tuple[int, int, int], _Item] = {}
        for i, raw in enumerate(items):
            where = f"items[{i}]"
            if not isinstance(raw, Mapping):
                errs.append(f"{where} is not an object")
                continue
            oid, unit, op, group = (raw.get(k) for k in ("order", "unit", "op", "group"))
            oi = self.order_ix.get(oid) if isinstance(oid, str) else None
            if oi is None:
                errs.append(f"{where}: order {oid!r} is not in the problem")
                continue
            o = self.orders[oi]
            ops = [st.op for st in self.products[o.product].routing]
            r = self.res_ix.get(group) if isinstance(group, str) else None
            a, b = raw.get("start_min"), raw.get("end_min")
            if not _is_int(unit) or not 1 <= unit <= o.quantity or op not in ops:
                errs.append(f"{where}: unit {unit!r} op {op!r} is not a step of order '{o.id}'")
                continue
            if r is None or not _is_int(a) or not _is_int(b) or b <= a:
                errs.append(f"{where}: needs a resource 'group' and whole start_min < end_min")
                continue
            k = ops.index(op)
            if (oi, unit, k) in seen:
                errs.append(f"{where}: step {o.id}/{unit}/{op} appears twice")
                continue
            kw = self.products[o.product].routing[k].power_kw
            it = _Item(
                id=f"{o.id}/{unit}/{op}", oi=oi, unit=unit, k=k, r=r, site=self.res_site[r],
                start=a, end=b, kw=self.kw(kw), fixed=(o.id, unit, op) in self.fixed,
            )
            seen[(oi, unit, k)] = it
        for oi, o in enumerate(self.orders):
            n = len(self.products[o.product].routing)
            for u in range(1, o.quantity + 1):
                found = [seen[(oi, u, k)] for k in range(n) if (oi, u, k) in seen]
                if len(found) < n:
                    errs.append(f"order '{o.id}' unit {u}: some step has no item")
                else:
                    self.units[(oi, u)] = found
        if errs:
            raise ExplainError([*errs[:50], "(validate the schedule first)"])

    # ---- small lookups ------------------------------------------------------------------

    def iso(self, minute: int) -> str:
        """A minute from horizon_start as a SPEC UTC time."""
        t = self.h + timedelta(minutes=minute)
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def kw(self, x: float) -> Num:
        """A power figure, exact: an int when every figure of the problem is whole."""
        return int(x) if self.whole_kw else Fraction(x)

    def need(self, kw: Num) -> Num:
        """The headroom a step of `kw` needs (the validator's slack when not whole)."""
        return kw if self.whole_kw else kw - POWER_EPSILON

    def local(self, site: int, minute: int) -> datetime:
        return (self.h + timedelta(minutes=minute)).astimezone(self.tz[site])

    def _lt(self, site: int, minute: int) -> str:
        """Local wall time for a sentence: ``Sat 31 Oct 22:00``."""
        return self.local(site, minute).strftime("%a %d %b %H:%M")

    def _product(self, oi: int) -> Product:
        return self.products[self.orders[oi].product]

    def eligible_at(self, oi: int, k: int, site: int) -> list[tuple[int, int]]:
        """(resource index, duration) of each eligible resource of step `k` at `site`."""
        prod = self._product(oi)
        key = (prod.id, k)
        found = self._elig.get(key)
        if found is None:
            found = self._elig[key] = [
                (self.res_ix[r.id], d) for r, d in eligible(self.p, prod, prod.routing[k])
            ]
        return [(r, d) for r, d in found if self.res_site[r] == site]

    def transit(self, oi: int, site: int) -> int:
        dest = self.orders[oi].destination
        return self.sites[site].transit_min.get(dest, 0) if dest else 0

    def _unit_delivery(self, ops: list[_Item]) -> int:
        return ops[-1].end + self.transit(ops[-1].oi, ops[-1].site)

    def order_delivery(self, oi: int) -> int:
        return max(self._deliv[(oi, u)] for u in range(1, self.orders[oi].quantity + 1))

    def tardiness(self, oi: int) -> int:
        return max(0, self.order_delivery(oi) - self.due[oi])

    def allowed(self, oi: int) -> list[int]:
        o = self.orders[oi]
        ids = o.allowed_sites if o.allowed_sites is not None else [s.id for s in self.sites]
        return [self.site_ix[s] for s in ids]

    # ---- calendars ----------------------------------------------------------------------

    def _site_w1(self, site: int) -> list[Interval]:
        s = self.sites[site]
        if s.id not in self._w1:
            self._w1[s.id] = site_windows(s, self.h, self.H)
        return self._w1[s.id]

    def _site_w0(self, site: int) -> list[Interval]:
        """The site's shift windows without its holidays."""
        if site not in self._w0:
            plain = self.sites[site].model_copy(update={"holidays": []})
            self._w0[site] = site_windows(plain, self.h, self.H)
        return self._w0[site]

    def windows(self, r: int) -> list[Interval]:
        if r not in self._w2:
            res = self.res[r]
            self._w2[r] = resource_windows(
                res, self.sites[self.res_site[r]], self.h, self.H, self._w1
            )
        return self._w2[r]

    def closures(self, r: int) -> _Closures:
        """The spans where `r` is unavailable within [0, H), each with its reason."""
        got = self._closures.get(r)
        if got is not None:
            return got
        res = self.res[r]
        si = self.res_site[r]
        site = self.sites[si]
        on_site = res.calendar == "site"
        w0 = self._site_w0(si) if on_site else [(0, self.H)]
        w1 = self._site_w1(si) if on_site else [(0, self.H)]
        holes = merge(
            (minutes_between(self.h, w.start), -minutes_between(w.end, self.h))
            for w in res.downtime
        )
        working: set[str] = {d for sh in site.shifts for d in sh.days}
        out = _Closures([], [], [], [], [])
        pos = 0
        for a, b in [*self.windows(r), (self.H, self.H)]:
            if a > pos:
                kinds: list[str] = []
                ids: dict[str, Any] = {"resource": res.id, "site": site.id}
                dts = [(x, y) for x, y in holes if x < a and y > pos]
                if dts and _overlaps(w1, pos, a):
                    kinds.append("downtime")
                    ids["downtime"] = [{"start": self.iso(x), "end": self.iso(y)} for x, y in dts]
                if on_site and _minus(w0, w1, pos, a):
                    days = self._holidays_in(si, pos, a)
                    kinds.append("holiday")
                    ids["holidays"] = days
                if on_site and site.shifts and self._has_weekend(si, pos, a, working):
                    kinds.append("weekend")
                kind = kinds[0] if kinds else "shift"
                out.a.append(pos)
                out.b.append(a)
                out.kind.append(kind)
                out.also.append(kinds[1:])
                out.ids.append(ids)
            pos = max(pos, b)
        self._closures[r] = out
        return out

    def _holidays_in(self, site: int, a: int, b: int) -> list[str]:
        first, last = self.local(site, a).date(), self.local(site, b - 1).date()
        return [d.isoformat() for d in self.sites[site].holidays if first <= d <= last]

    def _has_weekend(self, site: int, a: int, b: int, working: set[str]) -> bool:
        """Whether [a, b) holds a whole local day on which no shift is worked."""
        d = self.local(site, a).date()
        last = self.local(site, b).date()
        while d <= last:
            if DAYS[d.weekday()] not in working:
                m0 = self._midnight(site, d)
                if a <= m0 and self._midnight(site, d + timedelta(days=1)) <= b:
                    return True
            d += timedelta(days=1)
        return False

    def _midnight(self, site: int, d: date) -> int:
        t = datetime(d.year, d.month, d.day, tzinfo=self.tz[site])
        return minutes_between(self.h, t)

    def starts(self, r: int, d: int) -> tuple[list[int], list[int]]:
        """First and last starts of the intervals where a `d`-minute step fits on `r`."""
        key = (r, d)
        got = self._starts.get(key)
        if got is None:
            ivs = [(a, b - d) for a, b in self.windows(r) if b - a >= d]
            got = self._starts[key] = ([a for a, _ in ivs], [b for _, b in ivs])
        return got

    def next_start(self, r: int, d: int, t: int) -> int | None:
        """The earliest start at or after `t` of a `d`-minute step in a window of `r`."""
        los, his = self.starts(r, d)
        i = bisect_right(los, t) - 1
        if i >= 0 and his[i] >= t:
            return t
        return los[i + 1] if i + 1 < len(los) else None

    def cal_blocked(self, r: int, d: int) -> list[tuple[int, int, int]]:
        """Starts on `r` of a `d`-minute step that no window holds, with the closure
        (index into `closures(r)`) that holds each; -1 for the end of the calendar."""
        key = (r, d)
        got = self._calb.get(key)
        if got is not None:
            return got
        cl = self.closures(r)
        out: list[tuple[int, int, int]] = []
        for ci, (a, b) in enumerate(zip(cl.a, cl.b, strict=True)):
            out.append((a, b, ci))
        for a, b in self.windows(r):
            nxt = bisect_left(cl.a, b)
            ci = nxt if nxt < len(cl.a) and cl.a[nxt] == b else -1
            lo = a if b - a < d else b - d + 1
            if lo < b:
                out.append((lo, b, ci))
        out.sort()
        self._calb[key] = out
        return out

    # ---- capacity and power -------------------------------------------------------------

    def _items_on(self, r: int) -> tuple[list[int], list[_Item], int]:
        """Items on resource `r` sorted by start, their starts and the longest one."""
        got = self._by_res.get(r)
        if got is None:
            its = sorted(
                (it for ops in self.units.values() for it in ops if it.r == r),
                key=lambda it: it.start,
            )
            got = self._by_res[r] = (
                [it.start for it in its], its, max((it.end - it.start for it in its), default=0)
            )
        return got

    def _drawing_at(self, site: int) -> tuple[list[int], list[_Item], int]:
        """Items drawing power at `site`, sorted by start, their starts, the longest one."""
        got = self._by_site.get(site)
        if got is None:
            its = sorted(
                (it for ops in self.units.values() for it in ops
                 if it.site == site and it.kw > 0),
                key=lambda it: it.start,
            )
            got = self._by_site[site] = (
                [it.start for it in its], its, max((it.end - it.start for it in its), default=0)
            )
        return got

    def occupancy(self, r: int) -> _Profile:
        """Free capacity slots of `r` over time."""
        got = self._occ.get(r)
        if got is None:
            ev: dict[int, int] = {}
            for it in self._items_on(r)[1]:
                ev[it.start] = ev.get(it.start, 0) + 1
                ev[it.end] = ev.get(it.end, 0) - 1
            cap = self.res[r].capacity
            xs: list[int] = [_NEG]
            hs: list[Num] = [cap]
            use = 0
            for t in sorted(ev):
                use += ev[t]
                xs.append(t)
                hs.append(cap - use)
            got = self._occ[r] = _Profile(xs, hs)
        return got

    def cap_spans(self, site: int) -> list[tuple[int, int, Num | None]]:
        """The cap in force at `site` as spans covering every moment (None: no cap)."""
        s = self.sites[site]
        base = None if s.power_cap_kw is None else self.kw(s.power_cap_kw)
        wins = sorted(
            (minutes_between(self.h, w.start), -minutes_between(w.end, self.h),
             self.kw(w.power_cap_kw))
            for w in _windows(s)
        )
        out: list[tuple[int, int, Num | None]] = []
        pos = _NEG
        for a, b, cap in wins:
            if a > pos:
                out.append((pos, a, base))
            out.append((a, b, cap))
            pos = b
        out.append((pos, 1 << 62, base))
        return out

    def _power_profile(self, site: int, with_load: bool) -> _Profile | None:
        spans = self.cap_spans(site)
        if all(c is None for _, _, c in spans):
            return None
        ev: dict[int, Num] = {a: 0 for a, _, _ in spans[1:]}
        if with_load:
            for it in self._drawing_at(site)[1]:
                ev[it.start] = ev.get(it.start, 0) + it.kw
                ev[it.end] = ev.get(it.end, 0) - it.kw
        starts = [a for a, _, _ in spans]
        xs: list[int] = [_NEG]
        hs: list[Num] = []
        ls: list[Num] = []
        load: Num = 0

        def head(t: int, load: Num) -> Num:
            cap = spans[bisect_right(starts, t) - 1][2]
            return _BIG if cap is None else cap - load

        hs.append(head(_NEG, load))
        ls.append(load)
        for t in sorted(ev):
            load += ev[t]
            xs.append(t)
            hs.append(head(t, load))
            ls.append(load)
        return _Profile(xs, hs, ls)

    def power(self, site: int) -> _Profile | None:
        """Headroom of `site` under its cap in force, after every step drawing there."""
        if site not in self._pow:
            self._pow[site] = self._power_profile(site, True)
        return self._pow[site]

    def cap_only(self, site: int) -> _Profile | None:
        """The cap in force at `site` alone (for a rack alone in the factory)."""
        if site not in self._cap:
            self._cap[site] = self._power_profile(site, False)
        return self._cap[site]

    # ---- one order ----------------------------------------------------------------------

    def explain_order(self, oi: int) -> OrderExplanation:
        o = self.orders[oi]
        units = range(1, o.quantity + 1)
        unit = max(units, key=lambda u: (self._deliv[(oi, u)], -u))
        ops = self.units[(oi, unit)]
        site = ops[-1].site
        delivery = self.order_delivery(oi)
        tard = delivery - self.due[oi]
        rel = self.release[oi]
        t0 = min(rel, ops[0].start)
        start_from = "release" if o.release is not None and rel > 0 else "horizon_start"
        if ops[0].start < rel:
            start_from = "fixed step"
        chain: list[ChainStep] = []
        ready, ready_from = t0, start_from
        for it in ops:
            waits = self._waits(it, ready)
            slower = self._slower(it)
            chain.append({
                "unit": unit, "op": it.id.rsplit("/", 1)[1], "item": it.id,
                "resource": self.res[it.r].id, "site": self.sites[site].id,
                "ready": self.iso(ready), "ready_min": ready, "ready_from": ready_from,
                "start": self.iso(it.start), "end": self.iso(it.end),
                "start_min": it.start, "end_min": it.end, "run_min": it.end - it.start,
                "fastest_min": it.end - it.start - sum(w["minutes"] for w in slower),
                "waits": waits, "slower": slower,
            })
            ready, ready_from = it.end, it.id
        tr = self.transit(oi, site)
        transit: Transit = {
            "site": self.sites[site].id, "destination": o.destination, "minutes": tr,
            "start": self.iso(ops[-1].end), "end": self.iso(ops[-1].end + tr),
        }
        chain_min = sum(w["minutes"] for st in chain for w in st["waits"]) + sum(
            st["run_min"] for st in chain
        ) + tr
        held = [w for st in chain for w in (*st["waits"], *st["slower"])]
        bound = self._alone_order(oi, None)
        sbound = max(0, bound - self.due[oi])
        causes = self._causes(chain, transit)
        if sbound > 0 and rel > 0:
            early = max(0, self._alone_order(oi, 0) - self.due[oi])
            if sbound > early:
                causes.append({
                    "cause": "release", "subject": f"release of {o.id}",
                    "minutes": sbound - early,
                    "ids": {"order": o.id, "release": self.iso(rel)},
                    "text": (
                        f"released {self._lt(site, rel)} ({self.sites[site].id} time); "
                        f"released at horizon_start it could be {say_minutes(sbound - early)} "
                        "less late, even alone"
                    ),
                })
        site_choice, quota = self._site_choice(oi, site)
        if quota is not None:
            causes.append(quota)
        if site_choice is not None:
            causes.append({
                "cause": "site", "subject": f"built at {site_choice['site']}, not "
                f"{site_choice['better_site']}", "minutes": site_choice["minutes"],
                "ids": {"site": site_choice["site"], "better_site": site_choice["better_site"]},
                "text": (
                    f"at {site_choice['better_site']} its late racks would arrive "
                    f"{say_minutes(site_choice['minutes'])} earlier, in the room this plan leaves "
                    "free there"
                ),
            })
        causes.sort(key=lambda c: -c["minutes"])
        groups = self._groups(chain)
        yielded = self._yielded(oi, held)
        cls = self._classify(sbound, held, yielded, site_choice, quota)
        ex: OrderExplanation = {
            "order": o.id, "customer": o.customer, "quantity": o.quantity, "weight": o.weight,
            "due": self.iso(self.due[oi]), "delivery": self.iso(delivery),
            "tardiness_min": tard, "class": cls, "summary": "", "unit": unit,
            "site": self.sites[site].id, "chain_start": self.iso(t0),
            "chain_start_from": start_from, "slack_min": self.due[oi] - t0,
            "chain_min": chain_min, "chain": chain, "transit": transit, "causes": causes,
            "structural_bound_min": sbound, "earliest_delivery": self.iso(bound),
            "capacity": groups, "priority": yielded, "site_choice": site_choice,
        }
        ex["summary"] = _sentences(ex, self._alone_words(oi) if sbound > 0 else "")
        return ex

    # ---- waits --------------------------------------------------------------------------

    def _waits(self, it: _Item, ready: int) -> list[Wait]:
        """The waits of step `it` from `ready` to its start, one per cause in time order."""
        out: list[Wait] = []
        lo, hi = ready, it.start
        if hi <= lo:
            return out
        if it.fixed:
            return [self._wait("fixed", lo, hi, [], {"item": it.id},
                               "the step is fixed at this time in the problem")]
        if lo < 0:
            out.append(self._wait("horizon_start", lo, min(0, hi), [], {},
                                  "the plan starts at horizon_start"))
            lo = min(0, hi)
        if hi <= lo:
            return out
        own = self.units[(it.oi, it.unit)]
        modes = [(r, d) for r, d in self.eligible_at(it.oi, it.k, it.site) if r != it.r]
        opts = [
            self._option(it, r, d, lo, hi, own)
            for r, d in [(it.r, it.end - it.start), *modes]  # its own resource first
            if lo < min(hi, it.end - d)
        ]
        return out + self._held(it, lo, hi, opts)

    def _slower(self, it: _Item) -> list[Wait]:
        """Why step `it` ran longer than on the fastest eligible resource at its site.

        Its run is `fastest` minutes of work plus `run - fastest` minutes, one for each start
        ``t`` in ``[start, start + run - fastest)`` at which a faster resource could have
        begun it and still ended before its end: each such minute gets the cause that held
        every faster resource then (``idle`` when one of them was free).
        """
        d = it.end - it.start
        faster = sorted(
            ((r, x) for r, x in self.eligible_at(it.oi, it.k, it.site) if x < d),
            key=lambda m: (m[1], m[0]),
        )
        if it.fixed or not faster:
            return []
        lo, hi = it.start, it.end - faster[0][1]
        own = self.units[(it.oi, it.unit)]
        opts = [self._option(it, r, x, lo, hi, own) for r, x in faster]
        out = self._held(it, lo, hi, opts)
        rid = self.res[it.r].id
        for w in out:
            w["text"] = f"ran on the slower {rid}: " + w["text"]
        return out

    def _held(self, it: _Item, lo: int, hi: int, opts: list[_Option]) -> list[Wait]:
        """The starts of `it` in [lo, hi) judged on `opts` (the first is valid throughout),
        cut into consecutive pieces of one cause each."""
        pts = {lo}
        for op in opts:
            if lo < op.cut < hi:
                pts.add(op.cut)
            for a, b, _ in op.cal:
                pts.update(x for x in (a, b) if lo < x < hi)
            cl = self.closures(op.r)
            i = bisect_left(cl.b, lo)
            while i < len(cl.a) and cl.a[i] < hi:
                pts.update(x for x in (cl.a[i], cl.b[i]) if lo < x < hi)
                i += 1
            for spans in (op.busy, op.power, op.full, op.short):
                for a, b in spans:
                    pts.update(x for x in (a, b) if lo < x < hi)
        cuts = sorted(pts)
        first = opts[0].r
        pieces: list[tuple[int, int, str, int, list[str], set[int]]] = []
        for n, p in enumerate(cuts):
            q = cuts[n + 1] if n + 1 < len(cuts) else hi
            valid = [op for op in opts if p < op.cut]
            held = [self._conflicts(op, p) for op in valid]
            kinds = [h[0][0] if h else None for h in held]
            mine = held[0]
            if all(k == "calendar" for k in kinds):
                cause, detail = "calendar", mine[0][1]
            elif all(k in ("calendar", "resource") for k in kinds):
                cause, detail = "resource", -1
            elif all(k is not None for k in kinds):
                cause, detail = "power", -1
            else:
                cause, detail = "idle", -1
            also = [
                (self.closures(first).kind[ci] if ci >= 0 else "shift") if k == "calendar" else k
                for k, ci in mine if k != cause
            ]
            free = {op.r for op, h in zip(valid, held, strict=True) if not h}
            if pieces and pieces[-1][2] == cause and pieces[-1][3] == detail:
                a0, _, _, _, al, fr = pieces[-1]
                pieces[-1] = (a0, q, cause, detail, al + [x for x in also if x not in al],
                              fr | free)
            else:
                pieces.append((p, q, cause, detail, also, free))
        return [self._piece(it, opts, *piece) for piece in pieces]

    def _option(
        self, it: _Item, r: int, d: int, lo: int, hi: int, own: list[_Item]
    ) -> _Option:
        """What holds a start of step `it` on `r` (duration `d`) within [lo, hi)."""
        top = min(hi, it.end - d)
        cal = [(max(a, lo), min(b, top), ci) for a, b, ci in self.cal_blocked(r, d)
               if a < top and b > lo]
        ov_r: Overlay = [(x.start, x.end, -1) for x in own if x.r == r]
        full = _deficits(self.occupancy(r), lo, top + d - 1, 1, ov_r)
        short: list[Interval] = []
        prof = self.power(it.site)
        if prof is not None and it.kw > 0:
            ov_p: Overlay = [(x.start, x.end, -x.kw) for x in own
                             if x.site == it.site and x.kw > 0]
            short = _deficits(prof, lo, top + d - 1, self.need(it.kw), ov_p)
        return _Option(r, d, top, cal, _starts_hit(full, d, lo, top),
                       _starts_hit(short, d, lo, top), full, short)

    def _conflicts(self, op: _Option, t: int) -> list[tuple[str, int]]:
        """What holds a start at `t` on the option, first conflict first (ties: calendar,
        resource, power): (reason, closure index or -1)."""
        found: list[tuple[int, int, str, int]] = []
        ci = _cal_at(op.cal, t)
        if ci is not None:
            cl = self.closures(op.r)
            at = self.H if ci < 0 else (t if cl.a[ci] <= t else cl.a[ci])
            found.append((at, 0, "calendar", ci))
        if _inside(op.busy, t):
            found.append((_first_from(op.full, t), 1, "resource", -1))
        if _inside(op.power, t):
            found.append((_first_from(op.short, t), 2, "power", -1))
        return [(name, ci) for _, _, name, ci in sorted(found)]

    def _wait(
        self, cause: str, a: int, b: int, also: list[str], ids: dict[str, Any], text: str
    ) -> Wait:
        return {"cause": cause, "minutes": b - a, "from": self.iso(a), "to": self.iso(b),
                "from_min": a, "to_min": b, "also": also, "ids": ids, "text": text}

    def _piece(
        self, it: _Item, opts: list[_Option], p: int, q: int, cause: str, detail: int,
        also: list[str], free: set[int],
    ) -> Wait:
        """One wait of `it` from `p` to `q` held by `cause`, with its ids and sentence."""
        first = opts[0].r
        rid = self.res[first].id
        valid = [op for op in opts if p < op.cut]
        names = [self.res[op.r].id for op in valid]
        site = self.sites[it.site].id
        if cause == "calendar":
            cl = self.closures(first)
            if detail < 0:
                return self._wait("shift", p, q, also, {"resource": rid, "site": site},
                                  f"{rid} has no window long enough before its calendar ends")
            kind = cl.kind[detail]
            ids = dict(cl.ids[detail])
            if len(names) > 1:
                ids["resources"] = names
            a, b = cl.a[detail], cl.b[detail]
            span = f"{self._lt(it.site, a)} to {self._lt(it.site, b)} local"
            if kind == "downtime":
                dts = ", ".join(f"{w['start']} to {w['end']}" for w in ids["downtime"])
                text = f"{rid} is down ({dts})"
            elif kind == "holiday":
                text = f"{site} is closed for its holiday {', '.join(ids['holidays'])} ({span})"
            elif kind == "weekend":
                text = f"{site} is closed over the weekend ({span})"
            else:
                text = f"{site} has no shift open ({span})"
            if p < a:
                text = f"the {say_minutes(opts[0].d)} step no longer fits before it closes: {text}"
            return self._wait(kind, p, q, [*cl.also[detail], *also], ids, text)
        if cause in ("resource", "power"):
            holders, peak = self._holders(it, valid, p, q, cause)
            orders = sorted({h.id.rsplit("/", 2)[0] for h in holders})
            ids = {"resources": names, "items": [h.id for h in holders], "orders": orders}
            who = _who(holders)
            if cause == "resource":
                kind = self.res[first].kind or it.id.rsplit("/", 1)[1]
                text = f"every {kind} slot at {site} ({', '.join(names)}) was taken: {who}"
            else:
                caps = self._caps_between(it.site, p, q + it.end - it.start)
                ids = {"site": site, "cap_kw": [float(c) for c in caps],
                       "peak_kw": float(peak), "step_kw": float(it.kw),
                       "items": [h.id for h in holders], "orders": orders}
                cap = " / ".join(_n(float(c)) for c in caps) or "none"
                text = (f"{site}'s power cap ({cap} kW) left no room for {_n(float(it.kw))} kW"
                        + (f": {who}" if holders else ", even with nothing else running"))
            return self._wait(cause, p, q, also, ids, text)
        spare = sorted(self.res[r].id for r in free)
        return self._wait(
            "idle", p, q, also, {"resources": spare},
            f"nothing held it: {', '.join(spare)} could have started it at "
            f"{self._lt(it.site, p)} local",
        )

    def _holders(
        self, it: _Item, valid: list[_Option], p: int, q: int, cause: str
    ) -> tuple[list[_Item], Num]:
        """The other racks' steps that held the capacity (or power) during [p, q), and for
        power the peak those steps drew then (kW)."""
        found: dict[str, _Item] = {}
        own = self.units[(it.oi, it.unit)]
        peak: Num = 0
        for op in valid:
            top = min(q, op.cut) + op.d - 1
            if cause == "resource":
                if not any(a < q and b > p for a, b in op.busy):
                    continue
                spans = _clip(op.full, p, top)
                starts, its, longest = self._items_on(op.r)
            else:
                pprof = self.power(it.site)
                if pprof is None or not any(a < q and b > p for a, b in op.power):
                    continue
                spans = _clip(op.short, p, top)
                ov: Overlay = [(x.start, x.end, -x.kw) for x in own
                               if x.site == it.site and x.kw > 0]
                starts, its, longest = self._drawing_at(it.site)
                peak = max(peak, _peak(pprof, spans, ov))
            for a, b in spans:
                i = bisect_left(starts, a - longest)
                j = bisect_left(starts, b)
                for h in its[i:j]:
                    if h.end > a and (h.oi, h.unit) != (it.oi, it.unit):
                        found[h.id] = h
        return sorted(found.values(), key=lambda h: (h.start, h.id)), peak

    def _caps_between(self, site: int, a: int, b: int) -> list[Num]:
        return sorted({c for x, y, c in self.cap_spans(site) if x < b and y > a and c is not None})

    # ---- what an order meets alone, and elsewhere ---------------------------------------

    def _alone_order(self, oi: int, ready: int | None) -> int:
        """The structural bound: the latest of the racks' earliest deliveries alone."""
        o = self.orders[oi]
        rel = self.release[oi] if ready is None else ready
        plain: int | None = None
        best = 0
        for u in range(1, o.quantity + 1):
            pinned = [it for it in self.units[(oi, u)] if it.fixed]
            if not pinned and plain is not None:
                continue
            sites = [pinned[0].site] if pinned else self.allowed(oi)
            routes = [
                (x[0], s, x[1]) for s in sites
                if (x := self._route(oi, s, rel, {it.k: it for it in pinned}, None)) is not None
            ]
            got = min(routes)[0] if routes else None
            if routes and not pinned and ready is None:
                self._paths[oi] = min(routes)
            # the rack's own placement bounds what it can do alone at its site
            value = self._deliv[(oi, u)] if got is None else min(got, self._deliv[(oi, u)])
            if not pinned:
                plain = value
            best = max(best, value)
        return best

    def _alone_words(self, oi: int) -> str:
        """What the order's earliest route alone is made of, in words."""
        path = self._paths.get(oi)
        if path is None:
            return ""
        _, site, placed = path
        rel = self.release[oi]
        t = rel
        work = 0
        closed: dict[str, int] = {}
        for _, r, a, b in placed:
            if a > t:
                ci = _cal_at(self.cal_blocked(r, b - a), t)
                kind = self.closures(r).kind[ci] if ci is not None and ci >= 0 else "power cap"
                closed[kind] = closed.get(kind, 0) + a - t
            work += b - a
            t = max(t, b)
        tr = self.transit(oi, site)
        when = "its release" if rel > 0 else "horizon_start"
        bits = [f"{say_minutes(work)} of work"]
        if closed:
            kinds = ", ".join(
                f"{k} {say_minutes(m)}" for k, m in sorted(closed.items(), key=lambda x: -x[1])
            )
            bits.append(f"{say_minutes(sum(closed.values()))} of closures ({kinds})")
        if tr:
            bits.append(f"{say_minutes(tr)} of transit to {self.orders[oi].destination}")
        return (f"from {when} at {self.sites[site].id} a rack needs {', '.join(bits)}, against "
                f"{say_minutes(self.due[oi] - rel)} from {when} to the due date")

    def _route(
        self, oi: int, site: int, ready: int, pinned: Mapping[int, _Item],
        room: dict[int, Overlay] | None, limit: int | None = None,
    ) -> tuple[int, list[tuple[int, int, int, int]]] | None:
        """Earliest delivery of one rack of order `oi` at `site` from `ready`.

        Alone (`room` None) each step only needs a window and the cap in force; with `room`
        it also needs the capacity and power this schedule leaves free, plus `room`'s extra
        use (keyed by resource, and by ``-1 - site`` for power). Returns the delivery and
        the placements (k, resource, start, end), or None when a step cannot run there or
        the delivery would not be before `limit`.
        """
        prod = self._product(oi)
        tr = self.transit(oi, site)
        modes = [self.eligible_at(oi, k, site) for k in range(len(prod.routing))]
        if any(not m for m in modes):
            return None
        # what must follow each step's end at least: the later steps' shortest runs, transit
        after = [tr] * len(modes)
        for k in range(len(modes) - 2, -1, -1):
            after[k] = after[k + 1] + min(d for _, d in modes[k + 1])
        t = ready
        placed: list[tuple[int, int, int, int]] = []
        for k, st in enumerate(prod.routing):
            if k in pinned:
                f = pinned[k]
                placed.append((k, f.r, f.start, f.end))
                t = f.end
                continue
            kw = self.kw(st.power_kw)
            best: tuple[int, int, int] | None = None  # (end, start, resource)
            for r, d in modes[k]:
                s = self._earliest(r, d, site, kw, t, room, limit, after[k])
                if s is not None and (best is None or s + d < best[0]):
                    best = (s + d, s, r)
            if best is None:
                return None
            e, s, r = best
            placed.append((k, r, s, e))
            t = e
        if limit is not None and t + tr >= limit:
            return None
        return t + tr, placed

    def _earliest(
        self, r: int, d: int, site: int, kw: Num, t: int,
        room: dict[int, Overlay] | None, limit: int | None, tr: int,
    ) -> int | None:
        """Earliest start at or after `t` of a `d`-minute step on `r` (see `_route`);
        None when none ends `tr` minutes before `limit`."""
        occ = self.occupancy(r) if room is not None else None
        pw = (self.power(site) if room is not None else self.cap_only(site)) if kw > 0 else None
        ov_r = room.get(r, []) if room is not None else []
        ov_p = room.get(-1 - site, []) if room is not None else []
        need = self.need(kw)
        while True:
            s = self.next_start(r, d, t)
            if s is None or (limit is not None and s + d + tr >= limit):
                return None
            nxt = s
            if occ is not None:
                nxt = max(nxt, _clear_after(occ, s, s + d, 1, ov_r))
            if pw is not None:
                nxt = max(nxt, _clear_after(pw, s, s + d, need, ov_p))
            if nxt == s:
                return s
            t = nxt

    def _quota_room(self, oi: int, site: int) -> tuple[float, int, int] | None:
        """Rule 10 for the order's customer at `site`: (share, limit, racks of the customer
        already built there), None when no quota holds the customer."""
        o = self.orders[oi]
        pol = getattr(self.p, "policies", None)
        share = pol.share(o.customer) if pol is not None else None
        if share is None:
            return None
        total = 0
        there = 0
        for oj, other in enumerate(self.orders):
            if other.customer != o.customer:
                continue
            total += other.quantity
            there += sum(1 for u in range(1, other.quantity + 1)
                         if any(it.site == site for it in self.units.get((oj, u), [])))
        return share, site_limit(share, total), there

    def _site_choice(self, oi: int, site: int) -> tuple[SiteChoice | None, Cause | None]:
        """The best other allowed site for the order's late racks (module docstring), and
        the quota cause when the customer's site-share quota holds some of them back."""
        o = self.orders[oi]
        delivery = self.order_delivery(oi)
        late = sorted(
            (u for u in range(1, o.quantity + 1)
             if self._deliv[(oi, u)] > self.due[oi]
             and not any(it.fixed for it in self.units[(oi, u)])),
            key=lambda u: (-self._deliv[(oi, u)], u),
        )
        n_steps = len(self._product(oi).routing)
        best: SiteChoice | None = None
        held: Cause | None = None
        for b in self.allowed(oi):
            if b == site or any(not self.eligible_at(oi, k, b) for k in range(n_steps)):
                continue
            if late and self._route(oi, b, self.release[oi], {}, None, delivery) is None:
                continue  # not even alone would its racks arrive sooner there
            room: dict[int, Overlay] = {}
            moved: dict[int, int] = {}
            places: list[list[dict[str, Any]]] = []
            for u in late:
                if self.units[(oi, u)][-1].site == b:
                    break
                got = self._route(oi, b, self.release[oi], {}, room, self._deliv[(oi, u)])
                if got is None:
                    break
                moved[u] = got[0]
                mine: list[dict[str, Any]] = []
                for k, r, s, e in got[1]:
                    room.setdefault(r, []).append((s, e, 1))
                    kw = self.kw(self._product(oi).routing[k].power_kw)
                    if kw > 0:
                        room.setdefault(-1 - b, []).append((s, e, kw))
                    mine.append({
                        "item": f"{o.id}/{u}/{self._product(oi).routing[k].op}",
                        "order": o.id, "unit": u, "op": self._product(oi).routing[k].op,
                        "resource": self.res[r].id, "site": self.sites[b].id,
                        "start": self.iso(s), "end": self.iso(e), "start_min": s, "end_min": e,
                    })
                places.append(mine)
            if not moved:
                continue
            free = len(moved)
            quota = self._quota_room(oi, b)
            if quota is not None:
                free = max(0, min(free, quota[1] - quota[2]))
            kept = dict(list(moved.items())[:free])  # the latest racks first, as placed

            def arrival(m: dict[int, int]) -> int:
                return max(m.get(u, self._deliv[(oi, u)]) for u in range(1, o.quantity + 1))

            gain = delivery - arrival(kept)
            lost = (delivery - arrival(moved)) - gain
            if quota is not None and lost > 0 and (held is None or lost > held["minutes"]):
                share, limit, there = quota
                cust = str(o.customer)
                n = len(moved) - free
                held = {
                    "cause": "quota", "subject": f"{cust}'s quota at {self.sites[b].id}",
                    "minutes": lost,
                    "ids": {"customer": cust, "site": self.sites[b].id, "share": share,
                            "limit": limit, "built": there},
                    "text": (
                        f"customer {cust}'s site-share quota ({share:g}: at most {limit} of "
                        f"its racks at one site, {there} already at {self.sites[b].id}) keeps "
                        f"{n} of its late racks from {self.sites[b].id}, where they would "
                        f"arrive {say_minutes(lost)} earlier still"
                    ),
                }
            if gain > 0 and (best is None or gain > best["minutes"]):
                best = {
                    "site": self.sites[site].id, "better_site": self.sites[b].id,
                    "minutes": gain, "delivery_there": self.iso(arrival(kept)),
                    "on_time_there": arrival(kept) <= self.due[oi],
                    "moved": [p for mine in places[:free] for p in mine],
                }
        return best, held

    # ---- per-order figures --------------------------------------------------------------

    def _causes(self, chain: list[ChainStep], transit: Transit) -> list[Cause]:
        """The chain's waits summed per cause and subject, plus the transit."""
        by: dict[tuple[str, str], Cause] = {}
        for st in chain:
            for w in (*st["waits"], *st["slower"]):
                subject = self._subject(w, st)
                c = by.get((w["cause"], subject))
                if c is None:
                    by[(w["cause"], subject)] = {
                        "cause": w["cause"], "subject": subject, "minutes": w["minutes"],
                        "ids": {k: (list(v) if isinstance(v, list) else v)
                                for k, v in w["ids"].items()},
                        "text": w["text"],
                    }
                else:
                    c["minutes"] += w["minutes"]
                    for k, v in w["ids"].items():
                        have = c["ids"].get(k)
                        if isinstance(v, list) and isinstance(have, list):
                            if all(isinstance(x, str) for x in v):
                                known = set(have)
                                have += [x for x in v if x not in known]
                            else:
                                have += [x for x in v if x not in have]
        out = list(by.values())
        if transit["minutes"]:
            out.append({
                "cause": "transit",
                "subject": f"transit {transit['site']} to {transit['destination']}",
                "minutes": transit["minutes"],
                "ids": {"site": transit["site"], "destination": transit["destination"]},
                "text": f"{say_minutes(transit['minutes'])} of transit from {transit['site']} to "
                f"{transit['destination']}",
            })
        return out

    def _subject(self, w: Wait, st: ChainStep) -> str:
        c, ids = w["cause"], w["ids"]
        site = st["site"]
        if c == "resource":
            kind = self.res[self.res_ix[st["resource"]]].kind or st["op"]
            return f"{kind} at {site}"
        if c == "power":
            return f"power cap at {site}"
        if c == "holiday":
            return f"holiday {', '.join(ids.get('holidays', []))} at {site}"
        if c == "downtime":
            return f"downtime of {st['resource']}"
        if c in ("shift", "weekend"):
            return f"{c} at {site}"
        if c == "idle":
            return "idle in the plan"
        return c.replace("_", " ")

    def _groups(self, chain: list[ChainStep]) -> list[Group]:
        """The resource groups and site powers that held the chain, with their weeks."""
        by: dict[str, Group] = {}
        for st in chain:
            si = self.site_ix[st["site"]]
            for w in (*st["waits"], *st["slower"]):
                if w["cause"] not in ("resource", "power"):
                    continue
                kind = self.res[self.res_ix[st["resource"]]].kind or st["op"]
                name = f"{kind} at {st['site']}" if w["cause"] == "resource" \
                    else f"power at {st['site']}"
                g = by.setdefault(name, {
                    "group": name, "cause": w["cause"],
                    "kind": kind if w["cause"] == "resource" else None, "site": st["site"],
                    "minutes": 0, "weeks": [],
                })
                g["minutes"] += w["minutes"]
                for wk in self._weeks(si, w["from_min"], w["to_min"]):
                    if wk not in g["weeks"]:
                        g["weeks"].append(wk)
        for g in by.values():
            g["weeks"].sort()
        return sorted(by.values(), key=lambda g: -g["minutes"])

    def _weeks(self, site: int, a: int, b: int) -> list[str]:
        d, last = self.local(site, a).date(), self.local(site, b - 1).date()
        out: list[str] = []
        while True:
            y, wk, _ = d.isocalendar()
            tag = f"{y}-W{wk:02d}"
            if tag not in out:
                out.append(tag)
            if d >= last:
                return out
            d = min(last, d + timedelta(days=7 - d.weekday()))

    def _lower(self, oi: int, hi: int) -> bool:
        """Whether order `hi` is of lower priority than order `oi` (module docstring)."""
        a, b = self.orders[oi], self.orders[hi]
        return (b.weight <= a.weight and self.due[hi] >= self.due[oi]
                and (b.weight < a.weight or self.due[hi] > self.due[oi]))

    def _yielded(self, oi: int, held: list[Wait]) -> list[Yielded]:
        """Lower-priority orders among the holders of the chain's capacity waits."""
        mins: dict[str, int] = {}
        for w in held:
            if w["cause"] in ("resource", "power"):
                for oid in w["ids"]["orders"]:
                    hi = self.order_ix[oid]
                    if hi != oi and self._lower(oi, hi):
                        mins[oid] = mins.get(oid, 0) + w["minutes"]
        out: list[Yielded] = [
            {"order": oid, "weight": self.orders[self.order_ix[oid]].weight,
             "due": self.iso(self.due[self.order_ix[oid]]), "minutes": m}
            for oid, m in mins.items()
        ]
        return sorted(out, key=lambda y: (-y["minutes"], y["order"]))

    def _classify(
        self, sbound: int, waits: list[Wait], yielded: list[Yielded],
        site_choice: SiteChoice | None, quota: Cause | None = None,
    ) -> str:
        """The order's class (module docstring)."""
        if sbound > 0:
            return "structural"
        capacity = sum(w["minutes"] for w in waits if w["cause"] in ("resource", "power"))
        behind = sum(
            w["minutes"] for w in waits if w["cause"] in ("resource", "power")
            and any(y["order"] in w["ids"]["orders"] for y in yielded)
        )
        site = site_choice["minutes"] if site_choice is not None else 0
        idle = sum(w["minutes"] for w in waits if w["cause"] == "idle")
        held = quota["minutes"] if quota is not None else 0
        top = max(capacity, site, held, idle)
        if top > 0 and capacity == top:
            return "priority" if behind >= PRIORITY_SHARE * capacity else "capacity"
        if top > 0 and site == top:
            return "site"
        if top > 0 and held == top:
            return "quota"
        return "plan"


# ---- profile arithmetic -----------------------------------------------------------------


def _windows(site: Site) -> list[Any]:
    """The site's power windows (SPEC section 6) when the problem model has them."""
    return list(getattr(site, "power_windows", None) or [])


def _use(ov: Overlay, t: int) -> Num:
    return sum((u for a, b, u in ov if a <= t < b), start=0)


def _deficits(prof: _Profile, lo: int, hi: int, need: Num, ov: Overlay) -> list[Interval]:
    """The spans within [lo, hi) where the headroom, less the overlay's use, is below
    `need`."""
    if hi <= lo:
        return []
    xs, hs = prof.xs, prof.hs
    i = bisect_right(xs, lo) - 1
    out: list[Interval] = []
    if not ov:
        p, n = lo, len(xs)
        while p < hi:
            q = xs[i + 1] if i + 1 < n and xs[i + 1] < hi else hi
            if hs[i] < need:
                if out and out[-1][1] == p:
                    out[-1] = (out[-1][0], q)
                else:
                    out.append((p, q))
            i += 1
            p = q
        return out
    j = bisect_left(xs, hi)
    pts = sorted({lo, *xs[i + 1:j], *(x for a, b, _ in ov for x in (a, b) if lo < x < hi)})
    for n, p in enumerate(pts):
        q = pts[n + 1] if n + 1 < len(pts) else hi
        while i + 1 < len(xs) and xs[i + 1] <= p:
            i += 1
        if hs[i] - _use(ov, p) < need:
            if out and out[-1][1] == p:
                out[-1] = (out[-1][0], q)
            else:
                out.append((p, q))
    return out


def _clear_after(prof: _Profile, s: int, e: int, need: Num, ov: Overlay) -> int:
    """`s` when [s, e) has room for `need`; else the end of the first shortage in it (the
    first moment after which a start might fit)."""
    short = _deficits(prof, s, e, need, ov)
    if not short:
        return s
    x = short[0][1]
    # the shortage may run on past e: follow it to its end
    while True:
        more = _deficits(prof, x, x + DAY, need, ov)
        if not more or more[0][0] > x:
            return x
        x = more[0][1]


def _starts_hit(spans: list[Interval], d: int, lo: int, hi: int) -> list[Interval]:
    """Starts in [lo, hi) of a `d`-minute step that would overlap one of `spans`."""
    return merge((max(lo, a - d + 1), min(hi, b)) for a, b in spans)


def _peak(prof: _Profile, spans: Sequence[Interval], ov: Overlay) -> Num:
    """The largest load of `prof` within `spans`, with the overlay's use added."""
    peak: Num = 0
    for a, b in spans:
        i = bisect_right(prof.xs, a) - 1
        j = bisect_left(prof.xs, b)
        pts = [a, *prof.xs[i + 1:j]]
        for n, x in enumerate(pts):
            peak = max(peak, prof.ls[i + n] + _use(ov, x))
    return peak


def _cal_at(spans: Sequence[tuple[int, int, int]], t: int) -> int | None:
    """The closure index of the span of `spans` (sorted, disjoint) holding `t`, if any."""
    i = bisect_right(spans, (t, 1 << 62, 1 << 62)) - 1
    if i >= 0 and spans[i][0] <= t < spans[i][1]:
        return spans[i][2]
    return None


def _first_from(spans: Sequence[Interval], t: int) -> int:
    """`t` if a span of `spans` (sorted, disjoint) holds it, else the next span's start."""
    i = bisect_right(spans, (t, 1 << 62)) - 1
    if i >= 0 and spans[i][1] > t:
        return t
    return spans[i + 1][0] if i + 1 < len(spans) else 1 << 62


def _inside(spans: Sequence[Interval], t: int) -> bool:
    i = bisect_right(spans, (t, 1 << 62)) - 1
    return i >= 0 and spans[i][0] <= t < spans[i][1]


def _overlaps(spans: Sequence[Interval], a: int, b: int) -> bool:
    """Whether [a, b) meets one of `spans` (sorted, disjoint)."""
    i = bisect_right(spans, (a, 1 << 62)) - 1
    if i >= 0 and spans[i][1] > a:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < b


def _clip(spans: Sequence[Interval], a: int, b: int) -> list[Interval]:
    """`spans` (sorted, disjoint) cut to [a, b)."""
    i = max(0, bisect_right(spans, (a, 1 << 62)) - 1)
    j = bisect_left(spans, (b, _NEG))
    return [(max(x, a), min(y, b)) for x, y in spans[i:j] if x < b and y > a]


def _minus(w0: list[Interval], w1: list[Interval], a: int, b: int) -> list[Interval]:
    """(w0 - w1) within [a, b)."""
    part = _clip(w0, a, b)
    cut = _clip(w1, a, b)
    out: list[Interval] = []
    for x, y in part:
        pos = x
        for c, e in cut:
            if e <= pos or c >= y:
                continue
            if c > pos:
                out.append((pos, c))
            pos = max(pos, e)
        if pos < y:
            out.append((pos, y))
    return out


# ---- words ------------------------------------------------------------------------------


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def _n(x: float) -> str:
    """A figure with thousands separators, without a decimal point when whole."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"


def say_minutes(minutes: int) -> str:
    """Minutes as ``2 d 3 h 15 min``."""
    sign = "-" if minutes < 0 else ""
    m = abs(minutes)
    d, m = divmod(m, DAY)
    h, m = divmod(m, 60)
    parts = [f"{d} d"] if d else []
    if h:
        parts.append(f"{h} h")
    if m or not parts:
        parts.append(f"{m} min")
    return sign + " ".join(parts)


def _hm(iso: str) -> str:
    """``2026-11-02T06:00:00Z`` as ``2026-11-02 06:00Z``."""
    return iso[:10] + " " + iso[11:16] + "Z"


def _who(holders: Sequence[_Item], limit: int = 4) -> str:
    """``SO-7 (racks 1, 2), SO-9 (rack 3) and 2 more orders``."""
    by: dict[str, list[int]] = {}
    for h in holders:
        by.setdefault(h.id.rsplit("/", 2)[0], []).append(h.unit)
    parts = []
    for oid, units in list(by.items())[:limit]:
        us = sorted(set(units))
        parts.append(f"{oid} (rack{'s' if len(us) > 1 else ''} {', '.join(map(str, us))})")
    more = len(by) - limit
    text = ", ".join(parts) if parts else "other steps"
    return text + (f" and {more} more order{'s' if more > 1 else ''}" if more > 0 else "")


def say_ids(ids: Sequence[str], limit: int = 3) -> str:
    """Ids as ``A, B, C and 2 more``."""
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def _sentences(o: OrderExplanation, alone: str) -> str:
    """One or two plain sentences a planner can read to the customer."""
    racks = f" ({o['quantity']} racks)" if o["quantity"] > 1 else ""
    head = (f"{o['order']}{racks} is delivered {_hm(o['delivery'])}, "
            f"{say_minutes(o['tardiness_min'])} after its due date {_hm(o['due'])}.")
    cls = o["class"]
    waits = [w for st in o["chain"] for w in (*st["waits"], *st["slower"])]
    if cls == "structural":
        tail = (f" Even alone in the factory it could not arrive before "
                f"{_hm(o['earliest_delivery'])}, {say_minutes(o['structural_bound_min'])} late: "
                f"{alone}")
        more = o["tardiness_min"] - o["structural_bound_min"]
        plan = [c for c in o["causes"] if c["cause"] in ("resource", "power", "idle")]
        if more > 0 and plan:
            tail += (f"; in this plan it is {say_minutes(more)} later still, its last rack's "
                     f"longest wait being for {plan[0]['subject']} "
                     f"({say_minutes(plan[0]['minutes'])})")
        tail += "."
    elif cls in ("priority", "capacity"):
        gs = o["capacity"]
        held = ", ".join(
            f"{say_minutes(g['minutes'])} for {g['group']} ({', '.join(g['weeks'])})"
            for g in gs[:2]
        )
        tail = f" Its last rack waited {held}"
        if cls == "priority":
            ys = o["priority"]
            tail += (f", mostly behind orders that weigh less or are due later: "
                     f"{say_ids([y['order'] for y in ys])}")
        else:
            own = o["order"] in {oid for w in waits for oid in w["ids"].get("orders", [])}
            if own:
                tail += ", partly behind its own racks"
        tail += "."
    elif cls == "site":
        sc = o["site_choice"]
        assert sc is not None
        tail = (f" Built at {sc['better_site']} instead of {sc['site']}, in the room this plan "
                f"leaves free there, it would arrive {say_minutes(sc['minutes'])} earlier.")
    elif cls == "quota":
        q = next(c for c in o["causes"] if c["cause"] == "quota")
        tail = (f" Its racks are held away from {q['ids']['site']} by {q['ids']['customer']}'s "
                f"site-share quota ({q['ids']['share']:g}, at most {q['ids']['limit']} racks at "
                f"one site): there they would arrive {say_minutes(q['minutes'])} earlier.")
    else:
        idle = sum(w["minutes"] for w in waits if w["cause"] == "idle")
        slow = sum(st["run_min"] - st["fastest_min"] for st in o["chain"])
        bits = []
        if idle:
            bits.append(f"waited {say_minutes(idle)} with nothing holding it")
        if slow:
            bits.append(f"ran {say_minutes(slow)} longer than on the fastest resources")
        tail = (" Nothing in the factory held it: its last rack "
                + (" and ".join(bits) or "took the plan's route") + ".")
    sc = o["site_choice"]
    if sc is not None and cls != "site":
        tail += (f" At {sc['better_site']} it would arrive {say_minutes(sc['minutes'])} earlier "
                 "in the room this plan leaves free there.")
    return head + tail


def _explanation(
    problem: Problem, status: str, reasons: list[str], orders: list[OrderExplanation],
    n_late: int, twt: float,
) -> Explanation:
    by_class = dict.fromkeys(CLASSES, 0)
    for o in orders:
        by_class[o["class"]] += 1
    ranked: dict[tuple[str, str], TopCause] = {}
    for o in orders:
        for c in o["causes"]:
            if c["cause"] == "transit":
                continue
            t = ranked.setdefault((c["cause"], c["subject"]), {
                "cause": c["cause"], "subject": c["subject"], "minutes": 0,
                "weighted_minutes": 0.0, "orders": [],
            })
            t["minutes"] += c["minutes"]
            t["weighted_minutes"] += o["weight"] * c["minutes"]
            t["orders"].append(o["order"])
    top = sorted(ranked.values(), key=lambda t: (-t["weighted_minutes"], t["subject"]))
    wt = int(twt) if float(twt).is_integer() else round(twt, 6)
    return {
        "problem": problem.name, "status": status, "reasons": reasons,
        "summary": {
            "orders": len(problem.orders), "late": n_late, "explained": len(orders),
            "total_weighted_tardiness_min": wt, "by_class": by_class,
            "top_causes": top[:TOP_CAUSES],
        },
        "orders": orders,
    }

