"""Orders as the API takes and gives them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.events import UnitProgress
from solver.problem import Order as SpecOrder


class OrderOut(SpecOrder):
    """A stored order: the SPEC section 1 fields plus its life-cycle status."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="open, cancelled, or quoted (a reserved quote: planned "
                        "until `expires_at` unless confirmed)")
    created_at: str
    updated_at: str
    expires_at: str | None = Field(
        default=None, description="a quoted order's hold ends then (null otherwise)")
    progress: list[UnitProgress] | None = Field(
        default=None, description="per unit: each step pending, running or done (from floor "
        "events); given by GET /orders and GET /orders/{id}"
    )


class Unplanned(BaseModel):
    """An order the factory cannot build: stored, and left out of plans with this reason
    (the shape of a schedule's `unplanned` entries)."""

    order: str
    code: str = Field(description="no_eligible_resource, no_site_for_routing, quota, ...")
    reason: str = Field(description="the sentence naming the order, step and sites")
    op: str | None = Field(default=None, description="the routing step at fault")
    sites: list[str] = Field(default_factory=list, description="the sites concerned")


class OrderBatchResult(BaseModel):
    """What a batch did: ids created, changed, and unchanged (the same batch twice
    changes nothing), and a warning per order the factory cannot build (stored all the
    same; plans leave it out with the reason)."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    warnings: list[Unplanned] = Field(default_factory=list)


class OrderPage(BaseModel):
    """One page of orders."""

    items: list[OrderOut]
    total: int
    limit: int
    offset: int
