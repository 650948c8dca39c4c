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


class OrderBatchResult(BaseModel):
    """What a batch did: ids created, changed, and unchanged (the same batch twice
    changes nothing)."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]


class OrderPage(BaseModel):
    """One page of orders."""

    items: list[OrderOut]
    total: int
    limit: int
    offset: int
