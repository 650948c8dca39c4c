"""Orders as the API takes and gives them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from solver.problem import Order as SpecOrder


class OrderOut(SpecOrder):
    """A stored order: the SPEC section 1 fields plus its life-cycle status."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="open or cancelled")
    created_at: str
    updated_at: str
    progress: list[dict[str, Any]] | None = Field(
        default=None, description="per unit: the steps done or running (from floor events)"
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
