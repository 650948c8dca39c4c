"""Settings from the environment (prefix RACKPLAN_), read once through `get_settings()`."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    max_solves: int = Field(default=1, ge=1, description="solve jobs running at once")
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
