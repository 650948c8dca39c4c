"""The diff between two schedules as the API gives it (see `solver.diff.diff`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DiffSummary(BaseModel):
    """Counts of what changed from the first schedule to the second."""

    steps_compared: int = Field(description="steps in both schedules")
    steps_moved: int = Field(description="site_changes + resource_changes + time_shifts")
    site_changes: int = Field(description="steps now at another site")
    resource_changes: int = Field(description="steps on another resource at the same site")
    time_shifts: int = Field(description="steps at another start on the same resource")
    mean_abs_shift_min: float = Field(description="mean |start shift| over compared steps")
    max_abs_shift_min: int = Field(description="largest |start shift| over compared steps")
    steps_added: int = Field(description="steps only in the second schedule")
    steps_removed: int = Field(description="steps only in the first schedule")
    orders_delivery_changed: int = Field(description="orders in both, delivered at another time")
    orders_added: int = Field(description="orders only in the second schedule")
    orders_removed: int = Field(description="orders only in the first schedule")
    on_time_before: int
    on_time_after: int
    weighted_tardiness_before: float | None
    weighted_tardiness_after: float | None


class StepPlace(BaseModel):
    """Where and when a step runs in one schedule (UTC ISO times)."""

    site: str
    resource: str
    start: str
    end: str


class StepChange(BaseModel):
    """One step moved, added or removed."""

    id: str = Field(description="order/unit/op")
    order: str
    unit: int
    op: str
    change: Literal["site", "resource", "time", "added", "removed"]
    before: StepPlace | None
    after: StepPlace | None
    shift_min: int | None = Field(description="start after minus start before, in minutes")


class OrderChange(BaseModel):
    """One order delivered at another time, added or removed."""

    id: str
    change: Literal["delivery", "added", "removed"]
    delivery_before: str | None
    delivery_after: str | None
    change_min: int | None = Field(description="minutes later (negative: earlier)")
    tardiness_before: int | None
    tardiness_after: int | None


class ScheduleDiff(BaseModel):
    """What changed from schedule `a` to schedule `b`."""

    a: str = Field(description="the first (before) job id")
    b: str = Field(description="the second (after) job id")
    summary: DiffSummary
    steps: list[StepChange] = Field(description="by order, unit and routing position")
    orders: list[OrderChange] = Field(description="by order id")
