"""Decomposition by site for large problems: allocate, solve each site alone, join, repair.

`solve` hands a problem here when it has at least `Tuning.decompose_min_racks` racks, or
when `SolveParams.decompose` asks for it (``rackplan solve --decompose``):

1. **allocate** (`solver.planning.allocate`): how many racks of each order each site
   builds, and in which buckets (weeks; two weeks on the largest problems), under the
   capacities, power caps and quotas;
2. **check**: each site's part of the allocation dispatched and joined must beat the
   dispatch schedule of the whole problem, else (and when HiGHS has no answer within its
   share of the time) the sites are the dispatch schedule's and its deliveries the
   promises below;
3. **per-site solves**: each site's own problem (its resources, calendars and power; the
   orders' racks allocated to it, renumbered; their fixed steps; the reference schedule's
   steps of those racks; no quotas, the split kept them) solved on its own by the
   ordinary solve, in parallel processes when there are workers for it, each part with a
   share of the time in proportion to its racks;
4. **join**: the parts as one schedule of the original problem (its order and unit ids),
   scored there: an order split over sites is as late as its latest rack, wherever it
   was built, with that site's transit to the destination;
5. **repair** (bounded rounds): an order part whose detailed delivery is later than
   promised (the allocation's: the start of its last bucket, its last step and the
   transit) by more than `Tuning.decompose_repair_slack` minutes gives racks to an
   allowed site that kept its promises better; the sites that changed are solved again,
   and the new join replaces the old one only when it scores better;
6. **polish**: large-neighbourhood search (`solver.search.lns`) on the joined schedule
   for the time left; the independent validator checks the whole before it is returned.

The schedule's ``solve_log`` lists the phases: ``allocate``, ``dispatch`` (the whole
problem's), ``check`` (when there was an allocation), ``site <id>`` per part, ``join``,
per repair round ``repair <n>: site <id>`` per part solved again and ``repair <n>``,
then ``lns``. This module sits between `solve` and the searches: `solve` passes itself
(the solve without decomposition) as `solve_part`, so that a part is the ordinary solve
of a smaller problem. A stop request is heard between phases and by parts solved in
this process; parts in child processes (or on a Ray cluster: `SolveParams.backend`) run
to their time limits. A part whose worker died keeps its site's dispatch schedule, with
a note saying so.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from solver.calendar import minutes_between
from solver.compiled import compile_problem, default_horizon
from solver.dispatch import DispatchFailed, HorizonTooShort, best_dispatch, dispatch_rules
from solver.execution import Failed, LocalBackend
from solver.params import LogEntry, Progress, SolveParams
from solver.planning import Allocation, allocate, section6_of
from solver.planning.grid import WEEK
from solver.problem import Problem, ProblemError
from solver.schedule import Status, build_schedule
from solver.search.bounds import lower_bound
from solver.search.context import Context
from solver.search.lns import Lns
from solver.solution import Assignment, Scorer, unit_delivery
from solver.validate import validate

#: the ordinary solve of a problem (the parts' solver): `solve` without decomposition
SolvePart = Callable[[Problem, SolveParams], dict[str, Any]]

#: the phase names of the solve log
ALLOCATE, DISPATCH, CHECK, JOIN, POLISH = "allocate", "dispatch", "check", "join", "lns"


def wanted(problem: Problem, params: SolveParams) -> bool:
    """Whether `solve` decomposes `problem`: as `params.decompose` says, else when it has
    at least `decompose_min_racks` racks; never with one site."""
    if len(problem.sites) < 2 or not problem.orders:
        return False
    if params.decompose is not None:
        return params.decompose
    return sum(o.quantity for o in problem.orders) >= params.tuning.decompose_min_racks


@dataclass
class Split:
    """Which original racks each site builds: per site, per order id, the unit numbers
    (1-based, as in the original problem) in the order the part numbers them."""

    units: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def sites(self) -> list[str]:
        return [s for s, orders in self.units.items() if any(orders.values())]

    def racks(self, site: str) -> int:
        return sum(len(v) for v in self.units.get(site, {}).values())

    def copy(self) -> Split:
        return Split({s: {o: list(us) for o, us in orders.items()}
                      for s, orders in self.units.items()})


@dataclass
class _Part:
    """One site's solved part: its schedule and the seconds it took."""

    site: str
    schedule: dict[str, Any]
    seconds: float


def decompose(
    problem: Problem, params: SolveParams, solve_part: SolvePart,
    allocation: Allocation | None = None,
) -> dict[str, Any]:
    """Solve `problem` by site (module docstring) and return a validated SPEC section 3
    schedule of it, or what `solve_part` gives for the whole problem when the
    decomposition cannot be made (no allocation, a part without a schedule).

    Parameters
    ----------
    problem
        A checked problem (its objective already the one to solve for).
    params
        The solve's parameters (time limit, workers, seed, reference, tuning, callbacks).
    solve_part
        The ordinary solve, run on each site's part (and on the whole as the fallback).
    allocation
        The sites' racks to start from (None: `allocate` decides).
    """
    run = _Run(problem, params, solve_part)
    return run.go(allocation)


class _Run:
    """One decomposed solve: its clock, log, compiled original and current split."""

    def __init__(self, problem: Problem, params: SolveParams, solve_part: SolvePart) -> None:
        self.p = problem
        self.params = params
        self.t = params.tuning
        self.solve_part = solve_part
        self.t0 = time.monotonic()
        self.log: list[LogEntry] = []
        self.notes: list[str] = []
        self.bound = 0.0
        self.base = compile_problem(problem, None, params.reference, params.move_costs)
        self.s6 = section6_of(problem)

    # ---- the clock and the log ---------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def left(self) -> float:
        return self.params.time_limit - self.elapsed()

    def record(self, phase: str, since: float, objective: float | None, **extra: Any) -> None:
        entry: LogEntry = {
            "phase": phase, "seconds": round(self.elapsed() - since, 3),
            "objective": None if objective is None else _figure(objective),
            "bound": _figure(self.bound), **extra,
        }
        self.log.append(entry)
        if self.params.progress is not None:
            self.params.progress(Progress(self.elapsed(), objective, self.bound, phase,
                                          [dict(e) for e in self.log]))

    # ---- the whole run -----------------------------------------------------------------
    def go(self, given: Allocation | None) -> dict[str, Any]:
        c = self.base
        self.bound = lower_bound(c)
        since = self.elapsed()
        alloc = given
        if alloc is None:
            racks = sum(len(us) for us in c.order_units)
            alloc = allocate(
                c, bucket=2 * WEEK if racks >= self.t.decompose_long_bucket_racks else WEEK,
                time_limit=max(0.5, self.t.decompose_allocate_share * self.params.time_limit),
                threads=1,
            )
        self.record(ALLOCATE, since, alloc.tardiness if alloc.orders else None,
                    status=alloc.status, rows=alloc.rows, columns=alloc.columns,
                    build_seconds=round(alloc.build_seconds, 3),
                    solve_seconds=round(alloc.solve_seconds, 3))
        since = self.elapsed()
        start = self.dispatched()  # the whole problem's dispatch schedule: a yardstick
        if start is not None:
            self.record(DISPATCH, since, Scorer(self.base).figure(start))
        if alloc.orders:
            split = self.split_of(alloc)
            promise = self.promises(alloc)
            since = self.elapsed()
            trial = self.join(split, self.dispatch_parts(split))
            figure = None if trial is None else Scorer(self.base).figure(trial)
            worse = start is not None and (
                trial is None or Scorer(self.base)(trial) > Scorer(self.base)(start))
            self.record(CHECK, since, figure, kept=not worse)
            if worse:
                assert start is not None
                self.notes.append(
                    "the allocation's sites, dispatched site by site, did worse than the "
                    "dispatch schedule of the whole problem: its sites are used instead")
                split, promise = self.split_from(start)
        elif start is not None:  # HiGHS had no answer in time: the dispatch's sites
            self.notes.append(
                f"no site allocation within its time ({'; '.join(alloc.reasons)}): the "
                "sites are the dispatch schedule's")
            split, promise = self.split_from(start)
        else:
            return self.fallback([f"no site allocation: {'; '.join(alloc.reasons)}"])
        since = self.elapsed()
        parts = self.solve_sites(split, split.sites(), self.t.decompose_parts_share * self.left())
        if parts is None:
            return self.fallback(["a site's part found no schedule"])
        parts_s = self.elapsed() - since
        since = self.elapsed()
        best = self.join(split, parts)
        if best is None:
            return self.fallback(["the parts did not join into a complete schedule"])
        scorer = Scorer(c)
        # the parts did worse than the whole dispatch schedule: polish that instead (the
        # repair works on the split's join)
        behind = start is not None and scorer(start) < scorer(best)
        if behind:
            assert start is not None
            best = start
        self.record(JOIN, since, scorer.figure(best), parts_seconds=round(parts_s, 3))
        for round_no in range(1, self.t.decompose_repair_rounds + 1):
            if behind or self.left() <= 2 * self.t.min_phase_seconds or self.params.stopped():
                break
            since = self.elapsed()
            moved = self.moves(split, best, promise)
            if not moved:
                break
            new_split, changed = moved
            budget = self.t.decompose_repair_share * self.left()
            got = self.solve_sites(new_split, sorted(changed), budget,
                                   label=f"repair {round_no}: site")
            joined = None if got is None else self.join(new_split, {**parts, **got})
            kept = joined is not None and scorer(joined) < scorer(best)
            if kept:
                assert joined is not None and got is not None
                best, split, parts = joined, new_split, {**parts, **got}
            self.record(f"repair {round_no}", since, scorer.figure(best),
                        sites=sorted(changed), kept=kept)
        return self.finish([self.polish(best), best])

    # ---- allocation to units -----------------------------------------------------------
    def split_of(self, alloc: Allocation) -> Split:
        """The original racks per site: the allocation's counts per order and site; racks
        pinned by fixed steps (or able to run at one site only) where they must be, racks
        of a reference schedule at its site while the count there allows."""
        c = self.base
        ref_site = self._reference_sites()
        out: dict[str, dict[str, list[int]]] = {s: {} for s in c.site_ids}
        for oi, oid in enumerate(c.order_ids):
            units = c.order_units[oi]
            plans = alloc.orders.get(oid, [])
            want = {c.site_ids.index(sp.site): sp.racks for sp in plans}
            where: dict[int, int] = {}
            for u in units:  # forced first
                if len(c.unit_sites[u]) == 1:
                    s = c.unit_sites[u][0]
                    where[u] = s
                    want[s] = want.get(s, 0) - 1
            for u in units:  # then the reference's site
                s = ref_site.get(u, -1)
                if u not in where and s in c.unit_sites[u] and want.get(s, 0) > 0:
                    where[u] = s
                    want[s] -= 1
            for u in units:
                if u in where:
                    continue
                options = [s for s in c.unit_sites[u] if want.get(s, 0) > 0]
                if not options:  # the counts fell short: the site with most of the order
                    options = sorted(c.unit_sites[u], key=lambda s: -want.get(s, 0))[:1]
                s = options[0]
                where[u] = s
                want[s] = want.get(s, 0) - 1
            for u in units:
                out[c.site_ids[where[u]]].setdefault(oid, []).append(c.unit_no[u])
        return Split(out)

    def _reference_sites(self) -> dict[int, int]:
        """Per unit, the site the reference schedule had it at (none without one)."""
        c = self.base
        ref = c.reference
        if ref is None:
            return {}
        out: dict[int, int] = {}
        for u, ops in enumerate(c.unit_ops):
            placed = [o for o in ops if ref.res[o] >= 0]
            if placed:
                out[u] = c.res_site[ref.res[placed[-1]]]
        return out

    def promises(self, alloc: Allocation) -> dict[tuple[str, str], int]:
        """Per (order, site) the delivery the allocation promised, in minutes, as its
        model reckons it: the start of the part's last bucket plus the last step's
        shortest duration there and the transit to the destination (the model counts a
        rack as late as its step's earliest end in the bucket it starts in)."""
        c = self.base
        out: dict[tuple[str, str], int] = {}
        t0 = c.problem.horizon_start
        for oi, oid in enumerate(c.order_ids):
            last_ops = [c.unit_ops[u][-1] for u in c.order_units[oi]]
            for sp in alloc.orders.get(oid, []):
                if not sp.buckets:
                    continue
                s = c.site_ids.index(sp.site)
                begin = max(minutes_between(t0, datetime.fromisoformat(b))
                            for b, _ in sp.buckets)
                dur = min((m.duration for o in last_ops for m in c.op_modes[o]
                           if c.res_site[m.resource] == s), default=0)
                out[(oid, sp.site)] = begin + dur + c.order_transit[oi][s]
        return out

    def dispatched(self) -> Assignment | None:
        """The dispatch schedule of the whole problem (None when there is none), the
        horizon doubling while it does not fit, as `solve` does."""
        for _ in range(self.t.horizon_tries):
            try:
                return best_dispatch(self.base, dispatch_rules(self.base, self.t),
                                     seed=self.params.seed)
            except HorizonTooShort:
                self.base = compile_problem(self.p, 2 * self.base.horizon,
                                            self.params.reference, self.params.move_costs)
            except DispatchFailed:
                return None
        return None

    def split_from(self, a: Assignment) -> tuple[Split, dict[tuple[str, str], int]]:
        """The sites of schedule `a` as the split, and its deliveries per order part as
        the promises."""
        c = self.base
        out: dict[str, dict[str, list[int]]] = {s: {} for s in c.site_ids}
        promise: dict[tuple[str, str], int] = {}
        for u, ops in enumerate(c.unit_ops):
            oid, site = c.order_ids[c.unit_order[u]], c.site_ids[c.res_site[a.res[ops[-1]]]]
            out[site].setdefault(oid, []).append(c.unit_no[u])
            promise[oid, site] = max(promise.get((oid, site), 0), unit_delivery(c, a, u))
        return Split(out), promise

    def dispatch_parts(self, split: Split, sites: Sequence[str] | None = None
                       ) -> dict[str, _Part]:
        """Each site's part (of `sites`, default all) dispatched (no search): what the
        split is worth before the parts' searches, and the part of a site whose solve
        failed (a part that cannot be dispatched is left out)."""
        out: dict[str, _Part] = {}
        for s in split.sites() if sites is None else sites:
            sub = self.part_problem(s, split.units[s])
            t0 = time.monotonic()
            try:
                cp = compile_problem(sub, max(self.base.horizon, default_horizon(sub)),
                                     self.part_reference(split.units[s]),
                                     self.params.move_costs)
                pa = best_dispatch(cp, dispatch_rules(cp, self.t), seed=self.params.seed)
            except (ProblemError, HorizonTooShort, DispatchFailed):
                continue
            items = [
                {"order": cp.order_ids[cp.unit_order[cp.op_unit[o]]],
                 "unit": cp.unit_no[cp.op_unit[o]], "op": cp.op_name[o],
                 "group": cp.res_ids[pa.res[o]], "start_min": pa.start[o], "end_min": pa.end[o]}
                for o in range(cp.n_ops)
            ]
            out[s] = _Part(s, {"items": items}, time.monotonic() - t0)
        return out

    # ---- the parts ---------------------------------------------------------------------
    def part_problem(self, site: str, orders: Mapping[str, list[int]]) -> Problem:
        """Site `site`'s own problem: its resources, the orders' racks it builds
        (renumbered 1..k in `orders`' order), their fixed steps, no quotas."""
        p = self.p
        by_id = {o.id: o for o in p.orders}
        new_no = {(oid, u): i for oid, us in orders.items() for i, u in enumerate(us, 1)}
        sub_orders = [
            by_id[oid].model_copy(update={"quantity": len(us), "allowed_sites": [site]})
            for oid, us in orders.items() if us
        ]
        fixed = [
            f.model_copy(update={"unit": new_no[(f.order, f.unit)]})
            for f in p.fixed if (f.order, f.unit) in new_no
        ]
        update: dict[str, Any] = {
            "name": f"{p.name} @ {site}",
            "sites": [s for s in p.sites if s.id == site],
            "resources": [r for r in p.resources if r.site == site],
            "orders": sub_orders,
            "fixed": fixed,
        }
        if "policies" in type(p).model_fields:
            update["policies"] = None  # the quotas were the allocation's to keep
        return p.model_copy(update=update)

    def part_reference(self, orders: Mapping[str, list[int]]) -> dict[str, Any] | None:
        """The reference schedule's steps of the part's racks, renumbered as the part."""
        ref = self.params.reference
        if ref is None:
            return None
        new_no = {(oid, u): i for oid, us in orders.items() for i, u in enumerate(us, 1)}
        items = []
        for item in ref.get("items") or []:
            k = (str(item.get("order")), item.get("unit"))
            if k in new_no:
                items.append({**item, "unit": new_no[k]})
        return {**ref, "items": items}

    def solve_sites(
        self, split: Split, sites: Sequence[str], budget: float, label: str = "site"
    ) -> dict[str, _Part] | None:
        """Solve the parts of `sites` within `budget` wall-clock seconds (None when one of
        them has no schedule). With more than one worker the parts run in that many
        jobs side by side on the solve's backend (`solver.execution`; by default child
        processes of this machine), each taking its sites in turn
        (the largest parts spread first), each part's time in proportion to its racks
        within its process."""
        workers = max(1, min(self.params.workers, len(sites)))
        if budget < self.t.decompose_process_min_seconds:
            workers = 1
        bins: list[list[str]] = [[] for _ in range(workers)]
        load = [0] * workers
        for s in sorted(sites, key=lambda s: -split.racks(s)):
            b = load.index(min(load))
            bins[b].append(s)
            load[b] += split.racks(s)
        # the parts' bounds are not the whole's: no planning-bound phase in them
        part_tuning = replace(self.t, planning_min_pairs=sys.maxsize)
        deadline = time.monotonic() + budget  # one clock for every process of the machine
        jobs: list[_Job] = []
        for members in bins:
            job = _Job(deadline, self.t.min_phase_seconds)
            for s in members:
                job.parts.append((s, split.racks(s), self.part_problem(s, split.units[s]),
                                  replace(
                    self.params, workers=1, progress=None, log=False, decompose=False,
                    tuning=part_tuning,
                    reference=self.part_reference(split.units[s]),
                    stop=self.params.stop if workers == 1 else None,
                    backend=None,
                )))
            jobs.append(job)
        failed: dict[str, str] = {}
        if workers == 1:
            results = [_solve_job(self.solve_part, jobs[0])]
        else:  # the jobs side by side on the backend (child processes by default)
            backend = self.params.backend or LocalBackend(workers)
            until = time.time() + budget  # the wall clock: parts may run on other machines
            answers = backend.map(_solve_job_until,
                                  [(self.solve_part, job, until) for job in jobs])
            results = []
            for job, got in zip(jobs, answers, strict=True):
                if isinstance(got, Failed):
                    failed.update((s, got.reason) for s, _, _, _ in job.parts)
                else:
                    results.append(got)
        if failed:  # those sites keep their dispatch schedules
            fallback = self.dispatch_parts(split, sorted(failed))
            if set(fallback) != set(failed):
                return None
            for s, why in sorted(failed.items()):
                self.notes.append(f"site {s}: its part was not solved ({why}); the site "
                                  "keeps its dispatch schedule")
            results.append([(s, part.schedule, part.seconds) for s, part in fallback.items()])
        out: dict[str, _Part] = {}
        for job_result in results:
            for s, schedule, seconds in job_result:
                out[s] = _Part(s, schedule, seconds)
                self.log.append({
                    "phase": f"{label} {s}", "seconds": round(seconds, 3),
                    "objective": schedule.get("objective_value"),
                    "bound": schedule.get("lower_bound"), "racks": split.racks(s),
                    "status": schedule.get("status"),
                    "start": next((e.get("objective") for e in schedule.get("solve_log", [])),
                                  None),
                    **({"failed": failed[s]} if s in failed else {}),
                })
        if any(not part.schedule.get("items") for part in out.values()):
            return None
        return out

    # ---- the join ----------------------------------------------------------------------
    def join(self, split: Split, parts: Mapping[str, _Part]) -> Assignment | None:
        """The parts' steps as one assignment of the original problem (None when a step
        is missing or unknown); the compiled original grows its horizon to hold them."""
        need = max((int(i["end_min"]) for part in parts.values()
                    for i in part.schedule["items"]), default=0)
        if need >= self.base.horizon:
            self.base = compile_problem(
                self.p, max(default_horizon(self.p), need + 1),
                self.params.reference, self.params.move_costs)
        c = self.base
        op_of: dict[tuple[str, int, str], int] = {}
        for u, ops in enumerate(c.unit_ops):
            oid = c.order_ids[c.unit_order[u]]
            for o in ops:
                op_of[(oid, c.unit_no[u], c.op_name[o])] = o
        res_ix = {r: i for i, r in enumerate(c.res_ids)}
        n = c.n_ops
        a = Assignment([-1] * n, [0] * n, [0] * n)
        for s in split.sites():
            part = parts.get(s)
            if part is None:
                return None
            old_no = split.units[s]
            for item in part.schedule["items"]:
                us = old_no.get(str(item["order"]))
                unit = int(item["unit"])
                if us is None or not 1 <= unit <= len(us):
                    return None
                op = op_of.get((str(item["order"]), us[unit - 1], str(item["op"])))
                got = res_ix.get(str(item["group"]))
                if op is None or got is None:
                    return None
                a.res[op], a.start[op] = got, int(item["start_min"])
                a.end[op] = int(item["end_min"])
        if any(r < 0 for r in a.res):
            return None
        return a

    # ---- repair ------------------------------------------------------------------------
    def moves(
        self, split: Split, a: Assignment, promise: Mapping[tuple[str, str], int]
    ) -> tuple[Split, set[str]] | None:
        """Racks to move off the parts later than promised in `a` (the join of `split`):
        the new split and the sites it changes (None: nothing to move). Of each late
        part (most weighted excess first) half its free racks go to the allowed site that
        kept its promises best, within the quotas; at most `decompose_repair_share` of a
        site's racks leave it, and as many again may arrive."""
        c = self.base
        slack = self.t.decompose_repair_slack
        excess: dict[tuple[int, int], int] = {}  # (order, site) -> minutes past the promise
        site_excess = [0] * len(c.site_ids)
        unit_of = {(c.order_ids[c.unit_order[u]], c.unit_no[u]): u
                   for u in range(len(c.unit_ops))}
        order_ix = {oid: oi for oi, oid in enumerate(c.order_ids)}
        at: dict[tuple[int, int], list[int]] = {}  # the split's racks per (order, site)
        for si, sid in enumerate(c.site_ids):
            for oid, nos in split.units.get(sid, {}).items():
                if nos:
                    at[(order_ix[oid], si)] = [unit_of[(oid, n)] for n in nos]
        for (oi, s), units in at.items():
            got = promise.get((c.order_ids[oi], c.site_ids[s]))
            if got is None:
                continue
            late = max(unit_delivery(c, a, u) for u in units) - max(got, c.order_due[oi])
            if late > slack:
                excess[(oi, s)] = late
                site_excess[s] += c.order_weight[oi] * late
        if not excess:
            return None
        racks = [max(1, split.racks(sid)) for sid in c.site_ids]
        new = split.copy()
        changed: set[str] = set()
        leaving = [0] * len(c.site_ids)
        arriving = [0] * len(c.site_ids)
        count = self._customer_counts(a)
        for oi, s in sorted(excess, key=lambda k: -c.order_weight[k[0]] * excess[k]):
            cap = math.ceil(self.t.decompose_repair_share * split.racks(c.site_ids[s]))
            free = [u for u in at[(oi, s)] if len(c.unit_sites[u]) > 1]
            if not free or leaving[s] >= cap:
                continue
            # the sites that kept their promises best (weighted minutes past them per
            # rack), better than this one; nearer the destination first among equals
            targets = sorted(
                (x for x in c.unit_sites[free[0]]
                 if x != s and site_excess[x] / racks[x] < site_excess[s] / racks[s]),
                key=lambda x: (site_excess[x] / racks[x], c.order_transit[oi][x]),
            )
            customer = c.problem.orders[oi].customer
            share = self.s6.quota(customer)
            for x in targets:
                room_x = math.ceil(self.t.decompose_repair_share * racks[x]) - arriving[x]
                k = min(max(1, len(free) // 2), cap - leaving[s], room_x)
                if share is not None and customer is not None:
                    room = self.s6.limit(share, self._customer_total(customer)) - count.get(
                        (customer, x), 0)
                    k = min(k, room)
                if k <= 0:
                    continue
                oid, src, dst = c.order_ids[oi], c.site_ids[s], c.site_ids[x]
                # the latest racks move (they are the late ones)
                free.sort(key=lambda u: unit_delivery(c, a, u))
                go = {c.unit_no[u] for u in free[-k:]}
                new.units[src][oid] = [n for n in new.units[src].get(oid, []) if n not in go]
                new.units.setdefault(dst, {}).setdefault(oid, []).extend(sorted(go))
                if customer is not None:
                    count[(customer, x)] = count.get((customer, x), 0) + k
                    count[(customer, s)] = count.get((customer, s), 0) - k
                leaving[s] += k
                arriving[x] += k
                changed |= {src, dst}
                break
        return (new, changed) if changed else None

    def _customer_counts(self, a: Assignment) -> dict[tuple[str, int], int]:
        c = self.base
        out: dict[tuple[str, int], int] = {}
        for u, ops in enumerate(c.unit_ops):
            cust = c.problem.orders[c.unit_order[u]].customer
            if cust is not None:
                k = (cust, c.res_site[a.res[ops[-1]]])
                out[k] = out.get(k, 0) + 1
        return out

    def _customer_total(self, customer: str) -> int:
        return sum(o.quantity for o in self.p.orders if o.customer == customer)

    # ---- polish and the answer ---------------------------------------------------------
    def polish(self, a: Assignment) -> Assignment:
        """LNS on the joined schedule for the time left."""
        left = self.left() - self.t.decompose_finish_share * self.params.time_limit
        if left <= self.t.min_phase_seconds or self.params.stopped():
            return a
        c = self.base
        ctx = Context(
            c, tuning=self.t, workers=self.params.workers, seed=self.params.seed,
            stop=self.params.stop, progress=self.params.progress, time_limit=math.inf,
            t0=self.t0,
        )
        ctx.bound = self.bound
        ctx.log = self.log
        since = ctx.elapsed()
        sub_time = (self.t.lns_sub_time_reference if c.reference is not None
                    else self.t.lns_sub_time_large)
        phase = Lns(sub_time)
        got = phase.run(ctx, a, left)
        best = got if ctx.scorer(got) < ctx.scorer(a) else a
        ctx.record(POLISH, since, best)
        return best

    def finish(self, candidates: Sequence[Assignment]) -> dict[str, Any]:
        """The schedule of the first candidate that passes the validator (the polished
        join, else the join); the ordinary solve of the whole when none does."""
        c = self.base
        if self.params.stopped():
            self.notes.append(
                "the solve was stopped on request: this is the best schedule found so far")
        faults: list[str] = []
        for i, a in enumerate(candidates):
            if i > 0 and a is candidates[i - 1]:
                continue
            notes = [*self.notes, "solved site by site (solver.decompose), parts joined"]
            if faults:
                notes.append("the polished schedule failed validation; the joined one is "
                             "returned")
            out = build_schedule(
                c, a, status=Status.FEASIBLE, lower_bound=self.bound,
                solve_seconds=self.elapsed(), source="decompose", notes=notes,
                solve_log=self.log,
            )
            faults = validate(self.p, out)
            if not faults:
                return out
        return self.fallback(["the joined schedule failed validation: " + faults[0]])

    def fallback(self, why: list[str]) -> dict[str, Any]:
        """The ordinary solve of the whole problem in the time left, with the reasons the
        decomposition gave up among its notes and its log after this one's."""
        params = replace(self.params, decompose=False,
                         time_limit=max(self.t.min_phase_seconds, self.left()))
        out = self.solve_part(self.p, params)
        out["notes"] = [*(f"decomposition abandoned: {w}" for w in why),
                        *out.get("notes", [])]
        out["solve_log"] = [*self.log, *out.get("solve_log", [])]
        return out


@dataclass
class _Job:
    """The parts one process solves in turn, all by `deadline` (`time.monotonic` of the
    process that solves them): (site, racks, problem, params) each."""

    deadline: float
    least: float  # the least time limit of a part
    parts: list[tuple[str, int, Problem, SolveParams]] = field(default_factory=list)


def _solve_job(solve_part: SolvePart, job: _Job) -> list[tuple[str, dict[str, Any], float]]:
    """Solve the parts of one process in turn, each with the share of the time left that
    its racks are of the racks left: (site, schedule, seconds) each."""
    out = []
    racks_left = sum(racks for _, racks, _, _ in job.parts)
    for site, racks, problem, params in job.parts:
        t0 = time.monotonic()
        limit = max(job.least, (job.deadline - t0) * racks / max(1, racks_left))
        schedule = solve_part(problem, replace(params, time_limit=limit))
        racks_left -= racks
        out.append((site, schedule, time.monotonic() - t0))
    return out


def _solve_job_until(solve_part: SolvePart, job: _Job, until: float
                     ) -> list[tuple[str, dict[str, Any], float]]:
    """`_solve_job` with its deadline given on the wall clock (`time.time`, which the
    machines of a cluster share), not on this machine's monotonic clock."""
    return _solve_job(solve_part, replace(job, deadline=time.monotonic() + until - time.time()))


def _figure(v: float) -> float:
    return int(v) if float(v).is_integer() else round(v, 6)


__all__ = ["SolvePart", "Split", "decompose", "wanted"]
