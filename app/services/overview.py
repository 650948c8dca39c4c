"""What the front page shows (`GET /overview`): the plan the floor follows, the newest plan
not published beside it, the solves under way and the newest plans with their figures.

A plan's figures (kind, name, objective, KPIs) are read with JSON paths into the stored
problem and schedule, so that listing ten plans never loads ten schedules.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from app.tables import Job, JobKind, JobStatus, Meta, Publication

RECENT = 10
USABLE = ("OPTIMAL", "FEASIBLE")
SAMPLE_SHIFT_KEY = "sample_shift"  # Meta row written by `seed.seed_if_empty`


def _facts(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per job id: the problem's name and the schedule's status, objective and KPIs."""
    if not ids:
        return {}
    rows = session.execute(
        select(Job.id, Job.problem["name"], Job.schedule["status"],
               Job.schedule["objective"], Job.schedule["kpis"])
        .where(Job.id.in_(ids))
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for job_id, name, status, objective, kpis in rows:
        out[job_id] = {"name": name if isinstance(name, str) else None,
                       "schedule_status": status if isinstance(status, str) else None,
                       "objective": objective if isinstance(objective, str) else None,
                       "kpis": kpis if isinstance(kpis, dict) else None}
    return out


def _brief(job: Job, facts: dict[str, Any], published: str | None) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status,
            "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "valid": bool(job.valid),
            "params": job.params or {}, "progress": job.progress, "error": job.error,
            "published": job.id == published, **facts}


def sample_shift(session: Session) -> dict[str, Any] | None:
    """How the sample's dates were moved when it was loaded (None: not loaded, or kept)."""
    text = session.scalar(select(Meta.value).where(Meta.key == SAMPLE_SHIFT_KEY))
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def overview(session: Session) -> dict[str, Any]:
    """The published plan, the newest usable plan not published (when newer than the
    published one, or when nothing is published), the newest done job, the queued and
    running ones, the published job id, the ten newest jobs, and the sample's date shift."""
    cols = load_only(Job.id, Job.kind, Job.status, Job.created_at, Job.started_at,
                     Job.finished_at, Job.valid, Job.params, Job.progress, Job.error)
    # a scenario's what-if plans are not the factory's plan
    newest_done = (select(Job).options(cols)
                   .where(Job.status == JobStatus.DONE, Job.kind != JobKind.SCENARIO)
                   .order_by(Job.finished_at.desc(), Job.created_at.desc(), Job.id.desc()))
    latest = session.scalars(newest_done.limit(1)).first()
    active = session.scalars(
        select(Job).options(cols)
        .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .order_by(Job.created_at.desc(), Job.id.desc())
    ).all()
    recent = session.scalars(
        select(Job).options(cols).order_by(Job.created_at.desc(), Job.id.desc()).limit(RECENT)
    ).all()
    pub = session.scalars(select(Publication).order_by(Publication.id.desc()).limit(1)).first()
    pub_id = pub.job_id if pub is not None else None
    plan = session.get(Job, pub_id, options=[cols]) if pub_id is not None else None
    # the newest valid plan with a usable schedule that the floor does not follow yet
    candidates = newest_done.where(Job.valid.is_(True))
    if plan is not None:
        candidates = candidates.where(Job.id != plan.id, Job.created_at > plan.created_at)
    unpublished = None
    for job in session.scalars(candidates.limit(5)):
        if _facts(session, [job.id])[job.id]["schedule_status"] in USABLE:
            unpublished = job
            break
    jobs = {j.id: j for j in [*recent, *active, *(x for x in (latest, plan, unpublished) if x)]}
    facts = _facts(session, list(jobs))
    blank = {"name": None, "schedule_status": None, "objective": None, "kpis": None}

    def brief(job: Job | None) -> dict[str, Any] | None:
        return None if job is None else _brief(job, facts.get(job.id, blank), pub_id)

    return {
        "latest": brief(latest),
        "active": [brief(j) for j in active],
        "published": pub_id,
        "recent": [brief(j) for j in recent],
        "plan": brief(plan),
        "published_at": pub.published_at if pub is not None else None,
        "unpublished": brief(unpublished),
        "sample_shift": sample_shift(session),
    }
