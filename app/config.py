"""Settings from the environment (prefix RACKPLAN_), read once through `get_settings()`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from solver.problem import Limits

# relative to the working directory (never to where the package is installed)
DEFAULT_DATABASE_URL = "sqlite:///var/rackplan.db"


class Settings(BaseSettings):
    """Everything an operator can set, each as `RACKPLAN_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="RACKPLAN_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; by default the SQLite file var/rackplan.db under the working "
        "directory; e.g. postgresql+psycopg://u@h/db",
    )
    api_keys: str = Field(
        default="", description="comma-separated `key:role` pairs (roles viewer, mes, planner)"
    )
    load_sample: bool = Field(
        default=True,
        description="load the packaged sample factory and orders into an empty database on start",
    )
    plan_sample: bool = Field(
        default=True, description="queue a first solve right after loading the sample"
    )
    max_solves: int = Field(
        default=1, ge=1,
        description="solve jobs running at once in the whole database, however many server "
        "and worker processes share it",
    )
    run_jobs: bool = Field(
        default=True,
        description="this server runs queued jobs itself; false: it only queues them, for "
        "`rackplan worker` processes to run",
    )
    max_upload_bytes: int = Field(default=5_000_000, ge=1, description="largest order file")
    default_time_limit: float = Field(default=30.0, gt=0, description="solve time limit, s")
    max_time_limit: float = Field(default=3600.0, gt=0, description="largest allowed limit, s")
    workers: int = Field(default=2, ge=1, description="CP-SAT workers per solve job")
    solve_nice: int = Field(
        default=10, ge=0, le=19,
        description="how much lower the service's solve jobs' CPU priority is than the server's "
        "(Unix nice), so that API calls stay fast while a solve runs; 0: the same",
    )
    frozen_hours: float = Field(
        default=24.0, ge=0, allow_inf_nan=False,
        description="a reschedule keeps the published steps starting within this many hours",
    )
    at_risk_hours: float = Field(
        default=24.0, ge=0, le=24 * 366, allow_inf_nan=False,
        description="an order of the published plan delivered less than this many hours "
        "before its due date is listed as at risk (`GET /exceptions`)",
    )
    quote_hold_hours: float = Field(
        default=48.0, gt=0, le=24 * 366, allow_inf_nan=False,
        description="a reserved quote (POST /quotes?reserve=true) is held in plans this long "
        "unless confirmed",
    )
    now: datetime | None = Field(
        default=None, description="the clock: an ISO time replaces the wall clock (replays)"
    )
    log_json: bool = Field(default=True, description="JSON log lines on stderr")

    @field_validator("now")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("RACKPLAN_NOW needs a UTC offset, e.g. 2026-12-01T06:00:00Z")
        return v

    def clock(self) -> datetime:
        """Now: `RACKPLAN_NOW` when set, else the wall clock (UTC)."""
        return (self.now or datetime.now(UTC)).astimezone(UTC)

    # ---- jobs and workers (docs/service.md, "Jobs and workers") ----
    job_lease_seconds: float = Field(
        default=30.0, ge=3, le=3600, allow_inf_nan=False,
        description="a running job whose process has not renewed its lease (about once a "
        "second) for this long is failed as interrupted, by any server process",
    )
    max_queued_jobs: int = Field(
        default=50, ge=1, le=100_000,
        description="queued jobs at most; a solve or reschedule asked for beyond it is "
        "answered 429 with Retry-After",
    )
    job_grace_seconds: float = Field(
        default=5.0, gt=0, le=600, allow_inf_nan=False,
        description="how long past its time limit a job that has no schedule yet (loading, "
        "compiling, the first schedule) may go on before it gives up; a worker process "
        "that has not stopped this long after a cancel, or twice this long after its time "
        "limit, is ended",
    )

    # limits on values: what one request may hold, so that no value crashes the service or
    # stalls a solve (docs/service.md, "Limits on values"); at most the solver's own limits
    time_window_days: int = Field(
        default=Limits.span_days, ge=1, le=Limits.span_days,
        description="every time the service takes (due and release dates, floor events, "
        "downtime, holidays, horizon_start, time filters) lies within this many days of now",
    )
    max_quantity: int = Field(
        default=Limits.max_quantity, ge=1, le=Limits.max_quantity,
        description="the most racks one order may have",
    )
    clock_skew_seconds: float = Field(
        default=120.0, ge=0, le=3600, allow_inf_nan=False,
        description="how far ahead of the server's clock a floor event's time may be (an "
        "MES clock running fast) before it is refused as in the future; such a time is "
        "taken as now",
    )
    max_workers: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 64), ge=1, le=64,
        description="the most CP-SAT workers a solve may ask for (default: the machine's "
        "processor cores); the `workers` setting is capped at it",
    )
    max_faults: int = Field(
        default=100, ge=1,
        description="faults listed in one error answer (when there are more, `error_count` "
        "counts them all)",
    )

    def limits(self) -> Limits:
        """The solver's value limits as these settings set them."""
        return Limits(span_days=self.time_window_days, max_quantity=self.max_quantity)

    def solve_workers(self, requested: int | None) -> int:
        """The workers of a solve: the request's (at most `max_workers`, checked by the
        route), else the setting, capped at `max_workers`."""
        return requested if requested is not None else min(self.workers, self.max_workers)

    # ---- limits on requests: sizes, hosts, workbooks (docs/service.md, "Limits on requests")
    max_body_bytes: int = Field(
        default=10_000_000, ge=1,
        description="largest request body other than an order file, bytes (413 above; read "
        "only up to the limit, chunked bodies included)",
    )
    max_upload_rows: int = Field(
        default=100_000, ge=1, description="most rows in an order file, the header included",
    )
    max_upload_columns: int = Field(
        default=26, ge=9, description="most columns in an order file (A to Z by default)",
    )
    max_upload_unzipped_bytes: int = Field(
        default=50_000_000, ge=1,
        description="most bytes an .xlsx order file may hold once unzipped (its parts added up)",
    )
    allowed_hosts: str = Field(
        default="",
        description="comma-separated host names the service answers to (`*`: any); empty: "
        "the listening address and, on a loopback one, localhost; with API keys, any",
    )


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings()
