"""The application (app/main.py): its start (schema, the sample, the first plan) and the
operations it is assembled from (their OpenAPI ids)."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from jobwait import wait
from sqlalchemy import update

from app.config import Settings
from app.db import make_engine, session_factory, transaction
from app.main import SchemaError, create_app
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


OPERATION_IDS = {
    ("GET", "/healthz"): "getHealth",
    ("GET", "/readyz"): "getReadiness",
    ("GET", "/metrics"): "getMetrics",
    ("GET", "/factory"): "getFactory",
    ("PUT", "/factory"): "replaceFactory",
    ("GET", "/factory/versions/{version}"): "getFactoryVersion",
    ("GET", "/orders"): "listOrders",
    ("POST", "/orders"): "createOrders",
    ("POST", "/orders/upload"): "uploadOrders",
    ("GET", "/orders/{order_id}"): "getOrder",
    ("DELETE", "/orders/{order_id}"): "cancelOrder",
    ("GET", "/schedules"): "listSchedules",
    ("POST", "/schedules"): "createSchedule",
    ("GET", "/schedules/published"): "getPublishedSchedule",
    ("GET", "/schedules/{job_id}"): "getSchedule",
    ("DELETE", "/schedules/{job_id}"): "cancelSchedule",
    ("GET", "/schedules/{job_id}/problem"): "getScheduleProblem",
    ("POST", "/schedules/{job_id}/publish"): "publishSchedule",
    ("GET", "/schedules/{job_id}/gantt"): "getScheduleGantt",
    ("GET", "/schedules/{job_id}/explain"): "explainSchedule",
    ("GET", "/schedules/{job_id}/orders/{order_id}/explain"): "explainScheduleOrder",
    ("GET", "/schedules/{job_id}/export.csv"): "exportScheduleCsv",
    ("GET", "/schedules/{job_id}/export.xlsx"): "exportScheduleXlsx",
    ("GET", "/schedules/{a}/diff/{b}"): "diffSchedules",
    ("POST", "/reschedule"): "createReschedule",
    ("GET", "/overview"): "getOverview",
    ("GET", "/exceptions"): "listExceptions",
    ("POST", "/events"): "recordEvents",
    ("GET", "/events"): "listEvents",
    ("POST", "/capacity"): "createCapacityReport",
    ("GET", "/schedules/{job_id}/capacity"): "getScheduleCapacity",
    ("GET", "/pins"): "listPins",
    ("POST", "/pins"): "createPin",
    ("DELETE", "/pins/{pin_id}"): "deletePin",
    ("POST", "/schedules/{job_id}/moves"): "moveStep",
    ("POST", "/quotes"): "createQuote",
    ("POST", "/orders/{order_id}/confirm"): "confirmOrder",
    ("POST", "/scenarios"): "createScenario",
    ("GET", "/scenarios"): "listScenarios",
    ("GET", "/scenarios/{scenario_id}"): "getScenario",
    ("DELETE", "/scenarios/{scenario_id}"): "cancelScenario",
    ("POST", "/scenarios/{scenario_id}/variants/{n}/apply"): "applyScenarioVariant",
    ("POST", "/resilience"): "createResilience",
    ("POST", "/resources/{resource_id}/downtime"): "addDowntime",
    ("DELETE", "/resources/{resource_id}/downtime/{start}"): "removeDowntime",
}


def test_every_operation_has_its_stable_readable_id() -> None:
    """Each documented operation has the operation id client generators name it by: the
    ones listed (none missing, none renamed, no operation without one), each unique and in
    lowerCamelCase (not FastAPI's generated `list_orders_orders_get`)."""
    spec = create_app(Settings(database_url="sqlite://", log_json=False)).openapi()
    ops = {(method.upper(), path): op.get("operationId")
           for path, methods in spec["paths"].items() for method, op in methods.items()}
    assert ops == OPERATION_IDS
    ids = list(ops.values())
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
