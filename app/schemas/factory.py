"""The factory model as the API takes and gives it: SPEC section 1 sites, resources, products."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from solver.problem import Product, Resource, Site


class FactoryIn(BaseModel):
    """A whole factory model (`PUT /factory` replaces the current one with a new version)."""

    model_config = ConfigDict(extra="forbid")

    sites: list[Site] = Field(min_length=1)
    resources: list[Resource] = Field(min_length=1)
    products: list[Product] = Field(min_length=1)


class FactoryOut(FactoryIn):
    """A stored factory version."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(description="increases by one with every change")
    created_at: str
