"""Planned maintenance as the API takes and gives it."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from solver.problem import Text


class DowntimeIn(BaseModel):
    """A planned maintenance window: the resource is unavailable from `start` to `end`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"start": "2026-12-03T00:00:00Z", "end": "2026-12-03T08:00:00Z",
         "reason": "burn-in chamber calibration"}]})

    start: AwareDatetime = Field(description="ISO time with offset")
    end: AwareDatetime = Field(description="ISO time with offset, after start and now")
    reason: Text | None = Field(default=None, description="why (shown to planners)")


class DowntimeWindow(BaseModel):
    """One downtime window as the factory keeps it (times in UTC)."""

    start: str
    end: str
    reason: str | None = None


class DowntimeOut(BaseModel):
    """What a maintenance change did: the window added or removed, the factory version
    that holds the change, and the resource's windows now."""

    resource: str
    factory_version: int
    window: DowntimeWindow
    downtime: list[DowntimeWindow]
