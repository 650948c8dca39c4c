"""Gantt data for one job: the SPEC section 3 rows and bars, filtered, with the sites'
calendars (open windows, shift starts, local midnights) for the time axis, each site's
power profile (running kW against the cap in force), each resource's utilisation, and the
floor's truth: each bar's state (planned, running, done) from the floor events, whether
the solve held it fixed, the clock's now and the next reschedule's frozen window.

A job's schedule is parsed once into a `GanttData` (indexes by group, order and site, each
bar already encoded as JSON) and kept in a small per-app LRU cache; a finished job's
schedule never changes, so a cached entry is reused as long as the job's status and
finish time are the same. A filtered answer is then a few set operations and a join of
pre-encoded bytes: no quadratic work, no re-encoding of 10,000 bars per request. The
floor's states change as events arrive: they are read per job once for each new event
(the newest event's number is the stamp) and spliced into the pre-encoded bars.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import chunked, reading
from app.domain import Conflict, Fault, Invalid, NotFound
from app.tables import Event, Job, JobStatus, StepState
from solver.calendar import minutes_between, resource_windows, site_windows
from solver.problem import Resource, Site

CACHE_SIZE = 8
FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})
DAY = 1440


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class GanttData:
    """One job's schedule, parsed and indexed for filtering."""

    job_id: str
    header: dict[str, Any]  # everything but groups, items and orders
    horizon_start: datetime
    groups: list[dict[str, Any]]
    group_json: list[bytes]
    item_start: list[int]
    item_end: list[int]
    item_order: list[str]
    item_json: list[bytes]
    order_json: dict[str, bytes]  # by order id, in schedule order
    by_group: dict[str, list[int]] = field(default_factory=dict)
    by_order: dict[str, list[int]] = field(default_factory=dict)
    by_site: dict[str, list[int]] = field(default_factory=dict)
    site_ids: frozenset[str] = frozenset()
    item_key: list[tuple[str, int, str]] = field(default_factory=list)  # (order, unit, op)
    item_fixed: list[bool] = field(default_factory=list)  # a fixed step of the job's problem
    # the bars with the floor's states spliced in, and the newest event they reflect
    floor: tuple[int, list[bytes]] | None = None
    header_json: bytes | None = None  # `header` encoded, its closing brace last


@dataclass(frozen=True)
class GanttFilter:
    """What `GET /schedules/{id}/gantt` was asked for (None: no filter on that field)."""

    sites: frozenset[str] | None = None
    resources: frozenset[str] | None = None
    orders: frozenset[str] | None = None
    start: datetime | None = None
    end: datetime | None = None


def split_values(values: Sequence[str] | None) -> frozenset[str] | None:
    """Repeated and comma-separated query values as one set (None when none given)."""
    if not values:
        return None
    out = {v.strip() for raw in values for v in raw.split(",") if v.strip()}
    return frozenset(out) if out else None


def parse_when(name: str, text: str | None) -> datetime | None:
    """An ISO 8601 time with a UTC offset from query field `name`; Invalid naming it if
    not."""
    if text is None or text == "":
        return None
    try:
        t = _parse_time(text.strip())
    except ValueError:
        raise Invalid(
            f"{name}: '{text}' is not an ISO 8601 time (e.g. 2026-12-01T06:00:00Z)",
            [{"field": name, "value": text,
              "message": "not an ISO 8601 time, e.g. 2026-12-01T06:00:00Z"}],
        ) from None
    if t.tzinfo is None:
        raise Invalid(
            f"{name}: '{text}' has no UTC offset (add Z or +hh:mm)",
            [{"field": name, "value": text, "message": "time has no UTC offset"}],
        )
    return t


# --- the calendars shown on the time axis ---------------------------------------------


def _midnights(tz: ZoneInfo, horizon_start: datetime, minutes: int) -> list[int]:
    """Minutes (from horizon start) of each local midnight within [0, minutes]."""
    d: date = horizon_start.astimezone(tz).date()
    end = horizon_start + timedelta(minutes=minutes)
    out: list[int] = []
    while True:
        t = datetime.combine(d, time(0, 0), tzinfo=tz)
        if t > end:
            return out
        m = minutes_between(horizon_start, t)
        if m >= 0:
            out.append(m)
        d += timedelta(days=1)


def site_calendar(site_doc: dict[str, Any], horizon_start: datetime, minutes: int
                  ) -> dict[str, Any]:
    """A site's open windows, shift starts and local midnights within the horizon."""
    site = Site.model_validate(site_doc)
    tz = ZoneInfo(site.timezone)
    starts: set[int] = set()
    for shift in site.shifts:
        one = site.model_copy(update={"shifts": [shift]})
        starts.update(a for a, _ in site_windows(one, horizon_start, minutes) if a > 0)
    return {
        "id": site.id,
        "name": site.name,
        "timezone": site.timezone,
        "open": [list(w) for w in site_windows(site, horizon_start, minutes)],
        "shift_starts": sorted(starts),
        "midnights": _midnights(tz, horizon_start, minutes),
        "power_cap_kw": site.power_cap_kw,
        "power_windows": _power_windows(site, horizon_start, minutes),
    }


def _power_windows(site: Site, horizon_start: datetime, minutes: int) -> list[dict[str, Any]]:
    """The site's power windows (SPEC section 6) within the horizon, in minutes, each
    saying whether it lowers the cap (below `power_cap_kw`, or a cap where there is none)."""
    out = []
    for w in sorted(site.power_windows or [], key=lambda w: w.start):
        a = minutes_between(horizon_start, w.start)
        b = -minutes_between(w.end, horizon_start)
        if b > 0 and a < minutes:
            out.append({
                "start_min": max(a, 0), "end_min": min(b, minutes),
                "power_cap_kw": w.power_cap_kw,
                "lower": site.power_cap_kw is None or w.power_cap_kw < site.power_cap_kw,
            })
    return out


def _downtime(res: dict[str, Any], horizon_start: datetime, minutes: int) -> list[list[int]]:
    out = []
    for w in res.get("downtime") or []:
        a = minutes_between(horizon_start, _parse_time(w["start"]))
        b = -minutes_between(_parse_time(w["end"]), horizon_start)
        if b > 0 and a < minutes:
            out.append([max(a, 0), min(b, minutes)])
    return out


# --- what the rows and the power rows show ---------------------------------------------


def _order_facts(order: dict[str, Any] | None, products: dict[str, dict[str, Any]]
                 ) -> dict[str, Any]:
    """An order's product, its family (the product's generation), customer and weight, as
    the problem gives them (what the chart can colour by)."""
    if order is None:
        return {}
    product = products.get(order.get("product", ""), {})
    return {"product": order.get("product"), "family": product.get("family"),
            "customer": order.get("customer"), "weight": order.get("weight", 1.0)}


def _busy(items: list[dict[str, Any]], span: int) -> dict[str, int]:
    """Minutes of steps per resource within [0, span) (a step before the horizon start, a
    fact of the floor, counts from 0)."""
    out: dict[str, int] = {}
    for it in items:
        a, b = max(it["start_min"], 0), min(it["end_min"], span)
        if b > a:
            out[it["group"]] = out.get(it["group"], 0) + b - a
    return out


def _utilisation(res: dict[str, Any], site: dict[str, Any] | None, horizon_start: datetime,
                 span: int, busy: int, site_cache: dict[str, list[tuple[int, int]]]
                 ) -> dict[str, Any]:
    """The share of a resource's available capacity-minutes (its calendar's open time less
    its downtime, times its capacity) within [0, span) that its steps use, as the
    schedule's `kpis.utilization` defines it (docs/spec-notes.md): 0 when it has no
    available time there, None when the problem does not describe it."""
    if not res or site is None:
        return {"busy_min": busy, "open_min": 0, "utilisation": None}
    if span <= 0:
        return {"busy_min": busy, "open_min": 0, "utilisation": 0.0}
    resource = Resource.model_validate(res)
    windows = resource_windows(resource, Site.model_validate(site), horizon_start, span,
                               site_cache)
    open_min = sum(b - a for a, b in windows)
    room = open_min * resource.capacity
    return {"busy_min": busy, "open_min": open_min,
            "utilisation": round(busy / room, 4) if room > 0 else 0.0}


def _step_power(products: dict[str, dict[str, Any]]) -> dict[tuple[str, str], float]:
    """kW drawn while each (product, op) runs (SPEC section 2 rule 8), where it is not 0."""
    return {(pid, st["op"]): float(st["power_kw"]) for pid, p in products.items()
            for st in p.get("routing", []) if st.get("power_kw")}


def _cap_profile(site: Site, horizon_start: datetime, minutes: int
                 ) -> list[tuple[int, float | None]]:
    """The cap in force from each minute on within [0, minutes]: `power_cap_kw`, within a
    power window the window's (as the validator reads rule 8); None: no cap."""
    changes: list[tuple[int, float | None]] = [(0, site.power_cap_kw)]
    for w in sorted(site.power_windows or [], key=lambda w: w.start):
        a = minutes_between(horizon_start, w.start)
        b = -minutes_between(w.end, horizon_start)
        if b <= 0 or a >= minutes:
            continue
        changes.append((max(a, 0), w.power_cap_kw))
        changes.append((min(b, minutes), site.power_cap_kw))
    out: list[tuple[int, float | None]] = []
    for t, cap in sorted(changes, key=lambda c: c[0]):
        if out and out[-1][0] == t:
            out[-1] = (t, cap)  # the later change at the same minute wins
        elif not out or out[-1][1] != cap:
            out.append((t, cap))
    return out


def power_profile(site_doc: dict[str, Any], horizon_start: datetime, minutes: int,
                  loads: Iterable[tuple[int, int, float]]) -> dict[str, Any] | None:
    """A site's running kW over time against the cap in force: `load` and `cap` as
    [minute, value] steps (each value holds until the next step's minute), the peak, and
    the minutes at which the load is within 0.5 kW of the cap. None for a site with
    neither a cap nor a step that draws power."""
    site = Site.model_validate(site_doc)
    cap = _cap_profile(site, horizon_start, minutes)
    delta: dict[int, float] = {}
    for a, b, kw in loads:
        if kw > 0 and b > a:
            delta[a] = delta.get(a, 0.0) + kw
            delta[b] = delta.get(b, 0.0) - kw
    if not delta and all(c is None for _, c in cap):
        return None
    load: list[list[float]] = []
    run = 0.0
    for t in sorted(delta):
        run += delta[t]
        kw = round(run, 6) if abs(run) > 1e-6 else 0.0
        if load and load[-1][1] == kw:
            continue
        load.append([t, kw])
    if not load or load[0][0] > 0:
        load.insert(0, [0, 0.0])
    return {
        "load": load,
        "cap": [[t, c] for t, c in cap],
        "peak_kw": max(kw for _, kw in load),
        "at_cap_min": _at_cap(load, cap, minutes),
    }


def _at_cap(load: list[list[float]], cap: list[tuple[int, float | None]], minutes: int
            ) -> int:
    """Minutes within [0, minutes) where the load is within 0.5 kW of the cap in force."""
    cuts = sorted({0, minutes, *(int(t) for t, _ in load if 0 < t < minutes),
                   *(t for t, _ in cap if 0 < t < minutes)})
    total, li, ci = 0, 0, 0
    for a, b in pairwise(cuts):
        while li + 1 < len(load) and load[li + 1][0] <= a:
            li += 1
        while ci + 1 < len(cap) and cap[ci + 1][0] <= a:
            ci += 1
        kw = load[li][1] if load[li][0] <= a else 0.0
        c = cap[ci][1]
        if c is not None and kw > 0 and kw >= c - 0.5:
            total += b - a
    return total


# --- parsing a schedule ---------------------------------------------------------------


def build(job_id: str, schedule: dict[str, Any], problem: dict[str, Any]) -> GanttData:
    """Parse and index one job's schedule (linear in the number of bars)."""
    hs_text = schedule.get("horizon_start") or problem["horizon_start"]
    horizon_start = _parse_time(hs_text).astimezone(UTC)
    items: list[dict[str, Any]] = schedule.get("items") or []
    orders: list[dict[str, Any]] = schedule.get("orders") or []

    def minute_of(text: str) -> int:
        return minutes_between(horizon_start, _parse_time(text))

    span = max((it["end_min"] for it in items), default=0)  # the plan's last step end
    last = span
    products = {p["id"]: p for p in problem.get("products", [])}
    problem_orders = {o["id"]: o for o in problem.get("orders", [])}
    order_out = []
    for index, o in enumerate(orders):
        extra: dict[str, Any] = {"late": (o.get("tardiness_min") or 0) > 0, "index": index,
                                 **_order_facts(problem_orders.get(o["id"]), products)}
        if o.get("delivery"):
            extra["delivery_min"] = minute_of(o["delivery"])
            last = max(last, extra["delivery_min"])
        if o.get("due"):
            extra["due_min"] = minute_of(o["due"])
            last = max(last, extra["due_min"])
        if o.get("delivery") and o.get("due"):
            extra["slack_min"] = extra["due_min"] - extra["delivery_min"]
        order_out.append({**o, **extra})
    minutes = max(DAY, -(-last // DAY) * DAY)  # whole days, at least one

    resources = {r["id"]: r for r in problem.get("resources", [])}
    site_docs = {s["id"]: s for s in problem.get("sites", [])}
    busy = _busy(items, span)
    kpi_use = (schedule.get("kpis") or {}).get("utilization") or {}
    site_cache: dict[str, list[tuple[int, int]]] = {}
    groups = []
    for g in schedule.get("groups") or []:
        res = resources.get(g["id"], {})
        groups.append({
            **g,
            "capacity": res.get("capacity", 1),
            "calendar": res.get("calendar", "site"),
            "downtime": _downtime(res, horizon_start, minutes),
            **_utilisation(res, site_docs.get(res.get("site", g["site"])), horizon_start,
                           span, busy.get(g["id"], 0), site_cache),
        })
        if isinstance(kpi_use.get(g["id"]), int | float):  # the validated figure
            groups[-1]["utilisation"] = kpi_use[g["id"]]
    group_sites = {g["site"] for g in groups}
    kw = _step_power(products)
    sites = []
    for sd in problem.get("sites", []):
        if sd["id"] not in group_sites:
            continue
        cal = site_calendar(sd, horizon_start, minutes)
        cal["power"] = power_profile(sd, horizon_start, minutes, [
            (it["start_min"], it["end_min"], kw.get((it["product"], it["op"]), 0.0))
            for it in items if it["site"] == sd["id"]])
        sites.append(cal)
    fixed = {(str(f.get("order")), int(f.get("unit", 0)), str(f.get("op")))
             for f in problem.get("fixed") or []}

    data = GanttData(
        job_id=job_id,
        header={
            "job_id": job_id,
            "status": schedule.get("status"),
            "objective": schedule.get("objective"),
            "objective_value": schedule.get("objective_value"),
            "lower_bound": schedule.get("lower_bound"),
            "gap": schedule.get("gap"),
            "kpis": schedule.get("kpis"),
            "reasons": schedule.get("reasons") or [],
            "horizon": {
                "start": _iso(horizon_start),
                "end": _iso(horizon_start + timedelta(minutes=minutes)),
                "minutes": minutes,
            },
            "sites": sites,
            "total_items": len(items),
        },
        horizon_start=horizon_start,
        groups=groups,
        group_json=[_dumps(g) for g in groups],
        item_start=[it["start_min"] for it in items],
        item_end=[it["end_min"] for it in items],
        item_order=[it["order"] for it in items],
        item_json=[_dumps(it) for it in items],
        order_json={o["id"]: _dumps(o) for o in order_out},
        site_ids=frozenset(s["id"] for s in problem.get("sites", [])) | group_sites,
        item_key=[(it["order"], int(it["unit"]), it["op"]) for it in items],
    )
    data.item_fixed = [k in fixed for k in data.item_key]
    for i, it in enumerate(items):
        data.by_group.setdefault(it["group"], []).append(i)
        data.by_order.setdefault(it["order"], []).append(i)
        data.by_site.setdefault(it["site"], []).append(i)
    return data


# --- the cache ------------------------------------------------------------------------


class GanttCache:
    """Parsed schedules of finished jobs, least recently used dropped first."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[tuple[str, str | None], GanttData]] = (
            OrderedDict()
        )
        self._building: dict[str, threading.Lock] = {}

    def get(self, job_id: str, stamp: tuple[str, str | None]) -> GanttData | None:
        with self._lock:
            hit = self._entries.get(job_id)
            if hit is None or hit[0] != stamp:
                return None
            self._entries.move_to_end(job_id)
            return hit[1]

    def building(self, job_id: str) -> threading.Lock:
        """The lock held while `job_id` is parsed: concurrent first requests parse it once."""
        with self._lock:
            return self._building.setdefault(job_id, threading.Lock())

    def put(self, job_id: str, stamp: tuple[str, str | None], data: GanttData) -> None:
        with self._lock:
            self._entries[job_id] = (stamp, data)
            self._entries.move_to_end(job_id)
            while len(self._entries) > self.size:
                dropped, _ = self._entries.popitem(last=False)
                self._building.pop(dropped, None)


def cache_of(extra: dict[str, object]) -> GanttCache:
    """The app's cache (kept in the app state's `extra`)."""
    cache = extra.get("gantt_cache")
    if not isinstance(cache, GanttCache):
        cache = GanttCache()
        extra["gantt_cache"] = cache
    return cache


def load(sessions: sessionmaker[Session], cache: GanttCache, job_id: str) -> GanttData:
    """The Gantt data of a job: NotFound for an unknown job, Conflict when it has no
    schedule yet.

    Each database read is its own short transaction and parsing runs outside any, so a
    first request for a large schedule never holds a database lock while it parses."""
    with reading(sessions) as s:
        row = s.execute(
            select(Job.status, Job.finished_at, Job.error).where(Job.id == job_id)
        ).first()
    if row is None:
        raise NotFound(f"schedule job '{job_id}' does not exist")
    status, finished_at, error = row
    stamp = (str(status), finished_at)
    if not (status in FINISHED and finished_at is not None):
        return _read(sessions, job_id, status, error)  # may still change: never cached
    hit = cache.get(job_id, stamp)
    if hit is not None:
        return hit
    with cache.building(job_id):
        hit = cache.get(job_id, stamp)  # another request may have parsed it meanwhile
        if hit is not None:
            return hit
        data = _read(sessions, job_id, status, error)
        cache.put(job_id, stamp, data)
        return data


def _read(sessions: sessionmaker[Session], job_id: str, status: str, error: str | None
          ) -> GanttData:
    """Load and parse a job's schedule; Conflict when it has none."""
    with reading(sessions) as s:
        body = s.execute(select(Job.schedule, Job.problem).where(Job.id == job_id)).first()
    schedule = body[0] if body is not None else None
    if not schedule:
        why = f" ({error})" if error else ""
        raise Conflict(f"schedule job '{job_id}' is {status} and has no schedule yet{why}")
    return build(job_id, schedule, body[1] if body is not None else {})


# --- filtering ------------------------------------------------------------------------


def _unknown(field_name: str, kind: str, asked: Iterable[str], known: Iterable[str] | dict[
        str, Any], job_id: str) -> list[Fault]:
    have = set(known)
    return [{"field": field_name, "value": v,
             "message": f"{kind} '{v}' is not in schedule '{job_id}'"}
            for v in sorted(set(asked) - have)]


def check_filter(data: GanttData, f: GanttFilter) -> None:
    """Invalid naming every filter value this schedule does not know, or a window that ends
    before it starts."""
    errors: list[Fault] = []
    if f.sites is not None:
        errors += _unknown("site", "site", f.sites, data.site_ids, data.job_id)
    if f.resources is not None:
        errors += _unknown("resource", "resource", f.resources,
                           (g["id"] for g in data.groups), data.job_id)
    if f.orders is not None:
        errors += _unknown("order", "order", f.orders, data.order_json, data.job_id)
    if f.start is not None and f.end is not None and f.end <= f.start:
        errors.append({"field": "to", "value": _iso(f.end),
                       "message": "'to' must be after 'from'"})
    if errors:
        raise Invalid.listing(errors, title="Invalid filter")


def select_items(data: GanttData, f: GanttFilter) -> list[int]:
    """Indexes of the bars that pass every filter, in schedule order."""
    chosen: set[int] | None = None
    for wanted, index in ((f.sites, data.by_site), (f.resources, data.by_group),
                          (f.orders, data.by_order)):
        if wanted is None:
            continue
        these = {i for key in wanted for i in index.get(key, ())}
        chosen = these if chosen is None else chosen & these
    idx = range(len(data.item_json)) if chosen is None else sorted(chosen)
    if f.start is None and f.end is None:
        return list(idx)
    # a bar [s, e) overlaps [from, to) when s < to and e > from (compared in seconds)
    hs = data.horizon_start
    lo = (f.start - hs).total_seconds() if f.start is not None else float("-inf")
    hi = (f.end - hs).total_seconds() if f.end is not None else float("inf")
    st, en = data.item_start, data.item_end
    return [i for i in idx if st[i] * 60 < hi and en[i] * 60 > lo]


# --- the floor's truth ----------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """What the bars' states are read against: the service's now, and the frozen window
    of the next reschedule (the `frozen_hours` setting)."""

    now: datetime
    frozen_hours: float


@dataclass(frozen=True)
class Reported:
    """What the floor reported of one step."""

    resource: str
    started_at: str
    completed_at: str | None


def _state_suffix(st: Reported | None, fixed: bool) -> bytes:
    """The JSON members a bar gets from the floor (its state, and what was reported) and
    from its job's problem (fixed), closing the bar's object."""
    out: dict[str, Any] = {"state": "planned", "fixed": fixed}
    if st is not None:
        out["state"] = "running" if st.completed_at is None else "done"
        out["reported"] = {"resource": st.resource, "started_at": st.started_at,
                           "completed_at": st.completed_at}
    return b"," + _dumps(out)[1:]


def floor_items(sessions: sessionmaker[Session], data: GanttData) -> list[bytes]:
    """The job's bars with their floor state spliced in, read again only when an event
    arrived since they were last read (the events are the only writer of the states)."""
    with reading(sessions) as s:
        stamp = int(s.scalar(select(func.max(Event.seq))) or 0)
        hit = data.floor
        if hit is not None and hit[0] == stamp:
            return hit[1]
        ids = sorted({k[0] for k in data.item_key})
        cols = (StepState.order_id, StepState.unit, StepState.op, StepState.resource,
                StepState.started_at, StepState.completed_at)
        states = {(o, u, op): Reported(r, a, b) for chunk in chunked(ids)
                  for o, u, op, r, a, b in s.execute(
                      select(*cols).where(StepState.order_id.in_(chunk)))}
    planned = {f: _state_suffix(None, f) for f in (False, True)}  # most bars: shared
    out = [head[:-1] + (planned[fixed] if (st := states.get(key)) is None
                        else _state_suffix(st, fixed))
           for head, key, fixed in zip(data.item_json, data.item_key, data.item_fixed,
                                       strict=True)]
    data.floor = (stamp, out)  # one assignment: a concurrent reader sees the old or new
    return out


def _clock_facts(data: GanttData, clock: Clock) -> dict[str, Any]:
    now = clock.now.astimezone(UTC).replace(second=0, microsecond=0)
    now_min = minutes_between(data.horizon_start, now)
    until = now + timedelta(minutes=round(clock.frozen_hours * 60))
    return {
        "now": _iso(clock.now),
        "now_min": now_min,
        "frozen": {"hours": clock.frozen_hours, "start": _iso(now), "end": _iso(until),
                   "start_min": now_min,
                   "end_min": minutes_between(data.horizon_start, until)},
    }


def render(data: GanttData, f: GanttFilter, items: Sequence[bytes] | None = None,
           clock: Clock | None = None) -> bytes:
    """The JSON answer for filter `f`, joined from pre-encoded pieces: the bars `items`
    (`floor_items`; the bare schedule's when None) and the clock's facts when given."""
    check_filter(data, f)
    idx = select_items(data, f)
    bars = data.item_json if items is None else items
    groups = [gj for g, gj in zip(data.groups, data.group_json, strict=True)
              if (f.sites is None or g["site"] in f.sites)
              and (f.resources is None or g["id"] in f.resources)]
    seen: dict[str, None] = dict.fromkeys(data.item_order[i] for i in idx)
    if f.orders is not None:
        seen.update(dict.fromkeys(f.orders))
    orders = [oj for oid, oj in data.order_json.items() if oid in seen]
    extra = _clock_facts(data, clock) if clock is not None else {}
    if data.header_json is None:
        data.header_json = _dumps(data.header)  # the power profiles: encoded once
    head = data.header_json[:-1] + b"," + _dumps({**extra, "count": len(idx)})[1:]
    return b"".join((
        head[:-1], b',"groups":[', b",".join(groups), b'],"items":[',
        b",".join(bars[i] for i in idx), b'],"orders":[', b",".join(orders), b"]}",
    ))
