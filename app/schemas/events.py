"""Floor events as MES sends them (`POST /events`) and the progress they make."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from solver.problem import Id


def _utc(t: datetime) -> datetime:
    try:
        return t.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None


# a time with a UTC offset, held in UTC
Time = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[Id, Field(max_length=200, description="unique per event; a repeat "
                                                              "with the same content is ignored")]


class StepStarted(_Event):
    """A unit's routing step started on a resource."""

    type: Literal["step_started"]
    order: Id
    unit: Annotated[int, Field(ge=1)]
    op: Id
    resource: Id
    at: Time


class StepCompleted(_Event):
    """A unit's routing step (started before) completed."""

    type: Literal["step_completed"]
    order: Id
    unit: Annotated[int, Field(ge=1)]
    op: Id
    at: Time


class ResourceDown(_Event):
    """A resource went down at `start`, until `end` when given, else until resource_up."""

    type: Literal["resource_down"]
    resource: Id
    start: Time
    end: Time | None = None


class ResourceUp(_Event):
    """A resource that was down is up again."""

    type: Literal["resource_up"]
    resource: Id
    at: Time


class OrderReleased(_Event):
    """An order's parts arrived: it may start from `at`."""

    type: Literal["order_released"]
    order: Id
    at: Time


FloorEvent = Annotated[
    StepStarted | StepCompleted | ResourceDown | ResourceUp | OrderReleased,
    Field(discriminator="type"),
]


class EventBatchResult(BaseModel):
    """What a batch did: event ids stored and applied, and repeats ignored."""

    accepted: list[str]
    ignored: list[str]


class StoredEvent(BaseModel):
    """A stored event: its id, type, fields (times in UTC) and when it arrived."""

    seq: int
    event_id: str
    type: str
    payload: dict[str, object]
    received_at: str


class EventPage(BaseModel):
    """One page of stored events, newest first."""

    items: list[StoredEvent]
    total: int
    limit: int
    offset: int


class StepProgress(BaseModel):
    """One step of one unit on the floor."""

    op: str
    state: Literal["pending", "running", "done"]
    resource: str | None = None
    started_at: str | None = None
    completed_at: str | None = None


class UnitProgress(BaseModel):
    """The steps of one unit, in routing order."""

    unit: int
    steps: list[StepProgress]
