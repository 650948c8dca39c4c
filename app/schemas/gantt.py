"""The Gantt data answer (`GET /schedules/{id}/gantt`) and the front page's overview."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class GanttHorizon(BaseModel):
    """The time span the chart covers: whole days from the schedule's horizon start."""

    start: str = Field(description="horizon start, UTC")
    end: str = Field(description="horizon start plus `minutes`, UTC")
    minutes: int = Field(description="length in minutes (covers every bar, delivery and due)")


class GanttPowerWindow(BaseModel):
    """A power window of a site (SPEC section 6), clipped to the horizon."""

    start_min: int
    end_min: int
    power_cap_kw: float = Field(description="the site's power cap within the window")
    lower: bool = Field(description="whether the window lowers the site's cap (else raises)")


class GanttPower(BaseModel):
    """A site's running power against the cap in force (SPEC rule 8, section 6 windows),
    as steps: each [minute, value] holds until the next one's minute."""

    load: list[list[float]] = Field(
        description="[minute, kW] steps of the power its running steps draw, from minute 0 "
        "(or a fixed step's earlier start)")
    cap: list[list[float | None]] = Field(
        description="[minute, kW] steps of the cap in force (the site's `power_cap_kw`, a "
        "power window's within it; null: no cap)")
    peak_kw: float = Field(description="the highest running power")
    at_cap_min: int = Field(
        description="minutes within the horizon where the load is within 0.5 kW of the cap")


class GanttSite(BaseModel):
    """A site's calendar within the horizon, in minutes from the horizon start."""

    id: str
    name: str | None = None
    timezone: str
    open: list[list[int]] = Field(description="open (shift) windows [start, end)")
    shift_starts: list[int] = Field(description="where each shift begins")
    midnights: list[int] = Field(description="local midnights in the site's time zone")
    power_cap_kw: float | None = Field(default=None, description="the site's power cap")
    power_windows: list[GanttPowerWindow] = Field(
        default_factory=list, description="where another power cap is in force")
    power: GanttPower | None = Field(
        default=None, description="the power profile (null: no cap and no step draws power)")


class GanttGroup(BaseModel):
    """A Gantt row: one resource (SPEC section 3 `groups`, plus its calendar)."""

    id: str
    site: str
    kind: str
    capacity: int = 1
    calendar: str = Field(default="site", description="'site' (the site's shifts) or '24x7'")
    downtime: list[list[int]] = Field(default_factory=list, description="[start, end) minutes")
    busy_min: int = Field(
        default=0, description="minutes of its steps from the horizon start to the plan's "
        "last step end")
    open_min: int = Field(
        default=0, description="its available minutes there (open time less downtime)")
    utilisation: float | None = Field(
        default=None, description="busy_min / (open_min x capacity), 0..1, the schedule's "
        "kpis.utilization (null: the resource is not in the job's problem)")


class GanttReported(BaseModel):
    """A step's start (and completion) as the floor reported it."""

    resource: str
    started_at: str
    completed_at: str | None = None


class GanttItem(BaseModel):
    """A bar: one step of one unit (SPEC section 3 `items`)."""

    id: str
    group: str
    order: str
    unit: int
    op: str
    product: str
    site: str
    start: str
    end: str
    start_min: int
    end_min: int
    depends_on: list[str] = Field(default_factory=list)
    state: Literal["planned", "running", "done"] = Field(
        default="planned", description="the step on the floor now, from the floor events")
    fixed: bool = Field(
        default=False, description="a fixed step of the job's problem (a floor fact when it "
        "was solved, a reschedule's frozen step): the solve could not move it")
    reported: GanttReported | None = Field(
        default=None, description="what the floor reported (running and done steps)")


class GanttOrder(BaseModel):
    """An order's delivery and tardiness (SPEC section 3 `orders`, plus minutes)."""

    id: str
    delivery: str | None = None
    due: str | None = None
    tardiness_min: int | float | None = None
    sites: list[str] = Field(default_factory=list)
    late: bool
    delivery_min: int | None = None
    due_min: int | None = None
    index: int = Field(default=0, description="its place in the schedule's orders (colours)")
    product: str | None = None
    family: str | None = Field(default=None, description="the product's family (generation)")
    customer: str | None = None
    weight: float = 1.0
    slack_min: int | None = Field(
        default=None, description="due minus delivery, minutes (negative: late)")


class GanttFrozen(BaseModel):
    """The frozen window of the next reschedule: the published steps starting within it
    stay where they are."""

    hours: float = Field(description="the service's frozen_hours setting")
    start: str = Field(description="now, to the minute, UTC")
    end: str
    start_min: int
    end_min: int


class GanttOut(BaseModel):
    """Rows, bars and orders of one schedule that pass the filters."""

    job_id: str
    status: str | None = Field(description="the schedule's status (OPTIMAL, FEASIBLE, ...)")
    objective: str | None = None
    objective_value: float | None = None
    lower_bound: float | None = None
    gap: float | None = None
    kpis: dict[str, Any] | None = None
    reasons: list[str] = Field(default_factory=list)
    horizon: GanttHorizon
    sites: list[GanttSite] = Field(description="every site of the schedule, unfiltered")
    total_items: int = Field(description="bars in the whole schedule")
    count: int = Field(description="bars in this answer")
    groups: list[GanttGroup]
    items: list[GanttItem]
    orders: list[GanttOrder] = Field(description="the orders of the bars shown (and those asked)")
    now: str = Field(description="the service's clock, UTC")
    now_min: int = Field(description="now in minutes from the horizon start")
    frozen: GanttFrozen


class JobBrief(BaseModel):
    """A job as the front page lists it."""

    id: str
    status: str
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    valid: bool
    params: dict[str, Any] = Field(default_factory=dict)
    progress: dict[str, Any] | None = None
    error: str | None = None


class Overview(BaseModel):
    """What the front page shows: the latest finished schedule, the solves under way, and
    what the floor follows."""

    latest: JobBrief | None = Field(description="the newest job with a schedule")
    active: list[JobBrief] = Field(description="queued and running jobs, newest first")
    published: str | None = Field(description="the job id the floor follows, if any")
    recent: list[JobBrief] = Field(description="the ten newest jobs")
