"""The application's start: schema, the sample and the first plan."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from jobwait import wait
from sqlalchemy import update

from app.db import make_engine, session_factory, transaction
from app.main import SchemaError
from app.tables import Meta
from solver.problem import load_problem
from solver.validate import validate

Make = Callable[..., AbstractContextManager[Any]]


def test_first_start_loads_the_sample_and_plans_it(make_client: Make) -> None:
    """An empty database gets the sample factory, its orders and a first solve job that
    ends with a valid schedule; a second start adds nothing."""
    with make_client(plan_sample=True, default_time_limit=2) as c:
        jobs = c.get("/schedules").json()["items"]
        assert len(jobs) == 1
        job_id = jobs[0]["id"]
        job = wait(c, job_id, timeout=90)
        assert job["status"] == "done", job
        problem = c.get(f"/schedules/{job_id}/problem").json()
        assert len(problem["orders"]) == 39
        assert validate(load_problem(problem), job["schedule"]) == []
    with make_client(plan_sample=True) as c:
        assert len(c.get("/schedules").json()["items"]) == 1
        assert c.get("/factory").json()["version"] == 1


def test_newer_schema_is_refused(make_client: Make, db_url: str) -> None:
    """A database written by a newer rackplan (higher schema version) stops the start."""
    with make_client():
        pass
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as s:
        s.execute(update(Meta).where(Meta.key == "schema_version").values(value="999"))
    engine.dispose()
    with pytest.raises(SchemaError, match="schema version 999"), make_client():
        pass
