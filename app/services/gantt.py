"""Gantt data for one job: the SPEC section 3 rows and bars, filtered, with the sites'
calendars (open windows, shift starts, local midnights) for the time axis.

A job's schedule is parsed once into a `GanttData` (indexes by group, order and site, each
bar already encoded as JSON) and kept in a small per-app LRU cache; a finished job's
schedule never changes, so a cached entry is reused as long as the job's status and
finish time are the same. A filtered answer is then a few set operations and a join of
pre-encoded bytes: no quadratic work, no re-encoding of 10,000 bars per request.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only, sessionmaker

from app.db import reading
from app.domain import Conflict, Fault, Invalid, NotFound
from app.tables import Job, JobKind, JobStatus, Publication
from solver.calendar import minutes_between, site_windows
from solver.problem import Site

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


# --- parsing a schedule ---------------------------------------------------------------


def build(job_id: str, schedule: dict[str, Any], problem: dict[str, Any]) -> GanttData:
    """Parse and index one job's schedule (linear in the number of bars)."""
    hs_text = schedule.get("horizon_start") or problem["horizon_start"]
    horizon_start = _parse_time(hs_text).astimezone(UTC)
    items: list[dict[str, Any]] = schedule.get("items") or []
    orders: list[dict[str, Any]] = schedule.get("orders") or []

    def minute_of(text: str) -> int:
        return minutes_between(horizon_start, _parse_time(text))

    last = max((it["end_min"] for it in items), default=0)
    order_out = []
    for o in orders:
        extra: dict[str, Any] = {"late": (o.get("tardiness_min") or 0) > 0}
        if o.get("delivery"):
            extra["delivery_min"] = minute_of(o["delivery"])
            last = max(last, extra["delivery_min"])
        if o.get("due"):
            extra["due_min"] = minute_of(o["due"])
            last = max(last, extra["due_min"])
        order_out.append({**o, **extra})
    minutes = max(DAY, -(-last // DAY) * DAY)  # whole days, at least one

    resources = {r["id"]: r for r in problem.get("resources", [])}
    groups = []
    for g in schedule.get("groups") or []:
        res = resources.get(g["id"], {})
        groups.append({
            **g,
            "capacity": res.get("capacity", 1),
            "calendar": res.get("calendar", "site"),
            "downtime": _downtime(res, horizon_start, minutes),
        })
    group_sites = {g["site"] for g in groups}
    sites = [site_calendar(s, horizon_start, minutes) for s in problem.get("sites", [])
             if s["id"] in group_sites]

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
    )
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


def render(data: GanttData, f: GanttFilter) -> bytes:
    """The JSON answer for filter `f`, joined from pre-encoded pieces."""
    check_filter(data, f)
    idx = select_items(data, f)
    groups = [gj for g, gj in zip(data.groups, data.group_json, strict=True)
              if (f.sites is None or g["site"] in f.sites)
              and (f.resources is None or g["id"] in f.resources)]
    seen: dict[str, None] = dict.fromkeys(data.item_order[i] for i in idx)
    if f.orders is not None:
        seen.update(dict.fromkeys(f.orders))
    orders = [oj for oid, oj in data.order_json.items() if oid in seen]
    head = _dumps({**data.header, "count": len(idx)})
    return b"".join((
        head[:-1], b',"groups":[', b",".join(groups), b'],"items":[',
        b",".join(data.item_json[i] for i in idx), b'],"orders":[', b",".join(orders), b"]}",
    ))


# --- the front page's overview --------------------------------------------------------


def _brief(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at,
            "valid": bool(job.valid), "params": job.params or {}, "progress": job.progress,
            "error": job.error}


def overview(session: Session) -> dict[str, Any]:
    """The newest done job (not a scenario's), the queued and running ones, the published
    one, recent jobs."""
    cols = load_only(Job.id, Job.status, Job.created_at, Job.started_at, Job.finished_at,
                     Job.valid, Job.params, Job.progress, Job.error)
    latest = session.scalars(
        select(Job).options(cols)
        # a scenario's what-if plans are not the factory's plan
        .where(Job.status == JobStatus.DONE, Job.kind != JobKind.SCENARIO)
        .order_by(Job.finished_at.desc(), Job.created_at.desc(), Job.id.desc()).limit(1)
    ).first()
    active = session.scalars(
        select(Job).options(cols)
        .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .order_by(Job.created_at.desc(), Job.id.desc())
    ).all()
    recent = session.scalars(
        select(Job).options(cols).order_by(Job.created_at.desc(), Job.id.desc()).limit(10)
    ).all()
    pub = session.scalars(
        select(Publication.job_id).order_by(Publication.id.desc()).limit(1)
    ).first()
    return {
        "latest": _brief(latest) if latest is not None else None,
        "active": [_brief(j) for j in active],
        "published": pub,
        "recent": [_brief(j) for j in recent],
    }
