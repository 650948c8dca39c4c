"""The factory model as the API takes and gives it: SPEC section 1 sites, resources, products."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from solver.problem import Policies, Product, Resource, Site

EXAMPLE: dict[str, Any] = {
    "sites": [{
        "id": "HOU", "name": "Houston, TX", "timezone": "America/Chicago",
        "shifts": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00",
                    "end": "22:00"}],
        "holidays": ["2026-12-25"], "power_cap_kw": 2400,
        "transit_min": {"us-west": 2880, "us-east": 1440},
    }],
    "resources": [
        {"id": "HOU-ASM-1", "site": "HOU", "kind": "assembly", "capacity": 1},
        {"id": "HOU-TST-1", "site": "HOU", "kind": "test", "capacity": 2},
        {"id": "HOU-BI-1", "site": "HOU", "kind": "burn_in", "capacity": 8,
         "calendar": "24x7",
         "downtime": [{"start": "2026-12-03T00:00:00Z", "end": "2026-12-03T08:00:00Z"}]},
    ],
    "products": [{"id": "NVL72-G2", "family": "G2", "routing": [
        {"op": "assembly", "kind": "assembly", "duration_min": 480},
        {"op": "test", "kind": "test", "duration_min": 240},
        {"op": "burn_in", "kind": "burn_in", "duration_min": 1440, "power_kw": 130},
    ]}],
}


class FactoryIn(BaseModel):
    """A whole factory model (`PUT /factory` replaces the current one with a new version)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    sites: list[Site] = Field(min_length=1)
    resources: list[Resource] = Field(min_length=1)
    products: list[Product] = Field(min_length=1)
    policies: Policies | None = Field(
        default=None,
        description="SPEC section 6 spread-risk quotas: every solve, reschedule and "
                    "capacity report of this factory keeps them",
    )


class FactoryOut(FactoryIn):
    """A stored factory version."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(description="increases by one with every change")
    created_at: str
