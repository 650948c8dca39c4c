"""What needs a planner's eye (`GET /exceptions`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ExceptionEntry(BaseModel):
    """One thing to look at; which fields are set depends on `kind`."""

    kind: Literal["late", "unplanned", "at_risk", "released", "idle"] = Field(
        description="late: delivered after its due; unplanned: left out of the plan; "
        "at_risk: delivered less than `at_risk_hours` before its due; released: a frozen "
        "step the last reschedule let move; idle: a resource with more than a day of open "
        "time and no step while orders that could use it are late")
    message: str = Field(description="the entry in one sentence")
    links: dict[str, str] = Field(description="where to look: gantt, order, plan, compare, api")
    order: str | None = None
    step: str | None = Field(default=None, description="order/unit/op (released)")
    resource: str | None = None
    site: str | None = Field(default=None, description="the idle resource's site")
    sites: list[str] | None = Field(default=None, description="the order's sites")
    delivery: str | None = None
    due: str | None = None
    tardiness_min: int | None = Field(default=None, description="minutes late (late)")
    weight: float | None = None
    weighted_min: float | None = Field(default=None, description="weight times minutes late")
    slack_min: int | None = Field(default=None, description="minutes before due (at_risk)")
    code: str | None = Field(default=None, description="why it was left out (unplanned)")
    reason: str | None = Field(default=None, description="unplanned or released: why")
    op: str | None = Field(default=None, description="the step that cannot be built")
    job_id: str | None = Field(default=None, description="the reschedule (released)")
    start: str | None = Field(default=None, description="idle from (UTC)")
    end: str | None = Field(default=None, description="idle until (UTC)")
    idle_open_min: int | None = Field(default=None, description="open minutes without a step")
    orders: list[str] | None = Field(
        default=None, description="idle: the late orders that could have used the resource")


class RescheduleInfo(BaseModel):
    """The newest finished reschedule."""

    job_id: str
    finished_at: str | None
    kept: int = Field(description="frozen steps it kept")
    released: int = Field(description="frozen steps it released")
    reference: str | None = Field(default=None, description="the name of the plan it started from")


class ExceptionsOut(BaseModel):
    """The exceptions of the published plan, most urgent kind first: late (by weighted
    minutes), unplanned, at risk (by slack), released, idle (by idle time)."""

    job_id: str | None = Field(description="the published plan (None: nothing published)")
    published_at: str | None
    name: str | None = Field(description="the published plan's name")
    at_risk_hours: float = Field(description="setting RACKPLAN_AT_RISK_HOURS")
    reschedule: RescheduleInfo | None
    counts: dict[str, int] = Field(description="entries per kind")
    items: list[ExceptionEntry]
