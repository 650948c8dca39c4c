"""What-if scenarios and site-loss resilience as the API takes and gives them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from solver.problem import Text
from solver.scenario import MAX_CHANGES

MAX_VARIANTS = 12  # variants of one scenario (each one more solve job)


class VariantIn(BaseModel):
    """A named list of changes (docs/scenarios.md lists the types and their fields)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1)
    changes: list[Any] = Field(
        max_length=MAX_CHANGES,
        description="typed changes, each {type, ...}: site_down, resource_down, "
        "resource_add, resource_remove, shifts, power_cap, duration, order_add, "
        "order_change, order_cancel, quota")


class ScenarioRequest(BaseModel):
    """The base (default: the current factory, open orders and floor state from now) and
    its variants, solved with the same time limit and seed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "name": "HOU outage", "time_limit": 10, "seed": 0,
            "variants": [
                {"name": "HOU down two weeks", "changes": [
                    {"type": "site_down", "site": "HOU", "start": "2026-12-01T00:00:00Z",
                     "end": "2026-12-15T00:00:00Z"}]},
                {"name": "and a second PHX test cell", "changes": [
                    {"type": "site_down", "site": "HOU", "start": "2026-12-01T00:00:00Z",
                     "end": "2026-12-15T00:00:00Z"},
                    {"type": "resource_add", "like": "PHX-TST-01", "count": 1}]},
            ],
        }]},
    )

    name: Text | None = Field(default=None, min_length=1)
    problem: dict[str, Any] | None = Field(
        default=None, description="a SPEC section 1 problem as the base (such a scenario "
        "cannot be applied)")
    variants: list[VariantIn] = Field(min_length=1, max_length=MAX_VARIANTS)
    time_limit: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="seconds per solve; default and maximum are server settings")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    workers: int | None = Field(default=None, ge=1, le=64,
                                description="CP-SAT workers per solve (default: setting)")


class ResilienceRequest(BaseModel):
    """Per site, "this site is down for `days` days from now (the base's horizon_start)"."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"days": 14, "time_limit": 10}]})

    name: Text | None = Field(default=None, min_length=1)
    problem: dict[str, Any] | None = Field(
        default=None, description="a SPEC section 1 problem as the base (default: the "
        "current factory, open orders and floor state from now)")
    days: float = Field(default=14.0, gt=0, le=366, allow_inf_nan=False)
    time_limit: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    workers: int | None = Field(default=None, ge=1, le=64)


class VariantSummary(BaseModel):
    index: int
    name: str
    job: str = Field(description="the solve job of the variant (a normal schedule)")
    status: str | None
    changes: list[dict[str, Any]]


class ScenarioOut(BaseModel):
    """A scenario: its jobs and status (GET adds the comparison)."""

    id: str
    kind: str = Field(description="whatif or resilience")
    name: str
    created_at: str
    status: str = Field(description="queued, running, done, cancelled or failed")
    params: dict[str, Any]
    factory_version: int | None = Field(
        description="the factory version the base was built from (None: a problem sent in)")
    base_job: str
    variants: list[VariantSummary]
    applied: list[dict[str, Any]]
    links: dict[str, str]


class ScenarioPage(BaseModel):
    """One page of scenarios, newest first."""

    items: list[ScenarioOut]
    total: int
    limit: int
    offset: int


class ScenarioCompare(BaseModel):
    """A scenario with the comparison of its finished jobs (docs/scenarios.md)."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    name: str
    status: str
    base: dict[str, Any]
    variants: list[dict[str, Any]]
    applied: list[dict[str, Any]]
    ranking: list[dict[str, Any]] | None = None
