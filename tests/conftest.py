"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL; and, for every
test, a check that each schedule `solve` returns in the test's process has a proven bound
no higher than its objective value.

PostgreSQL runs on 127.0.0.1:5432 (database `test`, trust auth) on development and CI
machines; each test gets its own database there. Where no server answers the PostgreSQL
cases are skipped, unless RACKPLAN_TEST_REQUIRE_PG=1 (as in CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _bound_never_above_the_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every solve in every test: the proven bound as the solve ends (before the schedule
    caps ``lower_bound`` at the objective) is at most the returned objective value."""
    import solver.solve

    real = solver.solve._finalise

    def checked(problem: Any, ctx: Any, *args: Any) -> dict[str, Any]:
        out = real(problem, ctx, *args)
        if out.get("items"):
            assert ctx.bound <= float(out["objective_value"]) + 1e-6, (
                f"proven bound {ctx.bound} above the objective {out['objective_value']}")
        return out

    monkeypatch.setattr(solver.solve, "_finalise", checked)


PG_ADMIN = os.environ.get("RACKPLAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
NOW = "2026-11-30T00:00:00Z"


def _pg_database() -> Iterator[str]:
    import psycopg

    name = f"rp_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("RACKPLAN_TEST_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rackplan.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file (for tests that need only one backend)."""
    return f"sqlite:///{tmp_path / 'rackplan.db'}"


@pytest.fixture
def make_client(db_url: str) -> Callable[..., AbstractContextManager[Any]]:
    """`make_client(**settings)` -> a TestClient context over `db_url` (lifespan run, the
    sample loaded unless load_sample=False, the clock at NOW unless `now` is given)."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    def make(**overrides: Any) -> AbstractContextManager[Any]:
        values: dict[str, Any] = {"database_url": db_url, "now": NOW, "log_json": False,
                                  "plan_sample": False}
        values.update(overrides)
        return TestClient(create_app(Settings(**values)), raise_server_exceptions=False)

    return make


@pytest.fixture
def client(make_client: Callable[..., AbstractContextManager[Any]]) -> Iterator[Any]:
    """A client on a fresh database holding the sample, in local mode (caller = planner)."""
    with make_client() as c:
        yield c
