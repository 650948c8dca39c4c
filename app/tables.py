"""The database schema (SQLAlchemy 2). Times are stored as UTC text `YYYY-MM-DDTHH:MM:SSZ`,
which sorts like the times themselves on every backend."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 7  # 3: locks; 4: jobs.heartbeat_at (a running job's lease); 5: pins;
# 6: orders.expires_at (a quote's hold); 7: scenarios


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class OrderStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    QUOTED = "quoted"  # a reserved quote: planned like an open order until `expires_at`


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    SOLVE = "solve"
    RESCHEDULE = "reschedule"  # from the floor's state, close to the published plan
    QUOTE = "quote"  # a new order inserted into the published plan (`app.services.quotes`)
    SCENARIO = "scenario"  # the base or a variant of a what-if scenario (never published)


class Meta(Base):
    """Key/value facts about the database itself (the schema version)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class FactoryVersion(Base):
    """One version of the factory model (sites, resources, products); never changed."""

    __tablename__ = "factory_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]]


class Order(Base):
    """An order as SPEC section 1 has it, plus its life-cycle status."""

    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    product: Mapped[str] = mapped_column(String(200), index=True)
    customer: Mapped[str | None] = mapped_column(String(200), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    due: Mapped[str] = mapped_column(String(20), index=True)
    release: Mapped[str | None] = mapped_column(String(20))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    destination: Mapped[str | None] = mapped_column(String(200))
    allowed_sites: Mapped[list[Any] | None]
    status: Mapped[str] = mapped_column(String(16), index=True, default=OrderStatus.OPEN)
    created_at: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[str] = mapped_column(String(20))
    # a quoted order's hold ends then (None for every other status)
    expires_at: Mapped[str | None] = mapped_column(String(20))


class Job(Base):
    """A solve (or reschedule) job: its request, the exact problem, progress and result."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.SOLVE)
    status: Mapped[str] = mapped_column(String(16), index=True, default=JobStatus.QUEUED)
    created_at: Mapped[str] = mapped_column(String(20), index=True)
    started_at: Mapped[str | None] = mapped_column(String(20))
    finished_at: Mapped[str | None] = mapped_column(String(20))
    params: Mapped[dict[str, Any]]
    factory_version: Mapped[int] = mapped_column(ForeignKey("factory_versions.version"))
    problem: Mapped[dict[str, Any]]
    schedule: Mapped[dict[str, Any] | None]
    progress: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    valid: Mapped[bool] = mapped_column(Boolean, default=False)
    # a running job's lease: renewed by the process running it; a job whose lease ran out
    # (`job_lease_seconds`) has lost its process and may be failed by any other
    heartbeat_at: Mapped[str | None] = mapped_column(String(20))


class Publication(Base):
    """Each publish, in order; the highest id is what the floor follows."""

    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    published_at: Mapped[str] = mapped_column(String(20))


class Event(Base):
    """A floor event as received (`POST /events`); `event_id` makes MES retries harmless."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[str] = mapped_column(String(20), index=True)


class StepState(Base):
    """The floor state of one step of one unit: running (no completed_at) or done."""

    __tablename__ = "step_states"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    unit: Mapped[int] = mapped_column(Integer, primary_key=True)
    op: Mapped[str] = mapped_column(String(200), primary_key=True)
    resource: Mapped[str] = mapped_column(String(200), index=True)
    started_at: Mapped[str] = mapped_column(String(20))
    completed_at: Mapped[str | None] = mapped_column(String(20))


class ResourceDowntime(Base):
    """A resource reported down from `start` until `end` (None: until a resource_up)."""

    __tablename__ = "resource_downtimes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(200), index=True)
    start: Mapped[str] = mapped_column(String(20))
    end: Mapped[str | None] = mapped_column(String(20))


class OrderRelease(Base):
    """When an order's parts arrived on the floor (order_released); the latest report wins."""

    __tablename__ = "order_releases"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    released_at: Mapped[str] = mapped_column(String(20))


class Lock(Base):
    """A named lock between processes (e.g. one nightly reschedule at a time); a row is
    held by `holder` until `expires_at`, after which anyone may take it over."""

    __tablename__ = "locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[str] = mapped_column(String(20))


class PinKind(StrEnum):
    STEP = "step"  # one step of one unit on a resource at a time, kept as a fixed step
    SITE = "site"  # an order's racks at one site (its allowed sites narrowed to it)


class Pin(Base):
    """A planner's decision every later solve and reschedule keeps until it is removed:
    a fixed step (`order`, `unit`, `op` on `resource` from `start`) or an order's racks at
    a `site`; who set it and why."""

    __tablename__ = "pins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    unit: Mapped[int | None] = mapped_column(Integer)
    op: Mapped[str | None] = mapped_column(String(200))
    resource: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[str | None] = mapped_column(String(20))
    site: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(200))  # the caller's role and key fingerprint
    created_at: Mapped[str] = mapped_column(String(20))
class Scenario(Base):
    """A what-if scenario (or a site-loss resilience run): a base problem and variants of
    it (named lists of changes, `solver.scenario`), each solved by a job of kind
    scenario; `variants` holds per variant its name, changes and job id."""

    __tablename__ = "scenarios"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # whatif | resilience
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(20), index=True)
    params: Mapped[dict[str, Any]]
    # the factory version the base was built from; None: a problem sent in
    factory_version: Mapped[int | None] = mapped_column(ForeignKey("factory_versions.version"))
    base_job: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    variants: Mapped[list[Any]]
    applied: Mapped[list[Any] | None]  # each apply: variant, time, factory version, orders
