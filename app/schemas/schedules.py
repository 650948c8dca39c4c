"""Solve jobs and publications as the API takes and gives them."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.schemas import MAX_PLAN_ORDERS
from app.tables import JobStatus
from solver.problem import Id, Objective, Text


class SolveRequest(BaseModel):
    """What to plan: every field is optional (all open orders, tardiness, the default limit)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "objective": "tardiness", "time_limit": 10, "orders": ["SO-1006", "SO-1009"],
            "horizon_start": "2026-12-01T00:00:00Z", "seed": 0, "workers": 2,
        }]},
    )

    objective: Objective | None = Field(
        default=None, description="tardiness (default: weighted tardiness, then makespan) "
                                  "or makespan")
    time_limit: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="seconds; default and maximum are server settings")
    orders: list[Id] | None = Field(
        default=None, min_length=1, max_length=MAX_PLAN_ORDERS,
        description="plan only these open orders (default: all)")
    horizon_start: AwareDatetime | None = Field(
        default=None, description="ISO time with offset; default now (floored to the minute)")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="CP-SAT random seed")
    workers: int | None = Field(
        default=None, ge=1, le=64, description="CP-SAT search workers (default: setting)")
    name: Text | None = Field(default=None, min_length=1, max_length=200,
                             description="the problem's name (default plan-<horizon_start>)")


class JobProgress(BaseModel):
    """How a running solve is doing (kept after the end: the last report)."""

    elapsed: float = Field(description="seconds since the solve started")
    objective: float | None = Field(description="the best schedule's figure so far")
    bound: float | None = Field(description="the proven lower bound so far")
    phase: str = Field(description="starting, dispatch, cp-sat, lns or done")
    solve_log: list[dict[str, Any]] = Field(
        default_factory=list, description="the phases finished so far, as the schedule's "
                                          "solve_log: phase, seconds, objective, bound")


class JobSummary(BaseModel):
    """A solve job without its schedule (as listed)."""

    id: str
    kind: str = Field(description="solve, or another job kind that uses the same runner")
    status: JobStatus
    created_at: str
    started_at: str | None
    finished_at: str | None
    factory_version: int = Field(description="the factory version the problem was built from")
    params: dict[str, Any] = Field(description="the request as resolved (defaults filled in)")
    progress: JobProgress | None
    error: str | None = Field(description="why the job failed")
    cancel_requested: bool
    valid: bool = Field(description="the stored schedule passed the independent validator")
    published: bool = Field(description="this job's schedule is the one currently published")
    links: dict[str, str]


class JobOut(JobSummary):
    """A solve job; when it has finished, the full SPEC section 3 schedule."""

    publishable: bool = Field(
        description="finished with a validated OPTIMAL or FEASIBLE schedule")
    schedule: dict[str, Any] | None = Field(description="the SPEC section 3 schedule")


class JobPage(BaseModel):
    """One page of jobs, newest first."""

    items: list[JobSummary]
    total: int
    limit: int
    offset: int


class PublicationOut(BaseModel):
    """One publish: the schedule of `job_id` became what the floor follows."""

    id: int
    job_id: str
    published_at: str
    etag: str = Field(description="send as If-Match on the next publish")


class PublishedOut(BaseModel):
    """The schedule the floor follows, and the publish that made it so."""

    publication: PublicationOut
    factory_version: int
    schedule: dict[str, Any]
