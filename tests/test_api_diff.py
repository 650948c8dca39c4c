"""`GET /schedules/{a}/diff/{b}` (app/routes/diff.py, app/services/diff.py) on SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from app.db import transaction
from app.services.seed import SAMPLE
from app.tables import Job, JobStatus
from solver.diff import diff
from solver.problem import load_problem
from solver.solve import SolveParams, solve

VIEWER_KEY = "viewer-key-0123456789"
Solved = tuple[dict[str, Any], dict[str, Any]]


def _solve(problem: dict[str, Any]) -> dict[str, Any]:
    schedule = solve(load_problem(problem), SolveParams(time_limit=1, workers=1))
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE")
    return schedule


@pytest.fixture(scope="module")
def plans() -> tuple[Solved, Solved]:
    """The sample restricted to three orders of one rack each, solved; and the same with
    the first order cancelled, solved (made once for the module)."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    orders = [o for o in data["orders"] if o["product"] != "NVSW-SPINE"][:3]
    for o in orders:
        o["quantity"] = 1
    data["orders"] = orders
    cancelled = copy.deepcopy(data)
    cancelled["orders"] = orders[1:]
    return (data, _solve(data)), (cancelled, _solve(cancelled))


def insert_job(client: Any, job_id: str, problem: dict[str, Any],
               schedule: dict[str, Any] | None, status: str = JobStatus.DONE) -> None:
    """A job row as the job runner leaves it (a queued one stops the runner: its poll would
    claim it)."""
    if status == JobStatus.QUEUED:
        client.app.state.rackplan.runner.stop()
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Job(id=job_id, kind="solve", status=status, created_at="2026-11-30T00:00:00Z",
                  params={"time_limit": 1}, factory_version=1, problem=problem,
                  schedule=schedule, valid=schedule is not None))


@pytest.fixture
def api(client: Any, plans: tuple[Solved, Solved]) -> Any:
    """A client whose database holds job `full` (three orders) and `cut` (one cancelled)."""
    insert_job(client, "full", *plans[0])
    insert_job(client, "cut", *plans[1])
    return client


def test_a_schedule_against_itself_moves_nothing(api: Any, plans: tuple[Solved, Solved]) -> None:
    """A job's schedule against itself: every step compared, none moved, added or removed."""
    r = api.get("/schedules/full/diff/full")
    assert r.status_code == 200
    body = r.json()
    s = body["summary"]
    assert (body["a"], body["b"]) == ("full", "full")
    assert s["steps_compared"] == len(plans[0][1]["items"])
    assert (s["steps_moved"], s["steps_added"], s["steps_removed"]) == (0, 0, 0)
    assert s["on_time_before"] == s["on_time_after"] == plans[0][1]["kpis"]["on_time"]
    assert body["steps"] == [] and body["orders"] == []


def test_cancelled_order_shows_as_removed(api: Any, plans: tuple[Solved, Solved]) -> None:
    """From the full plan to the one with an order cancelled: the answer is
    `solver.diff.diff` of the two stored schedules; the cancelled order's steps and the
    order itself are removed."""
    (full_p, full_s), (_, cut_s) = plans
    r = api.get("/schedules/full/diff/cut")
    assert r.status_code == 200
    body = r.json()
    expected = diff(full_s, cut_s)
    assert body["summary"] == expected["summary"]
    assert body["steps"] == expected["steps"]
    assert body["orders"] == expected["orders"]
    gone = full_p["orders"][0]["id"]
    removed = [x for x in body["steps"] if x["change"] == "removed"]
    assert {x["order"] for x in removed} == {gone}
    assert len(removed) == sum(1 for i in full_s["items"] if i["order"] == gone)
    assert body["summary"]["steps_removed"] == len(removed)
    assert body["summary"]["orders_removed"] == 1
    assert [o["id"] for o in body["orders"] if o["change"] == "removed"] == [gone]
    back = api.get("/schedules/cut/diff/full").json()["summary"]
    assert (back["steps_added"], back["orders_added"]) == (len(removed), 1)


def test_unknown_jobs_are_named(api: Any) -> None:
    """An unknown job is a 404 problem+json naming it and which side it is; two unknown
    jobs are both named."""
    r = api.get("/schedules/full/diff/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "'nope'" in r.json()["detail"]
    assert r.json()["errors"] == [{"field": "b", "id": "nope", "message": "unknown job"}]
    r = api.get("/schedules/x1/diff/x2")
    assert r.status_code == 404
    assert [(e["field"], e["id"]) for e in r.json()["errors"]] == [("a", "x1"), ("b", "x2")]


def test_jobs_without_a_schedule_are_named(api: Any, plans: tuple[Solved, Solved]) -> None:
    """A queued job and an infeasible result are 409s naming the job and why; an unknown
    job on the other side takes precedence (404)."""
    problem, schedule = plans[0]
    insert_job(api, "waiting", problem, None, JobStatus.QUEUED)
    infeasible = {**schedule, "status": "INFEASIBLE", "items": [], "reasons": ["no site"]}
    insert_job(api, "inf", problem, infeasible)
    r = api.get("/schedules/waiting/diff/full")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "'waiting'" in r.json()["detail"] and "queued" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "a"
    r = api.get("/schedules/full/diff/inf")
    assert r.status_code == 409
    assert "INFEASIBLE" in r.json()["detail"]
    assert r.json()["errors"] == [{"field": "b", "id": "inf",
                                   "message": "the result is INFEASIBLE"}]
    assert api.get("/schedules/waiting/diff/nope").status_code == 404


def test_viewer_may_diff_and_no_key_may_not(
    make_client: Callable[..., AbstractContextManager[Any]], plans: tuple[Solved, Solved],
) -> None:
    """With keys configured a viewer key may read a diff; a request without a key gets 401."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        insert_job(c, "full", *plans[0])
        insert_job(c, "cut", *plans[1])
        assert c.get("/schedules/full/diff/cut").status_code == 401
        r = c.get("/schedules/full/diff/cut", headers={"X-API-Key": VIEWER_KEY})
        assert r.status_code == 200
        assert r.json()["summary"]["orders_removed"] == 1
