"""Pins and moves as the API takes and gives them."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.schemas.schedules import JobOut
from solver.problem import Id, Text

PinState = Literal["holds", "floor", "cannot hold", "unchecked"]


class PinIn(BaseModel):
    """A pin to store: a step on a resource from a time, or an order's racks at a site."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"kind": "step", "order": "SO-1001", "unit": 1, "op": "test",
             "resource": "HOU-TST-01", "start": "2026-12-02T06:00:00Z",
             "reason": "the customer's witness test is booked then"},
            {"kind": "site", "order": "SO-1003", "site": "CMH",
             "reason": "close to the customer"},
        ]},
    )

    kind: Literal["step", "site"] = Field(description="step: a fixed step; site: a site")
    order: Id = Field(description="the order")
    unit: int | None = Field(default=None, ge=1, le=1_000_000,
                             description="step pins: the unit (rack), from 1")
    op: Id | None = Field(default=None, description="step pins: the routing step")
    resource: Id | None = Field(default=None, description="step pins: the resource")
    start: AwareDatetime | None = Field(
        default=None, description="step pins: when the step starts (floored to the minute)")
    site: Id | None = Field(default=None, description="site pins: the site")
    reason: Text = Field(default="", max_length=2000, description="why, for the next planner")


class PinOut(BaseModel):
    """A stored pin, and whether it holds in what a solve would plan now."""

    id: int
    kind: str
    order: str
    unit: int | None
    op: str | None
    resource: str | None
    start: str | None
    site: str | None
    reason: str
    set_by: str = Field(description="the role and key fingerprint of the caller who set it")
    created_at: str
    state: PinState = Field(
        description="holds: a solve now keeps it; floor: the floor has started or done the "
                    "step; cannot hold: a solve now leaves it out (see `why`); unchecked: "
                    "there is nothing to plan now")
    why: str | None = Field(default=None, description="why it cannot hold, or is unchecked")


class PinList(BaseModel):
    items: list[PinOut]
    total: int


class MoveIn(BaseModel):
    """One step of a schedule to another resource and/or start; the rest is repaired."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"order": "SO-1001", "unit": 1, "op": "test", "resource": "HOU-TST-02",
             "start": "2026-12-02T06:00:00Z", "pin": True, "reason": "TST-01 is booked"},
        ]},
    )

    order: Id
    unit: int = Field(ge=1, le=1_000_000)
    op: Id
    resource: Id | None = Field(default=None, description="default: the step's resource")
    start: AwareDatetime | None = Field(
        default=None, description="default: the step's start (floored to the minute)")
    pin: bool = Field(default=False, description="pin the step where it is moved to")
    reason: Text = Field(default="", max_length=2000, description="the pin's reason")
    time_limit: float | None = Field(
        default=None, gt=0, le=60, allow_inf_nan=False,
        description="seconds for the repair (default 2)")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class MoveOut(BaseModel):
    """An accepted move: the repaired plan (a job like any other) and the pin, if any."""

    job: JobOut
    pin: PinOut | None = Field(default=None, description="the step's pin, when pinned")
    pin_refused: str | None = Field(
        default=None, description="why the pin asked for could not be set (the move stands)")
    moved: dict[str, str] = Field(description="the step as moved: id, resource, start, end")
