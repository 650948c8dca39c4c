"""`GET /schedules/{id}/explain` and `GET /schedules/{id}/orders/{order}/explain`: every late
order with the summary first, one order (late or on time), counterfactuals on request, and
problem+json for an unknown job, order or a job without a plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from test_api_exports import insert_job

from app.tables import JobStatus
from solver.compiled import compile_problem
from solver.problem import load_problem
from solver.schedule import Status, build_schedule, empty_schedule
from solver.solution import Assignment
from solver.validate import validate

VIEWER_KEY = "viewer-key-0123456789"
PROBLEM: dict[str, Any] = {
    "name": "two-on-one-bay",
    "horizon_start": "2026-11-02T00:00:00Z",
    "sites": [{"id": "S", "timezone": "UTC"}],
    "resources": [{"id": "BI-1", "site": "S", "kind": "burn_in"}],
    "products": [{"id": "P", "routing": [
        {"op": "burn_in", "kind": "burn_in", "duration_min": 600}]}],
    "orders": [
        {"id": "A", "product": "P", "quantity": 1, "due": "2026-11-02T11:00:00Z", "weight": 3},
        {"id": "B", "product": "P", "quantity": 1, "due": "2026-11-03T00:00:00Z"},
    ],
}


def plan() -> dict[str, Any]:
    """A valid plan where A (heavier, due first) waits for B on the only bay."""
    p = load_problem(PROBLEM)
    c = compile_problem(p)
    start = {"B": 0, "A": 600}
    a = Assignment([0] * c.n_ops, [start[c.order_ids[c.unit_order[c.op_unit[o]]]]
                                   for o in range(c.n_ops)], [])
    a.end = [s + 600 for s in a.start]
    sched = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0, solve_seconds=0.0,
                           source="test")
    assert validate(p, sched) == []
    return sched


@pytest.fixture
def api(client: Any) -> Iterator[Any]:
    """A client whose database holds job `j1` with the plan above."""
    insert_job(client, "j1", PROBLEM, plan())
    yield client


def test_every_late_order_summary_first(api: Any) -> None:
    """The whole-schedule answer starts with the summary, then explains the late order only,
    naming the order that held it."""
    r = api.get("/schedules/j1/explain")
    assert r.status_code == 200
    body = r.json()
    assert list(body)[:5] == ["job_id", "problem", "status", "reasons", "summary"]
    assert body["summary"]["late"] == 1 and body["summary"]["explained"] == 1
    (o,) = body["orders"]
    assert o["order"] == "A" and o["tardiness_min"] == 540 and o["class"] == "priority"
    waits = [w for st in o["chain"] for w in st["waits"]]
    assert [(w["cause"], w["minutes"], w["ids"]["orders"]) for w in waits] == [
        ("resource", 600, ["B"])]
    assert o["chain_min"] == o["tardiness_min"] + o["slack_min"]
    assert "what_if" not in o  # only on request


def test_one_late_order(api: Any) -> None:
    """A late order: its sentences and its explanation."""
    r = api.get("/schedules/j1/orders/A/explain")
    assert r.status_code == 200
    body = r.json()
    assert body["late"] is True and body["tardiness_min"] == 540
    assert body["text"].startswith("A is delivered") and "B" in body["text"]
    assert body["explanation"]["order"] == "A"


def test_an_on_time_order_says_so(api: Any) -> None:
    """An on-time order gets a clear on-time answer, no explanation."""
    r = api.get("/schedules/j1/orders/B/explain")
    assert r.status_code == 200
    body = r.json()
    assert body["late"] is False and body["explanation"] is None
    assert body["text"] == ("B is on time: delivered 2026-11-02T10:00:00Z, "
                            "due 2026-11-03T00:00:00Z.")


def test_what_if_on_request(api: Any) -> None:
    """With what_if=true the late order gets checked counterfactuals: going ahead of B makes
    it on time at no cost to B (still on time)."""
    r = api.get("/schedules/j1/orders/A/explain", params={"what_if": "true"})
    assert r.status_code == 200
    found = r.json()["explanation"]["what_if"]
    assert 1 <= len(found) <= 3
    pr = next(w for w in found if w["kind"] == "priority")
    assert pr["tardiness_min"] == 0 and pr["others"] == [] and "schedule" not in pr
    r = api.get("/schedules/j1/explain", params={"what_if": "true"})
    assert [w["kind"] for w in r.json()["orders"][0]["what_if"]] == [w["kind"] for w in found]


def test_unknown_order_job_and_no_plan(api: Any) -> None:
    """Unknown order or job: 404 problem+json naming it; a job without a plan: 409."""
    r = api.get("/schedules/j1/orders/NOPE/explain")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [
        {"field": "order_id", "id": "NOPE", "message": "not an order of this plan"}]
    r = api.get("/schedules/nope/explain")
    assert r.status_code == 404 and r.json()["errors"][0]["id"] == "nope"
    p = load_problem(PROBLEM)
    insert_job(api, "inf", PROBLEM, empty_schedule(p, Status.INFEASIBLE, ["no room"], 0.1))
    r = api.get("/schedules/inf/orders/A/explain")
    assert r.status_code == 409 and "INFEASIBLE" in r.json()["detail"]
    insert_job(api, "run", PROBLEM, None, status=JobStatus.RUNNING)
    r = api.get("/schedules/run/explain")
    assert r.status_code == 409 and "no schedule to explain" in r.json()["detail"]


def test_viewer_may_read_and_no_key_may_not(
    make_client: Callable[..., AbstractContextManager[Any]],
) -> None:
    """With keys configured a viewer key may read explanations; no key gets 401."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        insert_job(c, "j1", PROBLEM, plan())
        assert c.get("/schedules/j1/explain").status_code == 401
        r = c.get("/schedules/j1/orders/A/explain", headers={"X-API-Key": VIEWER_KEY})
        assert r.status_code == 200


def test_documented_in_the_openapi(api: Any) -> None:
    """Both operations are in the OpenAPI document with their what_if parameter and answer
    schema."""
    spec = api.get("/openapi.json").json()
    for path, schema in (("/schedules/{job_id}/explain", "ScheduleExplanationOut"),
                         ("/schedules/{job_id}/orders/{order_id}/explain",
                          "OrderExplanationOut")):
        op = spec["paths"][path]["get"]
        assert "what_if" in [p["name"] for p in op["parameters"]]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(schema)
        assert "404" in op["responses"] and "409" in op["responses"]


def test_xlsx_orders_sheet_says_why_late(api: Any) -> None:
    """The XLSX export's orders sheet has `late_because`: the late order's class and
    reason in one line, empty for an on-time order."""
    import io

    import polars as pl

    r = api.get("/schedules/j1/export.xlsx")
    assert r.status_code == 200
    orders = pl.read_excel(io.BytesIO(r.content), sheet_name="orders")
    why = dict(zip(orders["order"].to_list(), orders["late_because"].to_list(), strict=True))
    assert why["B"] is None
    assert why["A"].startswith("priority: Its last rack waited 10 h for burn_in at S")
    assert "B" in why["A"]
