"""What-if scenarios and site-loss resilience as the service runs them (docs/scenarios.md).

A scenario is a base problem (the current factory, open orders and floor state, or a
problem sent in) and variants of it, each a named list of changes (`solver.scenario`).
`submit` checks every change against the base (all faults at once, nothing written on a
fault), then queues one job of kind scenario per problem, the base and every variant with
the same time limit and seed: the supervisor runs as many at once as `max_solves` allows,
and each job's schedule is a normal schedule (Gantt, exports, explain, diff against the
base's job). A cancel stops the jobs that have not finished; the finished keep their
schedules. `comparison` sets the solved variants beside the base; `apply` makes one
variant's changes real: its factory changes a new factory version, its order changes the
orders; nothing else ever changes the factory or the orders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import floor_minute, stamp
from app.domain import Conflict, Fault, Invalid, NotFound, QueueFull
from app.services import factory as factory_svc
from app.services import jobs as jobs_svc
from app.services import orders as orders_svc
from app.services.problems import build_problem, plannable
from app.tables import Job, JobKind, JobStatus, Scenario
from solver.problem import Limits, Problem, ProblemError, load_problem
from solver.problem import Order as SpecOrder
from solver.resilience import rank_sites, site_losses
from solver.scenario import (
    ChangeError,
    Solved,
    apply_changes,
    compare,
    load_changes,
)

FINISHED = (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED)
FACTORY_KEYS = ("sites", "resources", "products", "policies")


def _change_faults(v: int, exc: ChangeError) -> list[Fault]:
    out: list[Fault] = []
    for f in exc.faults:
        field = f"variants[{v}].changes"
        if f.get("index") is not None:
            field += f"[{f['index']}]"
        if f.get("field"):
            field += f".{f['field']}"
        kind = f"{f['type']}: " if f.get("type") else ""
        out.append({"field": field, "message": kind + str(f["message"])})
    return out


def _check_queue(session: Session, max_queued: int | None, jobs: int,
                 time_limit: float) -> None:
    """Refuse a scenario whose jobs do not fit in the queue (`max_queued_jobs`)."""
    if max_queued is None:
        return
    queued = session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED)) or 0
    if queued + jobs > max_queued:
        retry = max(1, min(300, math.ceil(time_limit)))
        msg = (f"{queued} solve jobs are queued and the scenario needs {jobs} more, more than "
               f"the server allows (max_queued_jobs {max_queued}); try again in {retry} s")
        raise QueueFull(msg, retry_after=retry,
                        faults=[{"field": "variants", "message": msg}])


def base_problem(session: Session, problem: dict[str, Any] | None, now: datetime
                 ) -> tuple[Problem, dict[str, Any], int | None]:
    """The base: the problem sent in (checked: Invalid naming its faults under
    ``problem``), or the current factory with the open orders and the floor state from
    `now`; with the factory version it came from (None for a problem sent in)."""
    if problem is not None:
        try:
            checked = load_problem(problem)
        except ProblemError as exc:
            raise Invalid.listing([{"field": "problem", "message": e}
                                   for e in exc.errors]) from None
        return checked, checked.model_dump(mode="json", exclude_none=True), None
    fv = factory_svc.require_latest(session)
    # orders the factory cannot build are left out, as a solve leaves them out
    doc, _ = plannable(build_problem(session, fv, now, "tardiness", None, name="scenario base"))
    return load_problem(doc), doc, fv.version


def submit(
    session: Session,
    *,
    now: datetime,
    kind: str,
    name: str | None,
    problem: dict[str, Any] | None,
    variants: Sequence[tuple[str, Any]] | None,
    days: float | None,
    time_limit: float | None,
    default_time_limit: float,
    max_time_limit: float,
    seed: int,
    workers: int,
    max_queued: int | None,
) -> Scenario:
    """Check the variants' changes against the base (Invalid naming every fault as
    ``variants[v].changes[i].field``; nothing written) and queue the base's and each
    variant's job. A resilience scenario (`kind` resilience) has one variant per site:
    that site down for `days` days from the base's horizon_start."""
    limit = default_time_limit if time_limit is None else time_limit
    if limit > max_time_limit:
        msg = f"time_limit {limit:g} s exceeds the server's maximum of {max_time_limit:g} s"
        raise Invalid(msg, [{"field": "time_limit", "message": msg}])
    base, base_doc, version = base_problem(session, problem, now)
    parsed: list[tuple[str, list[Any]]] = []
    faults: list[Fault] = []
    if kind == "resilience":
        assert days is not None
        parsed = [(v.name, list(v.changes)) for v in site_losses(base, days)]
    else:
        names = [n for n, _ in variants or []]
        for v, (vname, raw) in enumerate(variants or []):
            if names.count(vname) > 1:
                faults.append({"field": f"variants[{v}].name",
                               "message": f"'{vname}' names another variant too"})
            try:
                parsed.append((vname, load_changes(raw, base)))
            except ChangeError as exc:
                faults += _change_faults(v, exc)
    if faults:
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        raise Invalid(f"{faults[0]['field']}: {faults[0]['message']}{more}", faults,
                      title="Invalid scenario")
    _check_queue(session, max_queued, len(parsed) + 1, limit)
    fv = factory_svc.require_latest(session)  # every job records a factory version
    sid = jobs_svc.new_job_id()
    title = name or ("resilience" if kind == "resilience" else "scenario")
    params = {"objective": base_doc.get("objective", "tardiness"), "time_limit": limit,
              "workers": workers, "seed": seed, "orders": None,
              "horizon_start": base_doc["horizon_start"], "scenario": sid}
    base_job = jobs_svc.create_job(session, {**base_doc, "name": f"{title}: base"},
                                   fv.version, {**params, "variant": None},
                                   kind=JobKind.SCENARIO)
    stored = []
    for v, (vname, changes) in enumerate(parsed):
        doc = apply_changes(base, changes).model_dump(mode="json", exclude_none=True)
        job = jobs_svc.create_job(session, {**doc, "name": f"{title}: {vname}"},
                                  fv.version, {**params, "variant": v},
                                  kind=JobKind.SCENARIO)
        stored.append({"name": vname, "job": job.id,
                       "changes": [c.model_dump(mode="json", exclude_none=True)
                                   for c in changes]})
    scen = Scenario(id=sid, kind=kind, name=title, created_at=stamp(now),
                    params={"time_limit": limit, "seed": seed, "workers": workers,
                            "days": days, "problem_sent": problem is not None},
                    factory_version=version, base_job=base_job.id, variants=stored,
                    applied=None)
    session.add(scen)
    session.flush()
    return scen


def get(session: Session, scenario_id: str) -> Scenario:
    """One scenario; NotFound when unknown."""
    scen = session.get(Scenario, scenario_id)
    if scen is None:
        raise NotFound(f"scenario '{scenario_id}' does not exist",
                       faults=[{"id": scenario_id, "message": "no such scenario"}])
    return scen


def page(session: Session, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of scenarios (newest first) as summaries, and the total count."""
    total = session.scalar(select(func.count()).select_from(Scenario)) or 0
    rows = session.scalars(select(Scenario).order_by(Scenario.created_at.desc(),
                                                     Scenario.id.desc())
                           .limit(limit).offset(offset)).all()
    return [summary(r, _jobs(session, r)) for r in rows], total


def _jobs(session: Session, scen: Scenario) -> dict[str, Job]:
    ids = [scen.base_job, *(v["job"] for v in scen.variants)]
    return {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(ids)))}


def status_of(statuses: Sequence[str]) -> str:
    """A scenario's status from its jobs': queued while all wait, running while any is
    unfinished, then cancelled if any was, failed if all failed, else done."""
    if all(s == JobStatus.QUEUED for s in statuses):
        return JobStatus.QUEUED
    if any(s not in FINISHED for s in statuses):
        return JobStatus.RUNNING
    if any(s == JobStatus.CANCELLED for s in statuses):
        return JobStatus.CANCELLED
    if all(s == JobStatus.FAILED for s in statuses):
        return JobStatus.FAILED
    return JobStatus.DONE


def _links(job_id: str) -> dict[str, str]:
    base = f"/schedules/{job_id}"
    return {"job": base, "gantt": f"{base}/gantt", "view": f"{base}/view",
            "explain": f"{base}/explain", "capacity": f"{base}/capacity/view",
            "export_csv": f"{base}/export.csv"}


def _solved(name: str, changes: list[Any], job: Job) -> Solved:
    """A job as a comparison's variant: its schedule only when finished and validated."""
    plan = (job.status in (JobStatus.DONE, JobStatus.CANCELLED) and job.valid
            and job.schedule is not None)
    return Solved(name, changes, load_problem(job.problem), job.schedule if plan else None)


def summary(scen: Scenario, jobs: dict[str, Job]) -> dict[str, Any]:
    """A scenario without the comparison: status, jobs, links."""
    ids = [scen.base_job, *(v["job"] for v in scen.variants)]
    statuses = [str(jobs[i].status) for i in ids if i in jobs]
    return {
        "id": scen.id, "kind": scen.kind, "name": scen.name, "created_at": scen.created_at,
        "status": status_of(statuses), "params": scen.params,
        "factory_version": scen.factory_version, "base_job": scen.base_job,
        "variants": [{"index": n, "name": v["name"], "job": v["job"],
                      "status": jobs[v["job"]].status if v["job"] in jobs else None,
                      "changes": v["changes"]} for n, v in enumerate(scen.variants)],
        "applied": scen.applied or [],
        "links": {"self": f"/scenarios/{scen.id}", "page": f"/ui/scenarios/{scen.id}"},
    }


def comparison(session: Session, scenario_id: str) -> dict[str, Any]:
    """A scenario with its comparison (`solver.scenario.compare`) of the jobs finished
    so far; each side with its job, the job's status and links to its views. A resilience
    scenario has its ranking too (`solver.resilience.rank_sites`)."""
    scen = get(session, scenario_id)
    jobs = _jobs(session, scen)
    out = summary(scen, jobs)
    base_job = jobs[scen.base_job]
    base = _solved("base", [], base_job)
    variants = [_solved(v["name"], load_changes(v["changes"]), jobs[v["job"]])
                for v in scen.variants]
    comp = compare(base, variants, capacity=scen.kind != "resilience")
    for side, job in ((comp["base"], base_job),
                      *zip(comp["variants"], (jobs[v["job"]] for v in scen.variants),
                           strict=True)):
        side["job"] = job.id
        side["job_status"] = job.status
        side["error"] = job.error
        side["links"] = _links(job.id)
        side["links"]["diff_base"] = f"/schedules/{scen.base_job}/diff/{job.id}"
    for n, side in enumerate(comp["variants"]):
        side["index"] = n
        side["links"]["apply"] = f"/scenarios/{scen.id}/variants/{n}/apply"
    out["base"] = comp["base"]
    out["variants"] = comp["variants"]
    if scen.kind == "resilience":
        ranked = rank_sites(comp, float(scen.params.get("days") or 0))
        out["ranking"] = ranked["sites"]
    return out


def cancel(session: Session, scenario_id: str, now: datetime) -> Scenario:
    """Cancel every job of the scenario not finished yet (a running one keeps the best
    schedule it found); the finished keep theirs. Conflict when all have finished."""
    scen = get(session, scenario_id)
    jobs = _jobs(session, scen)
    open_ = [j for j in jobs.values() if j.status in (JobStatus.QUEUED, JobStatus.RUNNING)]
    if not open_:
        raise Conflict(f"scenario '{scenario_id}' has finished: nothing to cancel",
                       faults=[{"id": scenario_id, "field": "status",
                                "message": "every job has finished"}])
    for j in open_:
        jobs_svc.cancel(session, j.id, now)
    return scen


def apply(session: Session, scenario_id: str, n: int, now: datetime,
          limits: Limits | None = None) -> dict[str, Any]:
    """Make variant `n`'s changes real: its factory changes (sites, resources, products,
    policies) a new factory version, its order changes the orders (added, changed,
    cancelled). Only for a scenario built from the current factory, while that is still
    the current version and nothing of the scenario has been applied yet (Conflict
    otherwise); a change that no longer fits the open orders is a Conflict naming it."""
    scen = get(session, scenario_id)
    if not 0 <= n < len(scen.variants):
        raise NotFound(f"scenario '{scenario_id}' has no variant {n} "
                       f"(variants 0 to {len(scen.variants) - 1})",
                       faults=[{"field": "n", "message": f"no variant {n}"}])
    if scen.factory_version is None:
        raise Conflict("the scenario's base is a problem sent in, not the current factory: "
                       "nothing to apply it to",
                       faults=[{"id": scenario_id, "field": "problem",
                                "message": "the base was sent in"}])
    if scen.applied:
        done = scen.applied[0]
        raise Conflict(f"variant {done['variant']} of scenario '{scenario_id}' was applied "
                       f"at {done['at']}; create a new scenario from the current factory",
                       faults=[{"id": scenario_id, "field": "applied",
                                "message": "applied already"}])
    factory_svc.lock_floor(session)
    fv = factory_svc.require_latest(session)
    if fv.version != scen.factory_version:
        raise Conflict(
            f"the factory changed since the scenario was made (version {fv.version}, the "
            f"scenario's {scen.factory_version}); create a new scenario",
            faults=[{"field": "factory_version",
                     "message": f"current {fv.version}, scenario {scen.factory_version}"}])
    rows = orders_svc.open_orders(session)
    doc = {**fv.data, "name": "apply", "horizon_start": stamp(floor_minute(now)),
           "orders": [orders_svc.spec_dict(r) for r in rows]}
    current = load_problem(doc)
    variant = scen.variants[n]
    try:
        changes = load_changes(variant["changes"], current)
    except ChangeError as exc:
        raise Conflict(
            "the variant no longer fits the factory and open orders: " + exc.errors[0],
            faults=_change_faults(n, exc)) from None
    new = apply_changes(current, changes)
    new_doc = new.model_dump(mode="json", exclude_none=True)
    factory = {k: new_doc[k] for k in FACTORY_KEYS if k in new_doc}
    version, created = factory_svc.put_factory(session, factory, now, limits)
    old_orders = {o.id: o for o in current.orders}
    new_orders = {o.id: o for o in new.orders}
    upserts = [o for oid, o in new_orders.items() if old_orders.get(oid) != o]
    result: dict[str, list[str]] = {"created": [], "updated": [], "cancelled": []}
    if upserts:
        got = orders_svc.upsert(session, [SpecOrder.model_validate(o.model_dump())
                                          for o in upserts], now)
        result["created"], result["updated"] = got["created"], got["updated"]
    for oid in sorted(set(old_orders) - set(new_orders)):
        orders_svc.cancel(session, oid, now)
        result["cancelled"].append(oid)
    record = {"variant": n, "name": variant["name"], "at": stamp(now),
              "factory_version": version.version, "factory_changed": created,
              "orders": result}
    scen.applied = [record]
    session.flush()
    return record


__all__ = ["apply", "cancel", "comparison", "get", "page", "status_of", "submit",
           "summary"]
