"""Capable-to-promise quotes as the API takes and gives them."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from solver.problem import MAX_WEIGHT, Id, Text


class QuoteRequest(BaseModel):
    """The order to quote: what a customer asks for. Nothing is stored unless
    `reserve=true`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "product": "GB300-NVL72", "quantity": 4, "customer": "acme",
            "destination": "us-west", "due": "2026-12-20T00:00:00Z",
        }]},
    )

    product: Id = Field(description="a product of the current factory model")
    quantity: int = Field(ge=1, description="racks")
    destination: Text | None = Field(default=None, description="a transit_min destination")
    allowed_sites: list[Id] | None = Field(
        default=None, min_length=1, description="the sites it may be built at (default: any)")
    release: AwareDatetime | None = Field(
        default=None, description="when its parts can be on the floor (default: now)")
    weight: float = Field(default=1.0, gt=0, le=MAX_WEIGHT, allow_inf_nan=False,
                          description="its priority once ordered, as an order's weight")
    customer: Text | None = Field(default=None, description="the customer (quotas apply)")
    due: AwareDatetime | None = Field(
        default=None, description="the date the customer asks for; the answer says whether "
        "it is met (default: the plan has the order due at the quoted delivery)")


class Binding(BaseModel):
    """One cause that holds the quoted delivery (the first sets the date)."""

    cause: str = Field(description="resource, power, shift, weekend, holiday, downtime, "
                       "release, transit, routing (nothing but the order's own steps) or plan")
    subject: str = Field(description="e.g. 'burn_in at HOU', 'power cap at CMH'")
    minutes: int = Field(description="minutes of the latest rack's chain it holds")
    until: str | None = Field(default=None, description="when its last wait ends")
    text: str
    ids: dict[str, Any] = Field(description="resources, site, items and orders named")


class Later(BaseModel):
    """An order delivered later than in the published plan."""

    order: str
    delivery_before: str
    delivery: str
    later_by_min: int
    later_by: str
    tardiness_before_min: int
    tardiness_min: int


class Alternative(BaseModel):
    """The earliest date found when other orders may be delivered later."""

    delivery: str
    sites: list[str]
    earlier_by_min: int
    earlier_by: str
    later: list[Later] = Field(description="the orders it makes later, most minutes first")
    weighted_tardiness_added_min: float = Field(
        description="the other orders' weighted tardiness it adds (minutes)")
    plan: str = Field(description="the job id of its validated plan")
    checked: str


class QuoteOut(BaseModel):
    """A quote: the date that keeps every other order's delivery, and its plan."""

    order: str = Field(description="the quote's order id (stored only when reserved)")
    product: str
    quantity: int
    delivery: str = Field(description="the earliest delivery found that makes no other "
                          "order later than the published plan has it")
    sites: list[str]
    text: str = Field(description="the answer in one sentence")
    binding: list[Binding] = Field(description="what sets the date, the first most")
    earliest_alone: str = Field(
        description="a proven bound: the earliest delivery with the factory empty")
    proven: bool = Field(description="no earlier delivery exists with every other step "
                         "held where it is")
    due: str | None
    meets_due: bool | None
    plan: str = Field(description="the job id of the validated plan with the quote inserted "
                      "(Gantt, diff and explain like any plan)")
    publication: int = Field(description="the publication the quote was inserted into")
    baseline: str = Field(description="published, or replanned (the floor moved off it)")
    alternative: Alternative | None = Field(
        description="the earliest date if other orders may be later (null: none earlier)")
    notes: list[str]
    reserved: bool
    status: str | None = Field(description="quoted when reserved")
    expires_at: str | None = Field(description="the reserved quote's hold ends then")
    seconds: float
