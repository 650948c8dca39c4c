"""The independent judge: every rule of SPEC.md section 2, checked from problem + schedule.

Section 6 too: rule 8 with the cap in force at each moment (a site's `power_windows`),
and rule 10, the spread-risk quotas (`policies`).

`validate(problem, schedule)` returns one plain line per violation (an empty list means the
schedule is valid). Each line starts with what it breaks: ``rule N:`` for SPEC section 2,
``format:`` for the shape of the schedule (section 3), ``fixed:`` for fixed steps not kept
and ``kpi:`` for claimed figures that disagree with the items.

`Occupancy` asks rules 6-8 of one step at a time, against the steps placed so far, and
answers with the same lines (the reschedule's freeze keeps a published step only when it
fits there); both it and `validate` judge those rules in `_Rules`, their one home here.

This module imports nothing of the solver but `solver.problem` (the input contract). In
particular it does not use `solver.calendar`: rule 6 is re-implemented here the other way
round, by converting each step to the site's local time and looking at the shift
occurrences around it, so a calendar bug is not shared by the solver and its judge.
Internally all instants are integer microseconds since the Unix epoch, so every
comparison is exact.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from solver.problem import (
    DAYS,
    FixedStep,
    Objective,
    Order,
    Plannable,
    Problem,
    Product,
    Resource,
    Site,
    eligible,
    load_plannable,
    site_limit,
    unbuildable,
    without_orders,
)

__all__ = ["Occupancy", "validate", "validate_files", "validate_plannable"]

US_PER_MIN = 60_000_000
"""Microseconds in a minute."""
KPI_TOLERANCE = 1e-3
"""Largest accepted difference between a claimed figure and the recomputed one."""
POWER_EPSILON = 1e-9
"""Slack on rule 8: a site's exact float power sum may exceed its cap by this much."""
STATUSES = ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_UTC_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_ITEM_FIELDS = (
    "id", "group", "order", "unit", "op", "product", "site",
    "start", "end", "start_min", "end_min", "depends_on",
)
_TOP_FIELDS = (
    "status", "objective", "objective_value", "lower_bound", "gap", "solve_seconds",
    "kpis", "orders", "groups", "items",
)
_KPI_FIELDS = ("orders", "on_time", "total_weighted_tardiness_min", "makespan_min",
               "utilization")

Span = tuple[int, int]
"""A half-open interval of instants, in microseconds since the epoch."""


# ---- small helpers --------------------------------------------------------------------------


def _us(t: datetime) -> int:
    """Microseconds from the Unix epoch to the aware datetime `t`."""
    return (t - _EPOCH) // _ONE_US


def _utc(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _iso(us: int) -> str:
    """An instant as SPEC writes it: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    t = _utc(us)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{t.microsecond:06d}Z" if t.microsecond else "Z")


def _parse_utc(text: object) -> int | None:
    """A SPEC output time (``YYYY-MM-DDTHH:MM:SSZ``) as an instant; None if it is not one."""
    if not isinstance(text, str) or not _UTC_TEXT.match(text):
        return None
    try:
        return _us(datetime.fromisoformat(text))
    except ValueError:
        return None


def _get(table: Mapping[str, Any], key: object) -> Any:
    """`table[key]` if `key` is a string id in it, else None (never raises)."""
    return table.get(key) if isinstance(key, str) else None


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: object) -> TypeGuard[float]:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _num(x: float) -> str:
    """A number for a message: integers without a decimal point."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def _names(ids: Iterable[str], limit: int = 20) -> str:
    """Sorted ids joined by commas; past `limit`, the rest are counted, not listed."""
    ordered = sorted(ids)
    if len(ordered) <= limit:
        return ", ".join(ordered)
    return ", ".join(ordered[:limit]) + f" and {len(ordered) - limit} more"


def _close(claimed: float, actual: float) -> bool:
    return abs(claimed - actual) <= KPI_TOLERANCE + 1e-12 * abs(actual)


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted union of half-open spans; touching ones merge."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _clip_total(spans: Sequence[Span], lo: int, hi: int, holes: Sequence[Span]) -> int:
    """Length of (union of `spans`) ∩ [lo, hi) minus the union of sorted `holes`."""
    total = 0
    for a, b in spans:
        a, b = max(a, lo), min(b, hi)
        if b <= a:
            continue
        total += b - a
        for ha, hb in holes:
            if hb <= a:
                continue
            if ha >= b:
                break
            total -= min(b, hb) - max(a, ha)
    return total


# ---- rule 6: the site calendar read from the step's side ------------------------------------


@dataclass(frozen=True, slots=True)
class _ShiftRule:
    weekdays: frozenset[int]
    start: int  # minutes after local midnight, 0..1440
    end: int


class _SiteCalendar:
    """Shift occurrences of one site, built per local date on demand (cached)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.tz = ZoneInfo(site.timezone)
        self.holidays = frozenset(site.holidays)
        self.rules = [
            _ShiftRule(frozenset(DAYS.index(d) for d in sh.days), _hhmm(sh.start), _hhmm(sh.end))
            for sh in site.shifts
        ]
        self._by_date: dict[date, list[Span]] = {}

    def local_date(self, us: int) -> date:
        """The site-local calendar date of an instant."""
        return _utc(us).astimezone(self.tz).date()

    def local_text(self, us: int) -> str:
        """An instant as the site's local wall-clock time, for messages."""
        return _utc(us).astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z")

    def _wall(self, d: date, minute: int) -> int:
        """The instant of local wall time `minute` after midnight of `d` (fold=0)."""
        day = d + timedelta(days=minute // 1440)
        minute %= 1440
        return _us(datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                            tzinfo=self.tz))

    def occurrences(self, d: date) -> list[Span]:
        """Open periods that start on local date `d` (holidays remove them)."""
        found = self._by_date.get(d)
        if found is not None:
            return found
        spans: list[Span] = []
        if d not in self.holidays:
            if not self.rules:
                spans.append((self._wall(d, 0), self._wall(d, 1440)))
            for rule in self.rules:
                if d.weekday() in rule.weekdays:
                    end = rule.end if rule.end > rule.start else rule.end + 1440
                    spans.append((self._wall(d, rule.start), self._wall(d, end)))
        self._by_date[d] = spans
        return spans

    def open_between(self, lo: int, hi: int) -> list[Span]:
        """Merged open periods that overlap or touch [lo, hi], unclipped."""
        d = self.local_date(lo) - _ONE_DAY
        last = self.local_date(hi)
        spans: list[Span] = []
        while d <= last:
            spans.extend(self.occurrences(d))
            d += _ONE_DAY
        return [(a, b) for a, b in _merge(spans) if b >= lo and a <= hi]


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


# ---- rules 6-8: one home for the whole schedule and for one step at a time ------------------

Amount = int | Fraction
"""What a step adds to a load: 1 step on a resource (rule 7), exact kW at a site (rule 8)."""
Load = tuple[int, int, str, Amount]
"""A step's share of a load: (start, end, item id, amount), instants half-open."""


def _overloads(
    loads: Sequence[Load], limits: Sequence[tuple[int, float | None]], slack: Amount = 0
) -> list[tuple[int, list[str], Amount, float]]:
    """Where the running sum of `loads` exceeds the limit in force, once per stretch of excess.

    `limits` are (from, limit) in instant order, each in force until the next one's
    instant (the first one from the start of time; None: no limit then); the sum may
    exceed a limit by `slack`. Loads are half-open: one ending at an instant does not
    overlap one starting then. Returns, for the first instant of each stretch, (that
    instant, the ids running then, their sum, the limit in force).
    """
    events = sorted(
        [(b, -1, n) for n, (_, b, _, _) in enumerate(loads)]
        + [(a, 1, n) for n, (a, _, _, _) in enumerate(loads)]
        + [(t, 0, k) for k, (t, _) in enumerate(limits) if k > 0]
    )

    def bound(k: int) -> Amount | float | None:
        cap = limits[k][1]
        return None if cap is None else Fraction(cap) + slack if slack else cap

    k, limit = 0, bound(0)
    active: set[int] = set()
    level: Amount = 0
    over = False
    out: list[tuple[int, list[str], Amount, float]] = []
    for i, (t, kind, n) in enumerate(events):
        if kind < 0:
            active.discard(n)
            level -= loads[n][3]
        elif kind == 0:
            k, limit = n, bound(n)
        else:
            active.add(n)
            level += loads[n][3]
        if i + 1 < len(events) and events[i + 1][0] == t:
            continue  # judge an instant once all that changes then has changed
        if limit is None or level <= limit:
            over = False
        elif not over:
            over = True
            cap = limits[k][1]
            assert cap is not None
            out.append((t, [loads[m][2] for m in active], level, cap))
    return out


class _Rules:
    """Rules 6, 7 and 8 of one problem, judged per step, per resource and per site.

    The whole-schedule checks of `validate` and the step-by-step checks of `Occupancy`
    both ask this class, so a step is judged by the same sentence, the same exact sums and
    the same slack wherever it is judged.
    """

    def __init__(self, problem: Problem) -> None:
        self.h = _us(problem.horizon_start)
        self.resources = {r.id: r for r in problem.resources}
        self.sites = {s.id: s for s in problem.sites}
        self.calendars = {s.id: _SiteCalendar(s) for s in problem.sites}
        self._holes: dict[str, list[Span]] = {}

    def downtime(self, res: Resource) -> list[Span]:
        """Downtime of a resource, rounded outward to whole minutes from horizon_start."""
        found = self._holes.get(res.id)
        if found is None:
            spans = []
            for w in res.downtime:
                a = self.h + (_us(w.start) - self.h) // US_PER_MIN * US_PER_MIN
                b = self.h - (self.h - _us(w.end)) // US_PER_MIN * US_PER_MIN
                spans.append((a, b))
            found = self._holes[res.id] = _merge(spans)
        return found

    def window(self, iid: str, res: Resource, start: int, end: int) -> list[str]:
        """Rule 6: the step `iid` on `res` over [start, end) lies inside one available window."""
        out: list[str] = []
        cal = self.calendars[res.site]
        if res.calendar == "site":
            periods = cal.open_between(start, end)
            if not any(a <= start and end <= b for a, b in periods):
                day = cal.local_date(start)
                note = f"; {day} is a holiday there" if day in cal.holidays else ""
                out.append(
                    f"rule 6: item '{iid}' on resource '{res.id}' runs "
                    f"{_iso(start)} to {_iso(end)} (local {cal.local_text(start)} to "
                    f"{cal.local_text(end)}), not inside one open shift window of "
                    f"site '{res.site}'{note}"
                )
        holes = self.downtime(res)
        j = max(0, bisect_right(holes, (start, start)) - 1)
        while j < len(holes) and holes[j][0] < end:
            a, b = holes[j]
            j += 1
            if b > start:
                out.append(
                    f"rule 6: item '{iid}' on resource '{res.id}' runs "
                    f"{_iso(start)} to {_iso(end)}, overlapping its downtime "
                    f"{_iso(a)} to {_iso(b)}"
                )
                break
        return out

    def capacity(self, rid: str, loads: Sequence[Load]) -> list[str]:
        """Rule 7: at no moment do the `loads` (one step each) on `rid` exceed its capacity."""
        cap = self.resources[rid].capacity
        if len(loads) <= cap:
            return []
        return [
            f"rule 7: resource '{rid}' runs {n} steps at {_iso(t)} (capacity {cap}): "
            f"{_names(ids)}"
            for t, ids, n, _ in _overloads(loads, [(0, cap)])
        ]

    def power_caps(self, site: Site) -> list[tuple[int, float | None]]:
        """Rule 8: the site's power cap in force, each from an instant on (as `_overloads`
        reads them): `power_cap_kw` (None: no cap) but within each of its power_windows
        (SPEC section 6) the window's cap."""
        out: list[tuple[int, float | None]] = [(0, site.power_cap_kw)]
        for w in sorted(site.power_windows or [], key=lambda w: w.start):
            out.append((_us(w.start), w.power_cap_kw))
            out.append((_us(w.end), site.power_cap_kw))
        return out

    def capped(self, site: Site) -> bool:
        """Whether rule 8 caps the site's power at some moment."""
        return any(cap is not None for _, cap in self.power_caps(site))

    def power(self, sid: str, loads: Sequence[Load]) -> list[str]:
        """Rule 8: at no moment do the `loads` (kW each) at `sid` exceed the cap in force."""
        site = self.sites[sid]
        what = "power cap in force" if site.power_windows else "power_cap_kw"
        return [
            f"rule 8: site '{sid}' draws {float(kw):g} kW at {_iso(t)} "
            f"({what} {cap:g}): {_names(ids)}"
            for t, ids, kw, cap in _overloads(
                loads, self.power_caps(site), Fraction(POWER_EPSILON)
            )
        ]


class Occupancy:
    """Steps placed on a problem's resources, and whether one more fits (rules 6-8).

    The checks are those `validate` makes of a whole schedule, with the same sentences
    (``rule 6: ...``), exact sums and slack, asked of one candidate step against the
    steps placed so far: a planner's tool (e.g. which published steps still fit beside
    the floor's facts) that judges exactly as the validator will.

    Parameters
    ----------
    problem
        The problem, as returned by `load_problem`.
    placed
        Steps already placed, e.g. ``problem.fixed``; each names an order, unit, op and
        resource of `problem`.

    Examples
    --------
    >>> occ = Occupancy(problem, problem.fixed)  # doctest: +SKIP
    >>> faults = occ.faults(step)  # doctest: +SKIP
    >>> if not faults:  # doctest: +SKIP
    ...     occ.add(step)
    """

    def __init__(self, problem: Problem, placed: Iterable[FixedStep] = ()) -> None:
        self._rules = _Rules(problem)
        self._orders = {o.id: o for o in problem.orders}
        self._products = {p.id: p for p in problem.products}
        self._on_res: dict[str, list[Load]] = {}
        self._on_site: dict[str, list[Load]] = {}
        for step in placed:
            self.add(step)

    def _load(self, step: FixedStep) -> tuple[Resource, int, int, str, Fraction]:
        order = self._orders.get(step.order)
        product = self._products.get(order.product) if order is not None else None
        kw = next((st.power_kw for st in product.routing if st.op == step.op), 0.0) \
            if product is not None else 0.0
        return (self._rules.resources[step.resource], _us(step.start), _us(step.end),
                f"{step.order}/{step.unit}/{step.op}", Fraction(kw))

    def add(self, step: FixedStep) -> None:
        """Place `step`, whether it fits or not (a fact from the floor always does)."""
        res, start, end, iid, kw = self._load(step)
        self._on_res.setdefault(res.id, []).append((start, end, iid, 1))
        if kw > 0:
            self._on_site.setdefault(res.site, []).append((start, end, iid, kw))

    def window_faults(self, step: FixedStep) -> list[str]:
        """Rule 6 for `step`: the violations, one line each (empty: it lies in a window)."""
        res, start, end, iid, _ = self._load(step)
        return self._rules.window(iid, res, start, end)

    def load_faults(self, step: FixedStep) -> list[str]:
        """Rules 7 and 8 for `step` beside the placed steps: the violations it would cause,
        one line each (empty: it fits)."""
        res, start, end, iid, kw = self._load(step)
        out = self._rules.capacity(res.id, _during(self._on_res.get(res.id, ()), start, end,
                                                   (start, end, iid, 1)))
        if kw > 0 and self._rules.capped(self._rules.sites[res.site]):
            out += self._rules.power(res.site, _during(self._on_site.get(res.site, ()),
                                                       start, end, (start, end, iid, kw)))
        return out

    def faults(self, step: FixedStep) -> list[str]:
        """Rules 6, 7 and 8 for `step` beside the placed steps (empty: it fits).

        Parameters
        ----------
        step
            The candidate; it is not placed (see `add`).

        Returns
        -------
        list[str]
            One line per violation, as `validate` words it for a whole schedule.
        """
        return self.window_faults(step) + self.load_faults(step)


def _during(loads: Iterable[Load], start: int, end: int, extra: Load) -> list[Load]:
    """The `loads` that overlap [start, end), cut to it, and `extra`."""
    out = [(max(a, start), min(b, end), iid, x) for a, b, iid, x in loads
           if a < end and start < b]
    out.append(extra)
    return out


# ---- parsed items ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    """One schedule item, its references resolved (None where they could not be)."""

    id: str
    order: Order
    unit: int
    step: int  # index in the product's routing
    resource: Resource | None
    start: int | None
    end: int | None
    fixed: bool = False


# ---- the validator --------------------------------------------------------------------------


def validate(problem: Problem, schedule: Mapping[str, Any]) -> list[str]:
    """Check a schedule against every rule of SPEC section 2.

    Parameters
    ----------
    problem
        The problem the schedule claims to solve, as returned by `load_problem`.
    schedule
        A SPEC section 3 schedule, as parsed from JSON.

    Returns
    -------
    list[str]
        One plain line per violation, each starting with ``rule N:``, ``format:``,
        ``fixed:`` or ``kpi:`` and naming the item, order, resource or site at fault.
        An empty list means the schedule is valid.

    A plan with an ``unplanned`` section (the orders left out, each with why) is judged
    against the problem without those orders; each of them that the problem holds must
    be one it cannot build (`solver.problem.unbuildable`), else ``unplanned:`` says so.
    """
    faults: list[str] = []
    if isinstance(schedule, Mapping) and "unplanned" in schedule:
        faults, left_out = _check_unplanned(problem, schedule.get("unplanned"))
        problem = without_orders(problem, left_out)
    return faults + _Validator(problem, schedule).run()


def _check_unplanned(problem: Problem, entries: object) -> tuple[list[str], set[str]]:
    """The ``unplanned`` section: a list of {order, code, reason, op?, sites?}, each order
    once, each one in `problem` unbuildable there; the faults and the orders it names."""
    if not isinstance(entries, list):
        return ["format: unplanned must be a list"], set()
    out: list[str] = []
    named: set[str] = set()
    for i, e in enumerate(entries):
        if not isinstance(e, Mapping) or not isinstance(e.get("order"), str):
            out.append(f"format: unplanned[{i}] needs an 'order' id")
            continue
        oid = e["order"]
        if not all(isinstance(e.get(k), str) and e[k].strip() for k in ("code", "reason")):
            out.append(f"format: unplanned[{i}] (order '{oid}') needs a 'code' and a 'reason'")
        if "op" in e and not isinstance(e["op"], str | None):
            out.append(f"format: unplanned[{i}] (order '{oid}').op must be a step id")
        sites = e.get("sites", [])
        if not isinstance(sites, list) or not all(isinstance(x, str) for x in sites):
            out.append(f"format: unplanned[{i}] (order '{oid}').sites must be a list of ids")
        if oid in named:
            out.append(f"format: unplanned lists order '{oid}' twice")
        named.add(oid)
    held = named & {o.id for o in problem.orders}
    if held:
        cannot = {u.order for u in unbuildable(problem)}
        out += [f"unplanned: order '{oid}' can be built, so it must be planned"
                for oid in sorted(held - cannot)]
    return out, named


def validate_files(problem_path: Path | str, schedule_path: Path | str) -> list[str]:
    """Validate a schedule file against a problem file.

    Parameters
    ----------
    problem_path
        A SPEC section 1 problem (JSON).
    schedule_path
        A SPEC section 3 schedule (JSON).

    Returns
    -------
    list[str]
        The violations, as `validate` returns them; an unreadable schedule file gives one
        ``format:`` line.

    Raises
    ------
    solver.problem.ProblemError
        If the problem file is unreadable or invalid (an order it cannot build is not a
        fault of the file: see `validate_plannable`).
    """
    plannable = load_plannable(Path(problem_path), require_orders=False)
    try:
        schedule = json.loads(Path(schedule_path).read_text(encoding="utf-8"))
    except OSError as exc:
        return [f"format: cannot read {schedule_path}: {exc.strerror}"]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [f"format: {schedule_path} is not valid JSON: {exc}"]
    if not isinstance(schedule, Mapping):
        return ["format: the schedule must be a JSON object"]
    return validate_plannable(plannable, schedule)


def validate_plannable(plannable: Plannable, schedule: Mapping[str, Any]) -> list[str]:
    """`validate` for a problem loaded with the orders it cannot build left out
    (`solver.problem.load_plannable`): a plan must list each of them in ``unplanned``
    (an INFEASIBLE or UNKNOWN answer need not)."""
    out: list[str] = []
    if schedule.get("status") not in ("INFEASIBLE", "UNKNOWN"):
        entries = schedule.get("unplanned")
        listed = {e.get("order") for e in entries if isinstance(e, Mapping)} if isinstance(
            entries, list) else set()
        out += [f"unplanned: order '{u['order']}' is neither planned nor listed in "
                f"unplanned ({u['reason']})"
                for u in plannable.unplanned_dicts() if u["order"] not in listed]
    return out + validate(plannable.problem, schedule)


class _Validator:
    """One validation run; `run` calls each check in turn and collects the lines."""

    def __init__(self, problem: Problem, schedule: Mapping[str, Any]) -> None:
        self.p = problem
        self.s = schedule
        self.out: list[str] = []
        self.h = _us(problem.horizon_start)
        self.orders = {o.id: o for o in problem.orders}
        self.products = {x.id: x for x in problem.products}
        self.resources = {r.id: r for r in problem.resources}
        self.sites = {s.id: s for s in problem.sites}
        self.rules = _Rules(problem)
        self.fixed = {(f.order, f.unit, f.op): f for f in problem.fixed}
        self.items: list[_Item] = []
        # (order id, unit, step index) -> items found for it
        self.by_step: dict[tuple[str, int, int], list[_Item]] = {}
        self._durations: dict[tuple[str, int], dict[str, int]] = {}

    # ---- driver -------------------------------------------------------------------------

    def run(self) -> list[str]:
        s = self.s
        if not isinstance(s, Mapping):
            return ["format: the schedule must be a JSON object"]
        status = s.get("status")
        if status not in STATUSES:
            self.out.append(f"format: status {status!r} is not one of {', '.join(STATUSES)}")
            return self.out
        if status in ("INFEASIBLE", "UNKNOWN"):
            self._check_no_schedule(str(status))
            return self.out
        for key in _TOP_FIELDS:
            if key not in s:
                self.out.append(f"format: missing field '{key}'")
        objective = s.get("objective")
        if objective not in (Objective.TARDINESS.value, Objective.MAKESPAN.value):
            if "objective" in s:
                self.out.append(f"format: objective {objective!r} is not tardiness or makespan")
            objective = self.p.objective.value
        self._parse_groups(s.get("groups"))
        self._parse_items(s.get("items"))
        self._check_depends_on()
        self._check_rule1_every_step_once()
        self._check_rule2_routing_order()
        self._check_rule3_release()
        self._check_rule4_one_allowed_site()
        self._check_rule5_eligible_duration()
        self._check_rule6_windows()
        self._check_rule7_capacity()
        self._check_rule8_power()
        self._check_rule10_quotas()
        tardiness = self._check_rule9_delivery(s.get("orders"))
        self._check_fixed_kept()
        self._check_kpis(s.get("kpis"), tardiness, str(objective))
        return self.out

    def _check_no_schedule(self, status: str) -> None:
        """SPEC section 3: an INFEASIBLE or UNKNOWN result has no items and gives reasons."""
        items = self.s.get("items")
        if items:
            n = len(items) if isinstance(items, list) else "some"
            self.out.append(
                f"format: status {status} but the schedule has {n} items (none allowed)"
            )
        reasons = self.s.get("reasons")
        if (
            not isinstance(reasons, list)
            or not reasons
            or not all(isinstance(r, str) and r.strip() for r in reasons)
        ):
            self.out.append(
                f"format: a {status} schedule needs 'reasons', a non-empty list of sentences"
            )

    # ---- shape --------------------------------------------------------------------------

    def _parse_groups(self, groups: object) -> None:
        """SPEC section 3: each Gantt row names a resource with its site and kind."""
        if groups is None:
            return
        if not isinstance(groups, list):
            self.out.append("format: 'groups' must be a list")
            return
        seen: set[str] = set()
        for i, g in enumerate(groups):
            if not isinstance(g, Mapping) or not isinstance(g.get("id"), str):
                self.out.append(f"format: groups[{i}] must be an object with an 'id'")
                continue
            gid = g["id"]
            res = self.resources.get(gid)
            if gid in seen:
                self.out.append(f"format: group '{gid}' is listed twice")
            seen.add(gid)
            if res is None:
                self.out.append(f"format: group '{gid}' is not a resource")
                continue
            if g.get("site") != res.site:
                self.out.append(
                    f"format: group '{gid}': site {g.get('site')!r} should be '{res.site}'"
                )
            if g.get("kind") != res.kind:
                self.out.append(
                    f"format: group '{gid}': kind {g.get('kind')!r} should be {res.kind!r}"
                )

    def _time(self, it: Mapping[str, Any], name: str, iid: str) -> int | None:
        """Parse `start`/`end` of an item and check the matching `*_min`."""
        text = it.get(name)
        us = _parse_utc(text)
        if us is None:
            self.out.append(
                f"format: item '{iid}': {name} {text!r} is not a UTC time YYYY-MM-DDTHH:MM:SSZ"
            )
            return None
        claimed = it.get(f"{name}_min")
        if not _is_int(claimed) or claimed * US_PER_MIN != us - self.h:
            actual = (us - self.h) / US_PER_MIN
            self.out.append(
                f"format: item '{iid}': {name}_min {claimed!r} does not match {name} {text} "
                f"({_num(actual if actual % 1 else int(actual))} minutes from horizon_start)"
            )
        return us

    def _parse_items(self, items: object) -> None:
        """SPEC section 3: every item is well formed and names known ids."""
        if not isinstance(items, list):
            if items is not None:
                self.out.append("format: 'items' must be a list")
            return
        group_ids = None
        groups = self.s.get("groups")
        if isinstance(groups, list):
            group_ids = {
                g["id"] for g in groups if isinstance(g, Mapping) and isinstance(g.get("id"), str)
            }
        seen: set[str] = set()
        for i, it in enumerate(items):
            if not isinstance(it, Mapping):
                self.out.append(f"format: items[{i}] is not an object")
                continue
            missing = [k for k in _ITEM_FIELDS if k not in it]
            iid = it["id"] if isinstance(it.get("id"), str) else f"items[{i}]"
            if missing:
                self.out.append(f"format: item '{iid}': missing {', '.join(missing)}")
            if iid in seen:
                self.out.append(f"format: item '{iid}': duplicate id")
            seen.add(iid)
            item = self._resolve(it, iid)
            if item is None:
                continue
            if group_ids is not None and item.resource is not None \
                    and item.resource.id not in group_ids:
                self.out.append(f"format: item '{iid}': group '{item.resource.id}' "
                                "is not among the schedule's groups")
            self.items.append(item)
            self.by_step.setdefault((item.order.id, item.unit, item.step), []).append(item)

    def _resolve(self, it: Mapping[str, Any], iid: str) -> _Item | None:
        """Resolve an item's order, unit, op, resource and times; None if it names no step."""
        order: Order | None = _get(self.orders, it.get("order"))
        if order is None:
            self.out.append(f"format: item '{iid}': order {it.get('order')!r} is unknown")
            return None
        unit = it.get("unit")
        if not _is_int(unit) or not 1 <= unit <= order.quantity:
            self.out.append(
                f"format: item '{iid}': unit {unit!r} is not in 1..{order.quantity} "
                f"of order '{order.id}'"
            )
            return None
        product = self.products[order.product]
        ops = [st.op for st in product.routing]
        op = it.get("op")
        if op not in ops:
            self.out.append(
                f"format: item '{iid}': op {op!r} is not a step of product '{product.id}'"
            )
            return None
        want_id = f"{order.id}/{unit}/{op}"
        if iid != want_id:
            self.out.append(f"format: item '{iid}': id should be '{want_id}'")
        if it.get("product") != product.id:
            self.out.append(
                f"format: item '{iid}': product {it.get('product')!r} should be "
                f"'{product.id}' (order '{order.id}')"
            )
        res: Resource | None = _get(self.resources, it.get("group"))
        if res is None:
            self.out.append(f"format: item '{iid}': group {it.get('group')!r} is not a resource")
        elif it.get("site") != res.site:
            self.out.append(
                f"format: item '{iid}': site {it.get('site')!r} should be '{res.site}' "
                f"(the site of resource '{res.id}')"
            )
        start = self._time(it, "start", iid)
        end = self._time(it, "end", iid)
        if start is not None and end is not None and end <= start:
            self.out.append(f"format: item '{iid}': end is not after start")
            start = end = None
        return _Item(
            id=iid, order=order, unit=unit, step=ops.index(op), resource=res,
            start=start, end=end, fixed=(order.id, unit, op) in self.fixed,
        )

    def _check_depends_on(self) -> None:
        """SPEC section 3: `depends_on` names the previous routing step's item."""
        raw = self.s.get("items")
        if not isinstance(raw, list):
            return
        for it in raw:
            if not isinstance(it, Mapping) or not isinstance(it.get("id"), str):
                continue
            order: Order | None = _get(self.orders, it.get("order"))
            if order is None or not _is_int(it.get("unit")) or "depends_on" not in it:
                continue
            ops = [st.op for st in self.products[order.product].routing]
            if it.get("op") not in ops:
                continue
            k = ops.index(it["op"])
            want = [] if k == 0 else [f"{order.id}/{it['unit']}/{ops[k - 1]}"]
            if it.get("depends_on") != want:
                self.out.append(
                    f"format: item '{it['id']}': depends_on {it.get('depends_on')!r} "
                    f"should be {want!r}"
                )

    # ---- SPEC section 2 ---------------------------------------------------------------------

    def _units(self) -> Iterable[tuple[Order, Product, int]]:
        for o in self.p.orders:
            prod = self.products[o.product]
            for u in range(1, o.quantity + 1):
                yield o, prod, u

    def _check_rule1_every_step_once(self) -> None:
        """Rule 1: every unit of every order has every routing step exactly once."""
        for o, prod, u in self._units():
            for k, st in enumerate(prod.routing):
                found = self.by_step.get((o.id, u, k), [])
                if not found:
                    self.out.append(f"rule 1: order '{o.id}' unit {u} step '{st.op}' is missing")
                elif len(found) > 1:
                    self.out.append(
                        f"rule 1: order '{o.id}' unit {u} step '{st.op}' appears "
                        f"{len(found)} times"
                    )

    def _first(self, o: Order, u: int, k: int) -> _Item | None:
        found = self.by_step.get((o.id, u, k))
        return found[0] if found else None

    def _check_rule2_routing_order(self) -> None:
        """Rule 2: a unit's steps run in routing order, each after the previous one ends."""
        for o, prod, u in self._units():
            prev = self._first(o, u, 0)
            for k in range(1, len(prod.routing)):
                cur = self._first(o, u, k)
                if (
                    prev is not None and cur is not None
                    and prev.end is not None and cur.start is not None
                    and cur.start < prev.end
                ):
                    self.out.append(
                        f"rule 2: item '{cur.id}' starts {_iso(cur.start)} before the previous "
                        f"step '{prev.id}' ends {_iso(prev.end)}"
                    )
                prev = cur

    def _check_rule3_release(self) -> None:
        """Rule 3: a unit's first step starts at or after release and horizon_start."""
        for o, _prod, u in self._units():
            first = self._first(o, u, 0)
            if first is None or first.start is None or first.fixed:
                continue
            if first.start < self.h:
                self.out.append(
                    f"rule 3: item '{first.id}' starts {_iso(first.start)}, before "
                    f"horizon_start {_iso(self.h)}"
                )
            if o.release is not None and first.start < _us(o.release):
                self.out.append(
                    f"rule 3: item '{first.id}' starts {_iso(first.start)}, before order "
                    f"'{o.id}' release {_iso(_us(o.release))}"
                )

    def _check_rule4_one_allowed_site(self) -> None:
        """Rule 4: all steps of a unit run at one site, one of the order's allowed_sites."""
        for o, prod, u in self._units():
            sites: set[str] = set()
            for k in range(len(prod.routing)):
                for it in self.by_step.get((o.id, u, k), []):
                    if it.resource is not None:
                        sites.add(it.resource.site)
            if len(sites) > 1:
                self.out.append(
                    f"rule 4: order '{o.id}' unit {u} runs at several sites: "
                    f"{', '.join(sorted(sites))}"
                )
            if o.allowed_sites is not None:
                for site in sorted(sites - set(o.allowed_sites)):
                    self.out.append(
                        f"rule 4: order '{o.id}' unit {u} runs at site '{site}', not one of "
                        f"its allowed_sites ({', '.join(o.allowed_sites)})"
                    )

    def _durations_for(self, product: Product, k: int) -> dict[str, int]:
        key = (product.id, k)
        found = self._durations.get(key)
        if found is None:
            found = {r.id: d for r, d in eligible(self.p, product, product.routing[k])}
            self._durations[key] = found
        return found

    def _check_rule5_eligible_duration(self) -> None:
        """Rule 5: a step runs on an eligible resource for exactly its duration there."""
        for it in self.items:
            if it.resource is None:
                continue
            prod = self.products[it.order.product]
            st = prod.routing[it.step]
            dur = self._durations_for(prod, it.step).get(it.resource.id)
            if dur is None:
                self.out.append(
                    f"rule 5: item '{it.id}' runs on resource '{it.resource.id}', which cannot "
                    f"run step '{st.op}' of product '{prod.id}'"
                )
            elif (
                not it.fixed and it.start is not None and it.end is not None
                and it.end - it.start != dur * US_PER_MIN
            ):
                self.out.append(
                    f"rule 5: item '{it.id}' on resource '{it.resource.id}' lasts "
                    f"{_num((it.end - it.start) / US_PER_MIN)} min; step '{st.op}' takes "
                    f"{dur} min there"
                )

    def _check_rule6_windows(self) -> None:
        """Rule 6: a step lies inside one available window (shift, holiday, downtime)."""
        for it in self.items:
            if it.resource is not None and not it.fixed and it.start is not None \
                    and it.end is not None:
                self.out += self.rules.window(it.id, it.resource, it.start, it.end)

    def _check_rule7_capacity(self) -> None:
        """Rule 7: at no moment does a resource run more steps than its capacity."""
        by_res: dict[str, list[Load]] = {}
        for it in self.items:
            if it.resource is not None and it.start is not None and it.end is not None:
                by_res.setdefault(it.resource.id, []).append((it.start, it.end, it.id, 1))
        for rid, loads in by_res.items():
            self.out += self.rules.capacity(rid, loads)

    def _check_rule8_power(self) -> None:
        """Rule 8: at no moment does a site's running power_kw exceed the cap in force."""
        by_site: dict[str, list[Load]] = {}
        for it in self.items:
            if it.resource is None or it.start is None or it.end is None:
                continue
            kw = self.products[it.order.product].routing[it.step].power_kw
            if kw > 0 and self.rules.capped(self.sites[it.resource.site]):
                by_site.setdefault(it.resource.site, []).append(
                    (it.start, it.end, it.id, Fraction(kw)))
        for sid, loads in by_site.items():
            self.out += self.rules.power(sid, loads)

    def _check_rule10_quotas(self) -> None:
        """Rule 10: no site builds more of a customer's units than ceil(quota x its units)."""
        pol = self.p.policies
        if pol is None:
            return
        total: dict[str, int] = {}
        built: dict[tuple[str, str], list[str]] = {}
        for o in self.p.orders:
            cust = o.customer
            if cust is None or pol.share(cust) is None:
                continue
            total[cust] = total.get(cust, 0) + o.quantity
            steps = len(self.products[o.product].routing)
            for u in range(1, o.quantity + 1):
                sites = {it.resource.site for k in range(steps)
                         for it in self.by_step.get((o.id, u, k), []) if it.resource is not None}
                for site in sites:
                    built.setdefault((cust, site), []).append(f"{o.id}/{u}")
        for (cust, site), units in sorted(built.items()):
            share = pol.share(cust)
            assert share is not None
            limit = site_limit(share, total[cust])
            if len(units) > limit:
                self.out.append(
                    f"rule 10: site '{site}' builds {len(units)} of customer '{cust}''s "
                    f"{total[cust]} units, more than its quota {share:g} allows ({limit}): "
                    f"{_names(units)}"
                )

    def _delivery(self, o: Order) -> int | None:
        """Rule 9: the order's delivery instant, None if some unit cannot be judged."""
        prod = self.products[o.product]
        last_k = len(prod.routing) - 1
        latest: int | None = None
        for u in range(1, o.quantity + 1):
            found = self.by_step.get((o.id, u, last_k), [])
            if len(found) != 1:
                return None
            it = found[0]
            if it.end is None or it.resource is None:
                return None
            transit = 0
            if o.destination is not None:
                transit = self.sites[it.resource.site].transit_min.get(o.destination, 0)
            at = it.end + transit * US_PER_MIN
            latest = at if latest is None else max(latest, at)
        return latest

    def _check_rule9_delivery(self, claimed: object) -> dict[str, int] | None:
        """Rule 9: each order's delivery and tardiness are last end + transit, minus due.

        Returns the tardiness in whole minutes per order (None if some order cannot be
        judged) for the KPI checks.
        """
        tardiness: dict[str, int] | None = {}
        computed: dict[str, tuple[int, int] | None] = {}
        for o in self.p.orders:
            delivery = self._delivery(o)
            if delivery is None:
                computed[o.id] = None
                tardiness = None
                continue
            late_us = max(0, delivery - _us(o.due))
            late = -(-late_us // US_PER_MIN)  # ceil: a started minute late counts
            computed[o.id] = (delivery, late)
            if tardiness is not None:
                tardiness[o.id] = late
        if not isinstance(claimed, list):
            if claimed is not None:
                self.out.append("format: 'orders' must be a list")
            return tardiness
        sites: dict[str, set[str]] = {}
        for it in self.items:
            if it.resource is not None:
                sites.setdefault(it.order.id, set()).add(it.resource.site)
        seen: set[str] = set()
        for i, c in enumerate(claimed):
            if not isinstance(c, Mapping) or not isinstance(c.get("id"), str):
                self.out.append(f"format: orders[{i}] must be an object with an 'id'")
                continue
            oid = c["id"]
            entry = self.orders.get(oid)
            if entry is None:
                self.out.append(f"format: orders[{i}]: order '{oid}' is unknown")
                continue
            if oid in seen:
                self.out.append(f"format: order '{oid}' is listed twice in 'orders'")
                continue
            seen.add(oid)
            self._check_order_entry(entry, c, computed[oid], sorted(sites.get(oid, ())))
        for o in self.p.orders:
            if o.id not in seen:
                self.out.append(f"format: order '{o.id}' is missing from 'orders'")
        return tardiness

    def _check_order_entry(
        self,
        o: Order,
        c: Mapping[str, Any],
        computed: tuple[int, int] | None,
        sites: list[str],
    ) -> None:
        """Rule 9 for one entry of the schedule's `orders` (plus its due and sites)."""
        due = c.get("due")
        if _parse_utc(due) != _us(o.due):
            self.out.append(f"format: order '{o.id}': due {due!r} should be {_iso(_us(o.due))}")
        if "sites" not in c:
            self.out.append(f"format: order '{o.id}': missing sites")
        elif not isinstance(c["sites"], list) or sorted(map(str, c["sites"])) != sites:
            self.out.append(f"kpi: order '{o.id}': sites {c['sites']!r} should be {sites!r}")
        if computed is None:
            return
        delivery, late = computed
        text = c.get("delivery")
        if _parse_utc(text) != delivery:
            transit = ""
            if o.destination is not None:
                transit = f" incl. transit to '{o.destination}'"
            self.out.append(
                f"rule 9: order '{o.id}': delivery {text!r} should be {_iso(delivery)}{transit}"
            )
        claimed = c.get("tardiness_min")
        exact = max(0, delivery - _us(o.due)) / US_PER_MIN
        if not _is_int(claimed) or abs(claimed - exact) >= 1:
            self.out.append(
                f"rule 9: order '{o.id}': tardiness_min {claimed!r} should be {late}"
            )

    # ---- fixed steps --------------------------------------------------------------------

    def _check_fixed_kept(self) -> None:
        """Fixed steps (spec-notes): each is kept exactly (resource, start, end)."""
        for f in self.p.fixed:
            o = self.orders[f.order]
            ops = [st.op for st in self.products[o.product].routing]
            for it in self.by_step.get((f.order, f.unit, ops.index(f.op)), []):
                rid = it.resource.id if it.resource is not None else "?"
                if rid != f.resource or it.start != _us(f.start) or it.end != _us(f.end):
                    have = (
                        f"'{rid}' {_iso(it.start) if it.start is not None else '?'} to "
                        f"{_iso(it.end) if it.end is not None else '?'}"
                    )
                    self.out.append(
                        f"fixed: item '{it.id}' must run on '{f.resource}' "
                        f"{_iso(_us(f.start))} to {_iso(_us(f.end))}, not {have}"
                    )

    # ---- KPIs and objective -------------------------------------------------------------

    def _available_us(self, res: Resource, lo: int, hi: int) -> int:
        """Available time of `res` within [lo, hi): its calendar minus its downtime."""
        if hi <= lo:
            return 0
        if res.calendar == "24x7":
            spans = [(lo, hi)]
        else:
            spans = self.rules.calendars[res.site].open_between(lo, hi)
        return _clip_total(spans, lo, hi, self.rules.downtime(res))

    def _utilization(self, makespan: float) -> dict[str, float]:
        """Busy / (capacity x available) per resource within [0, makespan] (spec-notes)."""
        lo, hi = self.h, self.h + round(makespan * US_PER_MIN)
        busy: dict[str, int] = {r.id: 0 for r in self.p.resources}
        for it in self.items:
            if it.resource is not None and it.start is not None and it.end is not None:
                busy[it.resource.id] += max(0, min(it.end, hi) - max(it.start, lo))
        out: dict[str, float] = {}
        for r in self.p.resources:
            avail = self._available_us(r, lo, hi) * r.capacity
            out[r.id] = round(busy[r.id] / avail, 4) if avail > 0 else 0.0
        return out

    def _check_kpis(
        self, kpis: object, tardiness: dict[str, int] | None, objective: str
    ) -> None:
        """KPIs (spec-notes): claimed figures equal those recomputed from the items."""
        judged = all(it.end is not None for it in self.items)
        last = max((it.end for it in self.items if it.end is not None), default=self.h)
        makespan = (last - self.h) / US_PER_MIN if self.items else 0.0
        twt: float | None = None
        if tardiness is not None:
            twt = math.fsum(o.weight * tardiness[o.id] for o in self.p.orders)
        if not isinstance(kpis, Mapping):
            if kpis is not None:
                self.out.append("format: 'kpis' must be an object")
        else:
            for key in _KPI_FIELDS:
                if key not in kpis:
                    self.out.append(f"format: kpis lacks '{key}'")
            expected: dict[str, float | None] = {
                "orders": len(self.p.orders),
                "on_time": None if tardiness is None
                else sum(1 for v in tardiness.values() if v == 0),
                "total_weighted_tardiness_min": twt,
                "makespan_min": makespan if judged else None,
            }
            for key, want in expected.items():
                if key not in kpis or want is None:
                    continue
                got = kpis[key]
                if not _is_num(got) or not _close(got, want):
                    self.out.append(f"kpi: kpis.{key} {got!r} should be {_num(want)}")
            util = kpis.get("utilization")
            if judged and isinstance(util, Mapping):
                self._check_utilization(util, makespan)
            elif "utilization" in kpis and not isinstance(util, Mapping):
                self.out.append("format: kpis.utilization must be an object")
        value: float | None = twt if objective == Objective.TARDINESS.value else (
            makespan if judged else None
        )
        self._check_objective(value, objective)

    def _check_utilization(self, util: Mapping[str, Any], makespan: float) -> None:
        """KPIs (spec-notes): utilization per resource within [0, makespan_min]."""
        want = self._utilization(makespan)
        for rid in util:
            if rid not in want:
                self.out.append(f"kpi: kpis.utilization names unknown resource {rid!r}")
        for rid, w in want.items():
            if rid not in util:
                self.out.append(f"kpi: kpis.utilization lacks resource '{rid}' ({w:g})")
                continue
            got = util[rid]
            if not _is_num(got) or not _close(got, w):
                self.out.append(f"kpi: kpis.utilization['{rid}'] {got!r} should be {w:g}")

    def _check_objective(self, value: float | None, objective: str) -> None:
        """Objective (spec-notes): objective_value, lower_bound <= it, and the gap."""
        ov, lb, gap = (self.s.get(k) for k in ("objective_value", "lower_bound", "gap"))
        for key, got in (("objective_value", ov), ("lower_bound", lb), ("gap", gap)):
            if key in self.s and not _is_num(got):
                self.out.append(f"format: {key} {got!r} is not a number")
        if not _is_num(ov):
            return
        if value is not None and not _close(ov, value):
            self.out.append(
                f"kpi: objective_value {_num(ov)} should be {_num(value)} ({objective})"
            )
        if _is_num(lb):
            if lb > ov + 1e-9:
                self.out.append(f"kpi: lower_bound {_num(lb)} exceeds objective_value {_num(ov)}")
            if _is_num(gap):
                want = (ov - lb) / ov if ov else 0.0
                if not _close(gap, want):
                    self.out.append(f"kpi: gap {_num(gap)} should be {want:.4g}")
