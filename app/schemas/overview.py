"""The front page's overview (`GET /overview`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.schemas.gantt import JobBrief


class PlanBrief(JobBrief):
    """A job as the front page lists it, with the figures of its schedule."""

    kind: str = Field(default="solve", description="solve (a plan) or reschedule")
    name: str | None = Field(default=None, description="the problem's name")
    published: bool = Field(default=False, description="the plan the floor follows")
    schedule_status: str | None = Field(
        default=None, description="the schedule's status (OPTIMAL, FEASIBLE, ...), if any")
    objective: str | None = Field(default=None, description="tardiness or makespan")
    kpis: dict[str, Any] | None = Field(
        default=None, description="the schedule's KPIs (SPEC section 3): orders, on_time, "
        "total_weighted_tardiness_min (weighted minutes), makespan_min, ...")


class SampleShift(BaseModel):
    """How the sample's dates were moved when it was loaded, so that it starts near today."""

    days: int = Field(description="days added to every date of the sample file")
    file_start: str = Field(description="the file's horizon start")
    start: str = Field(description="the horizon start after the shift")
    fields: list[str] = Field(description="the dates that were moved")


class Overview(BaseModel):
    """What the front page shows: the plan the floor follows and the newest plan beside
    it, the solves under way, and the newest plans."""

    latest: PlanBrief | None = Field(description="the newest job with a schedule")
    active: list[PlanBrief] = Field(description="queued and running jobs, newest first")
    published: str | None = Field(description="the job id the floor follows, if any")
    recent: list[PlanBrief] = Field(description="the ten newest jobs")
    plan: PlanBrief | None = Field(default=None, description="the published plan, if any")
    published_at: str | None = Field(default=None, description="when it was published")
    unpublished: PlanBrief | None = Field(
        default=None, description="the newest valid plan not published, when newer than the "
        "published one (or when nothing is published)")
    sample_shift: SampleShift | None = Field(
        default=None, description="the sample's date shift, when the sample was loaded")
