"""A reschedule request as the API takes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RescheduleRequest(BaseModel):
    """How to reschedule: every field is optional (server settings fill them in)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"time_limit": 60, "frozen_hours": 24, "seed": 0}]},
    )

    time_limit: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="seconds; default and maximum are server settings")
    workers: int | None = Field(
        default=None, ge=1, le=64, description="CP-SAT search workers (default: setting)")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="CP-SAT random seed")
    frozen_hours: float | None = Field(
        default=None, ge=0, le=24 * 366, allow_inf_nan=False,
        description="keep the published steps that start within this many hours of now "
                    "where they are (default: setting RACKPLAN_FROZEN_HOURS, 24)")
