"""Solve jobs: `POST /schedules`, status and progress, cancel, the problem, publishing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from app.clock import utc_now
from app.db import reading, transaction
from app.deps import AppState, Planner, Reader
from app.domain import NotFound
from app.schemas.schedules import (
    JobOut,
    JobPage,
    JobSummary,
    PublicationOut,
    PublishedOut,
    SolveRequest,
)
from app.services import jobs as svc
from app.services import values
from app.tables import Job, JobStatus, Publication

router = APIRouter(prefix="/schedules", tags=["schedules"])

JOB_RESPONSES: dict[int | str, dict[str, Any]] = {404: {"description": "no such job"}}


def _summary(job: Job, current: Publication | None) -> dict[str, Any]:
    base = f"/schedules/{job.id}"
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at,
        "factory_version": job.factory_version, "params": job.params,
        "progress": job.progress, "error": job.error,
        "cancel_requested": job.cancel_requested, "valid": job.valid,
        "published": current is not None and current.job_id == job.id,
        # the schedule's views and exports answer 409 until the job has a schedule
        "links": {"self": base, "problem": f"{base}/problem", "publish": f"{base}/publish",
                  "gantt": f"{base}/gantt", "view": f"{base}/view",
                  "export_csv": f"{base}/export.csv", "export_xlsx": f"{base}/export.xlsx"},
    }


def job_out(job: Job, current: Publication | None) -> JobOut:
    return JobOut.model_validate({**_summary(job, current), "schedule": job.schedule,
                                  "publishable": svc.publishable(job)})


def _pub_out(pub: Publication) -> PublicationOut:
    return PublicationOut(id=pub.id, job_id=pub.job_id, published_at=pub.published_at,
                          etag=svc.etag(pub))


@router.post("", operation_id="createSchedule", status_code=202, response_model=JobOut,
             responses={409: {"description": "no factory or no open orders"},
                        422: {"description": "bad request or a problem that does not check"},
                        429: {"description": "too many jobs queued (Retry-After)"}})
def submit(body: SolveRequest, state: AppState, _: Planner, response: Response) -> JobOut:
    """Queue a solve of the open orders (all, or `orders`) on the current factory version;
    202 at once with the job (poll its `Location`). The exact problem is fixed now."""
    st = state.settings
    now = st.clock()
    values.check_time("horizon_start", body.horizon_start, st, now)
    workers = values.check_workers(body.workers, st)
    with transaction(state.sessions) as s:
        job = svc.submit(
            s, now=now, objective=body.objective, time_limit=body.time_limit,
            default_time_limit=st.default_time_limit, max_time_limit=st.max_time_limit,
            orders=body.orders, horizon_start=body.horizon_start, seed=body.seed,
            workers=workers, name=body.name,
            max_queued=st.max_queued_jobs,
        )
        out = job_out(job, None)
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/schedules/{job.id}"
    return out


@router.get("", operation_id="listSchedules", response_model=JobPage)
def list_jobs(
    state: AppState,
    _: Reader,
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> JobPage:
    """Solve jobs, newest first, without their schedules."""
    with reading(state.sessions) as s:
        rows, total = svc.page(s, status, limit, offset)
        current = svc.latest_publication(s)
        items = [JobSummary.model_validate(_summary(j, current)) for j in rows]
    return JobPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/published", operation_id="getPublishedSchedule", response_model=PublishedOut,
            responses={304: {"description": "If-None-Match names the current publication"},
                       404: {"description": "nothing is published yet"}})
def get_published(
    state: AppState,
    _: Reader,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """The schedule the floor follows (the latest publish), with its ETag."""
    with reading(state.sessions) as s:
        pub = svc.latest_publication(s)
        if pub is None:
            raise NotFound("no schedule has been published yet")
        tag = svc.etag(pub)
        if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
            return Response(status_code=304, headers={"ETag": tag})
        job = svc.get_job(s, pub.job_id)
        out = PublishedOut(publication=_pub_out(pub), factory_version=job.factory_version,
                           schedule=job.schedule or {})
    response.headers["ETag"] = tag
    return out


@router.get("/{job_id}", operation_id="getSchedule", response_model=JobOut, responses=JOB_RESPONSES)
def get_job(job_id: str, state: AppState, _: Reader) -> JobOut:
    """A job: status; progress while running; the full SPEC schedule once finished."""
    with reading(state.sessions) as s:
        return job_out(svc.get_job(s, job_id), svc.latest_publication(s))


@router.get("/{job_id}/problem", operation_id="getScheduleProblem",
            response_model=dict[str, Any], responses=JOB_RESPONSES)
def get_problem(job_id: str, state: AppState, _: Reader) -> dict[str, Any]:
    """The exact SPEC section 1 problem the job solves (re-check or re-run it anywhere)."""
    with reading(state.sessions) as s:
        return svc.get_job(s, job_id).problem


@router.delete("/{job_id}", operation_id="cancelSchedule", response_model=JobOut,
               responses={**JOB_RESPONSES, 202: {"model": JobOut},
                          409: {"description": "the job has already finished"}})
def cancel_job(job_id: str, state: AppState, _: Planner, response: Response) -> JobOut:
    """Cancel: a queued job at once (200); a running one stops soon and keeps the best
    schedule found so far (202, poll the job); a finished job gives 409."""
    with transaction(state.sessions) as s:
        job = svc.cancel(s, job_id, utc_now())
        out = job_out(job, svc.latest_publication(s))
    response.status_code = 202 if out.status == JobStatus.RUNNING else 200
    return out


@router.post("/{job_id}/publish", operation_id="publishSchedule", response_model=PublicationOut,
             responses={**JOB_RESPONSES,
                        409: {"description": "not finished, not a plan, or not valid"},
                        412: {"description": "If-Match does not name the current publication"}})
def publish(
    job_id: str,
    state: AppState,
    _: Planner,
    response: Response,
    if_match: Annotated[str | None, Header(
        description="the ETag of the publication you expect to replace")] = None,
) -> PublicationOut:
    """Make a job's validated schedule the one the floor follows; the answer's ETag names
    this publication."""
    pub = svc.publish(state.sessions, job_id, if_match, state.settings.clock())
    response.headers["ETag"] = svc.etag(pub)
    return _pub_out(pub)
