"""The explanation answers (`GET /schedules/{id}/explain`, `.../orders/{order}/explain`).

The shapes are the solver's (`solver.explain`, `solver.whatif`); these models name them for
the OpenAPI document.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from solver.explain import OrderExplanation, Summary


class ScheduleExplanationOut(BaseModel):
    """Every late order of a schedule explained, the summary first."""

    job_id: str
    problem: str
    status: str = Field(description="the schedule's status")
    reasons: list[str] = Field(description="why nothing is explained, if so (all on time)")
    summary: Summary = Field(description="counts by class and the top causes over all orders")
    orders: list[OrderExplanation] = Field(
        description="per late order: its chain of waits with causes, class, sentences, and "
        "with `what_if=true` its checked counterfactuals under `what_if`")


class OrderExplanationOut(BaseModel):
    """One order: on time, or why it is late."""

    job_id: str
    order: str
    late: bool
    tardiness_min: int
    due: str | None
    delivery: str | None
    text: str = Field(description="one or two sentences a planner can read to the customer")
    explanation: OrderExplanation | None = Field(
        description="why it is late (None when on time); with `what_if=true`, `what_if` "
        "lists up to three checked counterfactuals")
