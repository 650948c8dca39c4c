"""Seeded generator of realistic multi-site rack-factory instances (SPEC.md section 1).

An instance looks like a US contract manufacturer building AI data-center racks:

- 4-5 sites in real cities and IANA zones (Phoenix has no DST), each with its own weekly
  shifts in local time (two shifts Mon-Fri, some a night shift, some a Saturday shift) and
  US holidays; the default start (2026-10-26) puts the November DST change and
  Thanksgiving inside the horizon;
- three rack generations (GB200 and GB300 NVL72 compute racks, an air-cooled switch rack)
  routed assembly -> test -> burn_in (-> final_qa with ``steps=4``); the GB300 test step
  names explicit alternative cells with different durations;
- assembly lines, test cells (and QA stations) of capacity 1-2 on the site calendar;
  liquid-cooled and air-cooled burn-in bays of capacity 4-8 on a 24x7 calendar, qualified
  for some products only; a site power cap below what the bays could draw, so it binds;
- a few maintenance windows; orders of 1-32 racks with spread releases, weights 1-5,
  destinations us-west/us-central/us-east, some restricted to one or two sites, and due
  dates of which ``tight_fraction`` are tight (barely feasible or already hard).

Resources are sized from the generated load so that the busiest pools run at roughly
70-90 % of their available time over the horizon; due dates come from a fluid estimate of
when the factory network reaches each order. The same ``seed`` always gives the same
instance.

Run ``python bench/instances.py N SEED -o file.json`` to write one.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from solver.calendar import site_windows
from solver.problem import Site

DAY = 1440
HOUR = 60
DESTINATIONS = ("us-west", "us-central", "us-east")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]

# transit in minutes from a site in a region to each destination (truck freight)
_TRANSIT = {
    "west": {"us-west": 720, "us-central": 2160, "us-east": 3600},
    "central": {"us-west": 2160, "us-central": 720, "us-east": 1800},
    "east": {"us-west": 3600, "us-central": 1440, "us-east": 720},
}

_DAY_SHIFT = {"days": WEEKDAYS, "start": "06:00", "end": "14:00"}
_SWING_SHIFT = {"days": WEEKDAYS, "start": "14:00", "end": "22:00"}
_NIGHT_SHIFT = {"days": WEEKDAYS, "start": "22:00", "end": "06:00"}
_SATURDAY = {"days": ["sat"], "start": "06:00", "end": "14:00"}
SHIFT_PATTERNS: dict[str, list[dict[str, Any]]] = {
    "2x5": [_DAY_SHIFT, _SWING_SHIFT],
    "2x5+sat": [_DAY_SHIFT, _SWING_SHIFT, _SATURDAY],
    "3x5": [_DAY_SHIFT, _SWING_SHIFT, _NIGHT_SHIFT],
    "3x5+sat": [_DAY_SHIFT, _SWING_SHIFT, _NIGHT_SHIFT, _SATURDAY],
}

GB200 = "GB200-NVL72"
GB300 = "GB300-NVL72"
SWITCH = "NVSW-SPINE"


@dataclass(frozen=True)
class SiteSpec:
    """A factory site of the catalog."""

    id: str
    name: str
    timezone: str
    region: str
    pattern: str
    products: tuple[str, ...]
    scale: float  # relative size (share of the load it takes)
    bridge_days: bool  # also off on the day after Thanksgiving and on Christmas Eve


SITE_CATALOG: tuple[SiteSpec, ...] = (
    SiteSpec("HOU", "Houston, TX", "America/Chicago", "central", "3x5+sat",
             (GB200, GB300, SWITCH), 1.3, True),
    SiteSpec("PHX", "Phoenix, AZ", "America/Phoenix", "west", "3x5",
             (GB200, GB300), 1.0, False),
    SiteSpec("CMH", "Columbus, OH", "America/New_York", "east", "2x5+sat",
             (GB200, GB300, SWITCH), 1.0, True),
    SiteSpec("SJC", "San Jose, CA", "America/Los_Angeles", "west", "2x5",
             (GB200, SWITCH), 0.8, False),
    SiteSpec("AUS", "Austin, TX", "America/Chicago", "central", "2x5",
             (GB200, GB300), 0.9, True),
    SiteSpec("RNO", "Reno, NV", "America/Los_Angeles", "west", "2x5+sat",
             (GB200, GB300, SWITCH), 0.8, False),
    SiteSpec("RDU", "Durham, NC", "America/New_York", "east", "3x5",
             (GB300, SWITCH), 0.9, True),
    SiteSpec("DFW", "Fort Worth, TX", "America/Chicago", "central", "2x5",
             (GB200, GB300, SWITCH), 1.0, False),
)


@dataclass(frozen=True)
class ProductSpec:
    """A rack generation and its routing durations (minutes) and burn-in power (kW)."""

    id: str
    family: str
    assembly: int
    test: int  # on a fast (gen-2) test cell
    test_gen1: int | None  # set: the test step lists explicit alternative cells
    burn_in: int
    power_kw: int
    final_qa: int
    cooling: str  # "liquid" or "air": which burn-in bays qualify
    share: float  # share of orders


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(GB200, "Blackwell", 480, 240, None, 1440, 132, 120, "liquid", 0.45),
    ProductSpec(GB300, "Blackwell Ultra", 540, 240, 300, 1800, 140, 150, "liquid", 0.35),
    ProductSpec(SWITCH, "Spectrum switch", 360, 180, None, 1080, 62, 90, "air", 0.20),
)

CUSTOMERS = (
    ("Nimbus Cloud", 5), ("Stratus AI", 4), ("Cirrus Compute", 3), ("Aurora Hyperscale", 3),
    ("Helios Labs", 2), ("Polaris Cloud", 2), ("Vantage Neural", 1), ("Meridian AI", 1),
)
# order sizes in racks and their relative frequency (mostly 2-16)
ORDER_SIZES = (
    (1, 3), (2, 8), (4, 12), (6, 6), (8, 14), (10, 4), (12, 8), (16, 10), (20, 2),
    (24, 3), (32, 2),
)
WEIGHTS = ((1, 3), (2, 3), (3, 2), (4, 1), (5, 1))

BAY_CAPACITY = {"liquid": (6, 8), "air": (4, 4)}  # choices per cooling type


# ---- small helpers ------------------------------------------------------------------------


def default_weeks(n_racks: int) -> int:
    """Horizon length in weeks: about 4-5 for a few hundred racks, 8 at 1,000, 13 at 10,000."""
    if n_racks <= 1000:
        return max(3, round(4 + 4 * math.log10(max(n_racks, 1) / 100)))
    return round(8 + 5 * math.log10(n_racks / 1000))


def _pick(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _observed(d: date) -> date:
    """A fixed-date US holiday on a weekend is observed on the Friday or Monday."""
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


def _last_weekday(year: int, month: int, weekday: int) -> date:
    d = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def us_holidays(first: date, last: date, bridge_days: bool) -> list[date]:
    """Factory holidays in [first, last]: New Year, Memorial Day, July 4, Labor Day,
    Thanksgiving, Christmas (observed), plus the bridge days when asked."""
    out: set[date] = set()
    for y in range(first.year, last.year + 1):
        thanksgiving = _nth_weekday(y, 11, 3, 4)
        out |= {
            _observed(date(y, 1, 1)), _last_weekday(y, 5, 0), _observed(date(y, 7, 4)),
            _nth_weekday(y, 9, 0, 1), thanksgiving, _observed(date(y, 12, 25)),
        }
        if bridge_days:
            out |= {thanksgiving + timedelta(days=1), date(y, 12, 24)}
    return sorted(d for d in out if first <= d <= last and d.weekday() < 6)


# ---- the generator ------------------------------------------------------------------------


@dataclass
class _Order:
    product: ProductSpec
    quantity: int
    release: int  # minutes from the start
    customer: str
    weight: int
    destination: str
    allowed: list[SiteSpec] | None  # None: every site
    capable: list[SiteSpec]  # allowed sites that build the product


@dataclass
class _Pool:
    """Resources of one kind at one site, sized from the load they get."""

    kind: str
    site: SiteSpec
    products: tuple[str, ...]
    capacity: int
    count: int = 0
    work: float = 0.0  # minutes of steps
    avail: int = 0  # available minutes of one resource over the horizon


def generate(
    n_racks: int,
    seed: int,
    *,
    n_sites: int = 4,
    weeks: int | None = None,
    tight_fraction: float = 0.3,
    steps: int = 3,
    start: str = "2026-10-26T00:00:00Z",
) -> dict[str, Any]:
    """A SPEC problem (objective tardiness) with `n_racks` racks over `n_sites` sites.

    Parameters
    ----------
    n_racks
        Total quantity over all orders (>= 1).
    seed
        Seed of the `random.Random` that makes every choice; equal seeds, equal instances.
    n_sites
        Number of sites, 1-8, taken in catalog order (HOU, PHX, CMH, SJC, AUS, ...).
    weeks
        Horizon over which releases, downtime and holidays are placed and the resources
        are sized; default grows with `n_racks` (8 weeks at 1,000 racks, 13 at 10,000).
    tight_fraction
        Share of orders with a tight due date.
    steps
        3 (assembly, test, burn_in) or 4 (plus final_qa).
    start
        `horizon_start`, ISO 8601 with an offset.
    """
    if n_racks < 1:
        raise ValueError("n_racks must be at least 1")
    if not 1 <= n_sites <= len(SITE_CATALOG):
        raise ValueError(f"n_sites must be between 1 and {len(SITE_CATALOG)}")
    if steps not in (3, 4):
        raise ValueError("steps must be 3 or 4")
    if not 0.0 <= tight_fraction <= 1.0:
        raise ValueError("tight_fraction must be between 0 and 1")
    t0 = datetime.fromisoformat(start)
    if t0.tzinfo is None:
        raise ValueError("start needs a UTC offset")
    n_weeks = weeks if weeks is not None else default_weeks(n_racks)
    if n_weeks < 1:
        raise ValueError("weeks must be at least 1")
    horizon = n_weeks * 7 * DAY
    rng = random.Random(seed)

    sites = list(SITE_CATALOG[:n_sites])
    built = {p for s in sites for p in s.products}
    products = [p for p in PRODUCTS if p.id in built]

    site_dicts = [_site_dict(s, t0, horizon, rng) for s in sites]
    site_avail = {
        s.id: sum(b - a for a, b in site_windows(Site.model_validate(d), t0, horizon))
        for s, d in zip(sites, site_dicts, strict=True)
    }

    orders = _draw_orders(rng, n_racks, sites, products, horizon)
    pools = _size_pools(rng, orders, sites, products, steps, horizon, site_avail)
    caps = _power_caps(rng, orders, sites, pools, horizon)
    for s, d in zip(sites, site_dicts, strict=True):
        d["power_cap_kw"] = caps[s.id]
    resources = _resources(pools, products)
    _add_downtime(rng, resources, {s.id: s for s in sites}, t0, horizon)
    order_dicts = _order_dicts(rng, orders, pools, steps, tight_fraction, t0, horizon,
                               site_avail, caps)
    tight = sum(1 for o in order_dicts if o.pop("_tight"))
    return {
        "name": f"racks{n_racks}-seed{seed}-{n_sites}sites-{n_weeks}w-{tight}tight",
        "horizon_start": _iso(t0),
        "sites": site_dicts,
        "resources": resources,
        "products": [_product_dict(p, steps, pools) for p in products],
        "orders": order_dicts,
        "objective": "tardiness",
    }


def _site_dict(s: SiteSpec, t0: datetime, horizon: int, rng: random.Random) -> dict[str, Any]:
    tz = ZoneInfo(s.timezone)
    first = t0.astimezone(tz).date()
    last = (t0 + timedelta(minutes=horizon)).astimezone(tz).date()
    transit = {
        dest: base + HOUR * rng.choice((0, 0, 2, 4, 6)) for dest, base in _TRANSIT[s.region].items()
    }
    return {
        "id": s.id,
        "name": s.name,
        "timezone": s.timezone,
        "shifts": [dict(sh) for sh in SHIFT_PATTERNS[s.pattern]],
        "holidays": [d.isoformat() for d in us_holidays(first, last, s.bridge_days)],
        "power_cap_kw": None,  # set once the load is known
        "transit_min": transit,
    }


def _draw_orders(
    rng: random.Random,
    n_racks: int,
    sites: list[SiteSpec],
    products: list[ProductSpec],
    horizon: int,
) -> list[_Order]:
    """Orders summing to `n_racks`, sorted by release."""
    out: list[_Order] = []
    left = n_racks
    release_span = 0.55 * horizon
    while left > 0:
        prod = rng.choices(products, weights=[p.share for p in products])[0]
        qty = min(left, int(_pick(rng, ORDER_SIZES)))
        left -= qty
        makers = [s for s in sites if prod.id in s.products]
        allowed: list[SiteSpec] | None = None
        if len(makers) >= 2 and rng.random() < 0.2:
            allowed = sorted(rng.sample(makers, rng.choice((1, 2))), key=sites.index)
        # a quarter is backlog at the start; the rest arrives over the first ~half
        release = 0 if rng.random() < 0.25 else int(rng.uniform(0, release_span)) // DAY * DAY
        out.append(
            _Order(
                product=prod, quantity=qty, release=release,
                customer=str(_pick(rng, CUSTOMERS)), weight=int(_pick(rng, WEIGHTS)),
                destination=rng.choice(DESTINATIONS), allowed=allowed,
                capable=allowed if allowed is not None else makers,
            )
        )
    out.sort(key=lambda o: o.release)  # stable: ties keep the drawing order
    return out


def _pool_key(kind: str, site: str, prod: ProductSpec) -> tuple[str, str]:
    if kind == "burn_in":
        return (site, f"burn_in-{prod.cooling}")
    return (site, kind)


def _split(o: _Order) -> list[tuple[SiteSpec, float]]:
    """The share of an order's racks each capable site is expected to take."""
    total = sum(s.scale for s in o.capable)
    return [(s, o.quantity * s.scale / total) for s in o.capable]


def _step_minutes(p: ProductSpec, steps: int) -> dict[str, float]:
    test = p.test if p.test_gen1 is None else (p.test + p.test_gen1) / 2
    out = {"assembly": float(p.assembly), "test": test, "burn_in": float(p.burn_in)}
    if steps == 4:
        out["qa"] = float(p.final_qa)
    return out


def _size_pools(
    rng: random.Random,
    orders: list[_Order],
    sites: list[SiteSpec],
    products: list[ProductSpec],
    steps: int,
    horizon: int,
    site_avail: dict[str, int],
) -> dict[tuple[str, str], _Pool]:
    """Pools per site and kind, with enough resources for ~70-90 % utilization."""
    pools: dict[tuple[str, str], _Pool] = {}
    for s in sites:
        made = tuple(p.id for p in products if p.id in s.products)
        pools[(s.id, "assembly")] = _Pool("assembly", s, made, 1)
        pools[(s.id, "test")] = _Pool("test", s, made, 1)
        if steps == 4:
            pools[(s.id, "qa")] = _Pool("qa", s, made, 2)
        for cooling in ("liquid", "air"):
            cooled = tuple(p.id for p in products if p.cooling == cooling and p.id in made)
            if cooled:
                cap = rng.choice(BAY_CAPACITY[cooling])
                pools[(s.id, f"burn_in-{cooling}")] = _Pool("burn_in", s, cooled, cap)
    for o in orders:
        mins = _step_minutes(o.product, steps)
        for s, racks in _split(o):
            for kind, m in mins.items():
                pools[_pool_key(kind, s.id, o.product)].work += racks * m
    target = {
        "assembly": (0.74, 0.88), "test": (0.62, 0.8), "qa": (0.5, 0.7),
        "burn_in": (0.55, 0.7),  # bays leave slack: the power cap binds first
    }
    for pool in pools.values():
        pool.avail = horizon if pool.kind == "burn_in" else site_avail[pool.site.id]
        util = rng.uniform(*target[pool.kind])
        pool.count = max(1, math.ceil(pool.work / (pool.avail * pool.capacity * util)))
    return pools


def _power_caps(
    rng: random.Random,
    orders: list[_Order],
    sites: list[SiteSpec],
    pools: dict[tuple[str, str], _Pool],
    horizon: int,
) -> dict[str, int]:
    """Per site a cap for ~75-85 % average use, below what the bays could draw at once."""
    energy = {s.id: 0.0 for s in sites}  # kW x minutes
    for o in orders:
        for s, racks in _split(o):
            energy[s.id] += racks * o.product.power_kw * o.product.burn_in
    caps: dict[str, int] = {}
    for s in sites:
        bays = [p for p in pools.values() if p.site.id == s.id and p.kind == "burn_in"]
        max_kw = max(pr.power_kw for pr in PRODUCTS if pr.id in s.products)
        # what every bay slot running the heaviest rack it qualifies for would draw
        full = sum(
            p.count * p.capacity * max(pr.power_kw for pr in PRODUCTS if pr.id in p.products)
            for p in bays
        )
        cap = energy[s.id] / (horizon * rng.uniform(0.76, 0.86))
        cap = max(cap, 2.5 * max_kw)  # room for at least two racks at once
        cap = min(cap, 0.85 * full)
        caps[s.id] = max(max_kw, int(cap // 10 * 10))
    return caps


def _res_id(site: str, kind: str, k: int) -> str:
    tag = {"assembly": "ASM", "test": "TST", "qa": "QA", "burn_in-liquid": "BIL",
           "burn_in-air": "BIA"}[kind]
    return f"{site}-{tag}-{k:02d}"


def _resources(
    pools: dict[tuple[str, str], _Pool], products: list[ProductSpec]
) -> list[dict[str, Any]]:
    all_ids = tuple(p.id for p in products)
    out: list[dict[str, Any]] = []
    for (site, key), pool in pools.items():
        for k in range(1, pool.count + 1):
            r: dict[str, Any] = {
                "id": _res_id(site, key, k), "site": site, "kind": pool.kind,
                "capacity": pool.capacity,
            }
            if pool.kind == "burn_in":
                r["calendar"] = "24x7"
            if pool.products != all_ids:
                r["products"] = list(pool.products)
            out.append(r)
    return out


def _fast_cells(pool: _Pool) -> int:
    """The first half (rounded up) of a site's test cells are the faster gen-2 cells."""
    return (pool.count + 1) // 2


def _product_dict(
    p: ProductSpec, steps: int, pools: dict[tuple[str, str], _Pool]
) -> dict[str, Any]:
    routing: list[dict[str, Any]] = [
        {"op": "assembly", "kind": "assembly", "duration_min": p.assembly},
    ]
    if p.test_gen1 is None:
        routing.append({"op": "test", "kind": "test", "duration_min": p.test})
    else:
        alts = []
        for (site, key), pool in pools.items():
            if key != "test" or p.id not in pool.products:
                continue
            fast = _fast_cells(pool)
            for k in range(1, pool.count + 1):
                d = p.test if k <= fast else p.test_gen1
                alts.append({"resource": _res_id(site, "test", k), "duration_min": d})
        routing.append({"op": "test", "alternatives": alts})
    routing.append(
        {"op": "burn_in", "kind": "burn_in", "duration_min": p.burn_in, "power_kw": p.power_kw}
    )
    if steps == 4:
        routing.append({"op": "final_qa", "kind": "qa", "duration_min": p.final_qa})
    return {"id": p.id, "family": p.family, "routing": routing}


def _add_downtime(
    rng: random.Random,
    resources: list[dict[str, Any]],
    sites: dict[str, SiteSpec],
    t0: datetime,
    horizon: int,
) -> None:
    """Maintenance on ~5 % of resources (at least one burn-in bay and one assembly line):
    a day or a double shift on lines and cells (local 06:00), 12-36 h on bays."""
    n = max(2, round(0.05 * len(resources)))
    bays = [r for r in resources if r["kind"] == "burn_in"]
    lines = [r for r in resources if r["kind"] == "assembly"]
    chosen = [rng.choice(bays), rng.choice(lines)]
    rest = [r for r in resources if r is not chosen[0] and r is not chosen[1]]
    chosen += rng.sample(rest, min(len(rest), n - 2))
    last_day = max(2, horizon // DAY - 3)
    for r in chosen:
        day = rng.randint(2, last_day)
        if r.get("calendar") == "24x7":
            a = t0 + timedelta(minutes=day * DAY + HOUR * rng.randrange(24))
            b = a + timedelta(hours=rng.choice((12, 24, 36)))
        else:
            tz = ZoneInfo(sites[r["site"]].timezone)
            local_day = (t0 + timedelta(days=day)).astimezone(tz).date()
            a = datetime.combine(local_day, time(6, 0), tzinfo=tz)
            b = a + timedelta(hours=rng.choice((8, 16)))
        r["downtime"] = [{"start": _iso(a), "end": _iso(b)}]


def _order_dicts(
    rng: random.Random,
    orders: list[_Order],
    pools: dict[tuple[str, str], _Pool],
    steps: int,
    tight_fraction: float,
    t0: datetime,
    horizon: int,
    site_avail: dict[str, int],
    power_caps: dict[str, int],
) -> list[dict[str, Any]]:
    """Orders with due dates from a fluid model of the factory network.

    Each pool kind (assembly lines, test cells, bays of a cooling type, site power) is one
    server working at the rate its sized capacity allows. Tight orders are due when the
    order's own flow time has passed (express) or about when the kinds, working in release
    order, reach them (queue-tight), some sooner. Easy orders are due days after the kinds,
    working in due-date order (so the tight orders go first), finish them.
    """
    kinds = [*sorted({k for _, k in pools}), "power"]
    rate = {k: 0.0 for k in kinds}  # work minutes (kW minutes) per minute of the horizon
    for (_, k), pool in pools.items():
        rate[k] += pool.count * pool.capacity * pool.avail / horizon
    rate["power"] = float(sum(power_caps.values()))
    work = {k: [0.0] * len(orders) for k in kinds}
    for i, o in enumerate(orders):
        for kind, m in _step_minutes(o.product, steps).items():
            work[_pool_key(kind, "", o.product)[1]][i] += o.quantity * m
        work["power"][i] += o.quantity * o.product.power_kw * o.product.burn_in
    kinds = [k for k in kinds if rate[k] > 0]
    # the pipeline fills first: nothing reaches burn-in before a rack's first steps
    fill = DAY + 0.5 * DAY * (steps - 2)
    tight = set(rng.sample(range(len(orders)), round(tight_fraction * len(orders))))
    releases = [float(o.release) for o in orders]
    fifo_reached = _reached(work, releases, releases, rate, kinds)
    transit = [min(_TRANSIT[s.region][o.destination] for s in o.capable) for o in orders]
    earliest = [  # release, flow and transit at the best site for the order alone
        o.release + min(
            _flow(o, s, _step_minutes(o.product, steps), pools, horizon, site_avail)
            + _TRANSIT[s.region][o.destination]
            for s in o.capable
        )
        for o in orders
    ]
    due = [0.0] * len(orders)
    slack = [0.0] * len(orders)
    for i in range(len(orders)):
        if i in tight:
            if rng.random() < 0.5:  # express: just the flow time, whatever the queue
                due[i] = earliest[i] + rng.uniform(0.25, 1.5) * DAY
            else:  # queue-tight: about when the network gets there, or a bit sooner
                due[i] = max(earliest[i],
                             fill + fifo_reached[i] + transit[i] + rng.uniform(-1.5, 0.5) * DAY)
        else:
            slack[i] = rng.uniform(2, 8) * DAY
            due[i] = max(earliest[i] + 2 * DAY, fill + fifo_reached[i] + transit[i]) + slack[i]
    # easy orders yield to the tight ones: push their dues until the EDD fluid meets them
    for _ in range(4):
        edd = _reached(work, releases, due, rate, kinds)
        for i in range(len(orders)):
            if i not in tight:
                due[i] = max(due[i], fill + edd[i] + transit[i] + slack[i])
    out: list[dict[str, Any]] = []
    for i, o in enumerate(orders):
        d: dict[str, Any] = {
            "id": f"SO-{1001 + i}",
            "customer": o.customer,
            "product": o.product.id,
            "quantity": o.quantity,
            "release": _iso(t0 + timedelta(minutes=o.release)),
            "due": _iso(t0 + timedelta(minutes=math.ceil(due[i] / HOUR) * HOUR)),
            "weight": o.weight,
            "destination": o.destination,
        }
        if o.allowed is not None:
            d["allowed_sites"] = [s.id for s in o.allowed]
        d["_tight"] = i in tight
        out.append(d)
    return out


def _reached(
    work: dict[str, list[float]],
    release: Sequence[float],
    priority: Sequence[float],
    rate: dict[str, float],
    kinds: Sequence[str],
) -> list[float]:
    """Per order, when the last of the kinds' fluid servers finishes its work."""
    per_kind = [_fluid(work[k], release, priority, rate[k]) for k in kinds]
    return [max(c) for c in zip(*per_kind, strict=True)]


def _fluid(
    work: Sequence[float], release: Sequence[float], priority: Sequence[float], rate: float
) -> list[float]:
    """Completion times of jobs on one server of speed `rate`, preemptive, always working
    on the released job of least `priority` (ties: lower index)."""
    n = len(work)
    by_release = sorted(range(n), key=lambda j: (release[j], j))
    left = list(work)
    done = [0.0] * n
    ready: list[tuple[float, int]] = []
    t = 0.0
    nxt = 0
    while nxt < n or ready:
        if not ready:
            t = max(t, release[by_release[nxt]])
        while nxt < n and release[by_release[nxt]] <= t:
            j = by_release[nxt]
            heapq.heappush(ready, (priority[j], j))
            nxt += 1
        _, j = ready[0]
        until = release[by_release[nxt]] if nxt < n else math.inf
        run = min(left[j] / rate, until - t)
        t += run
        left[j] -= run * rate
        if left[j] <= 1e-6 * max(1.0, work[j]):
            heapq.heappop(ready)
            done[j] = t
    return done


def _flow(
    o: _Order,
    s: SiteSpec,
    mins: dict[str, float],
    pools: dict[tuple[str, str], _Pool],
    horizon: int,
    site_avail: dict[str, int],
) -> float:
    """Rough flow time of the whole order alone at site `s`: one rack through every step
    (shift steps stretched by the calendar), then the rest at the slowest pool's pace."""
    stretch = horizon / max(1, site_avail[s.id])
    one = 0.0
    pace = 0.0
    for kind, m in mins.items():
        pool = pools[_pool_key(kind, s.id, o.product)]
        f = 1.0 if pool.kind == "burn_in" else stretch
        one += m * f
        pace = max(pace, m * f / (pool.count * pool.capacity))
    return one + (o.quantity - 1) * pace


# ---- command line -------------------------------------------------------------------------


def dumps(value: Any, indent: int = 1, width: int = 120, _level: int = 0) -> str:
    """JSON text that stays readable: a list or object whose compact form fits on the
    line is written on one line, bigger ones one item a line."""
    flat = json.dumps(value, separators=(", ", ": "))
    pad = " " * (indent * _level)
    if not isinstance(value, dict | list) or len(flat) + len(pad) <= width or not value:
        return flat
    inner = " " * (indent * (_level + 1))
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k)}: {dumps(v, indent, width, _level + 1).lstrip()}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [inner + dumps(v, indent, width, _level + 1).lstrip() for v in value]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"



def main(argv: Sequence[str] | None = None) -> int:
    """`python bench/instances.py N SEED [-o FILE]`: write one generated instance."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("n_racks", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--weeks", type=int, default=None)
    ap.add_argument("--tight", type=float, default=0.3, help="share of tight orders")
    ap.add_argument("--steps", type=int, choices=(3, 4), default=3)
    ap.add_argument("--start", default="2026-10-26T00:00:00Z")
    args = ap.parse_args(argv)
    try:
        inst = generate(
            args.n_racks, args.seed, n_sites=args.sites, weeks=args.weeks,
            tight_fraction=args.tight, steps=args.steps, start=args.start,
        )
    except ValueError as exc:
        ap.error(str(exc))
    text = dumps(inst) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
