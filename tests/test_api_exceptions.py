"""`GET /exceptions`: late, unplanned, at-risk, released and idle entries of the published
plan, each with its links, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import pytest

from app.db import transaction
from app.services.seed import SAMPLE
from app.tables import Job, JobStatus, Publication
from solver.calendar import minutes_between
from solver.problem import load_problem
from solver.solve import SolveParams, solve

VIEWER_KEY = "viewer-key-0123456789"


@pytest.fixture(scope="module")
def solved() -> tuple[dict[str, Any], dict[str, Any]]:
    """The sample and a 1-second schedule of it (with late orders)."""
    problem = json.loads(SAMPLE.read_text(encoding="utf-8"))
    schedule = solve(load_problem(problem), SolveParams(time_limit=1, workers=1, seed=0))
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE")
    return problem, schedule


def add_job(client: Any, problem: dict[str, Any], schedule: dict[str, Any],
            kind: str = "solve", created_at: str = "2026-11-30T00:00:00Z",
            publish: bool = False) -> str:
    job_id = uuid.uuid4().hex
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Job(id=job_id, kind=kind, status=JobStatus.DONE, created_at=created_at,
                  started_at=created_at, finished_at=created_at, params={},
                  factory_version=1, problem=problem, schedule=schedule, progress=None,
                  error=None, valid=True))
        if publish:
            s.flush()
            s.add(Publication(job_id=job_id, published_at=created_at))
    return job_id


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_nothing_published_lists_nothing(client: Any) -> None:
    body = client.get("/exceptions").json()
    assert body["job_id"] is None and body["items"] == []
    assert body["counts"] == {"late": 0, "unplanned": 0, "at_risk": 0, "released": 0, "idle": 0}
    assert body["at_risk_hours"] == 24


def test_exceptions_of_the_published_plan(
    client: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Every late order (most weighted minutes first), every order delivered within a day
    of its due, the unplanned orders of the schedule, the steps the last reschedule
    released, and idle resources; each with links."""
    problem, schedule = solved
    schedule = copy.deepcopy(schedule)
    schedule["unplanned"] = [{"order": "SO-2004", "code": "no_resource", "op": "assembly",
                              "sites": ["SJC"], "reason": "no GB300 assembly at SJC"}]
    job = add_job(client, problem, schedule, publish=True)
    body = client.get("/exceptions").json()
    assert body["job_id"] == job and body["name"] == problem["name"]
    items = body["items"]
    kinds = [e["kind"] for e in items]
    assert kinds == sorted(kinds, key=["late", "unplanned", "at_risk", "released",
                                       "idle"].index)
    late = {o["id"]: o for o in schedule["orders"] if o["tardiness_min"] > 0}
    assert late, "the 1-second sample plan has late orders"
    got_late = [e for e in items if e["kind"] == "late"]
    assert {e["order"] for e in got_late} == set(late)
    assert [e["weighted_min"] for e in got_late] == sorted(
        (e["weighted_min"] for e in got_late), reverse=True)
    weights = {o["id"]: o.get("weight", 1) for o in problem["orders"]}
    for e in got_late:
        assert e["tardiness_min"] == late[e["order"]]["tardiness_min"]
        assert e["weighted_min"] == pytest.approx(e["tardiness_min"] * weights[e["order"]])
        assert e["links"]["gantt"] == f"/schedules/{job}/view?order={e['order']}"
    risky = {o["id"] for o in schedule["orders"] if o["tardiness_min"] == 0
             and minutes_between(_t(o["delivery"]), _t(o["due"])) < 24 * 60}
    assert {e["order"] for e in items if e["kind"] == "at_risk"} == risky
    un = [e for e in items if e["kind"] == "unplanned"]
    assert un == [{**un[0], "order": "SO-2004", "code": "no_resource", "op": "assembly",
                   "sites": ["SJC"], "reason": "no GB300 assembly at SJC"}]
    assert "no GB300 assembly at SJC" in un[0]["message"]
    # idle: more than a day of open time without a step, before the last late delivery
    bars: dict[str, list[tuple[str, str]]] = {}
    for it in schedule["items"]:
        bars.setdefault(it["group"], []).append((it["start"], it["end"]))
    last_late = max(_t(o["delivery"]) for o in late.values())
    for e in (e for e in items if e["kind"] == "idle"):
        assert e["idle_open_min"] > 1440
        assert _t(e["start"]) < last_late
        assert not any(_t(a) < _t(e["end"]) and _t(b) > _t(e["start"])
                       for a, b in bars.get(e["resource"], []))
        assert e["links"]["gantt"].endswith(f"?site={e['site']}")
    assert body["counts"]["late"] == len(late)


def test_released_steps_of_the_last_reschedule(
    client: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """The newest done reschedule's released steps are listed with their reasons."""
    problem, schedule = solved
    pub = add_job(client, problem, schedule, publish=True)
    older = {**schedule, "reschedule": {"kept": [], "released": [
        {"step": "SO-1001/1/test", "reason": "old"}]}}
    add_job(client, problem, older, kind="reschedule", created_at="2026-11-30T01:00:00Z")
    res = {**schedule, "reschedule": {"reference": pub, "kept": ["SO-1002/1/assembly"],
                                      "released": [{"step": "SO-1003/2/test",
                                                    "reason": "its resource is down"}]}}
    new = add_job(client, problem, res, kind="reschedule", created_at="2026-11-30T02:00:00Z")
    body = client.get("/exceptions").json()
    assert body["reschedule"] == {"job_id": new, "finished_at": "2026-11-30T02:00:00Z",
                                  "kept": 1, "released": 1, "reference": pub}
    rel = [e for e in body["items"] if e["kind"] == "released"]
    assert len(rel) == 1 and rel[0]["step"] == "SO-1003/2/test"
    assert rel[0]["reason"] == "its resource is down" and rel[0]["order"] == "SO-1003"
    assert rel[0]["links"]["compare"] == f"/ui/compare?b={new}"


def test_at_risk_setting_and_viewer_role(
    make_client: Callable[..., AbstractContextManager[Any]],
    solved: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """RACKPLAN_AT_RISK_HOURS sets the at-risk slack; a viewer key reads the list; no key
    is refused."""
    problem, schedule = solved
    with make_client(at_risk_hours=0, api_keys=f"{VIEWER_KEY}:viewer") as c:
        add_job(c, problem, schedule, publish=True)
        assert c.get("/exceptions").status_code == 401
        body = c.get("/exceptions", headers={"X-API-Key": VIEWER_KEY}).json()
        assert body["at_risk_hours"] == 0 and body["counts"]["at_risk"] == 0
        assert body["counts"]["late"] > 0


def test_idle_resources_while_an_order_that_could_use_them_is_late(client: Any) -> None:
    """One assembly of 2,000 min, then a test on either of two stations: the order is
    late, and both stations stand idle for more than a day of open time while it waits."""
    problem = {
        "name": "idle", "horizon_start": "2026-12-01T00:00:00Z", "objective": "tardiness",
        "sites": [{"id": "S", "timezone": "UTC"}],
        "resources": [{"id": "A1", "site": "S", "kind": "assembly"},
                      {"id": "T1", "site": "S", "kind": "test"},
                      {"id": "T2", "site": "S", "kind": "test"},
                      {"id": "P1", "site": "S", "kind": "pack"}],
        "products": [{"id": "P", "routing": [
            {"op": "assembly", "kind": "assembly", "duration_min": 2000},
            {"op": "test", "kind": "test", "duration_min": 60}]}],
        "orders": [{"id": "O1", "product": "P", "quantity": 1,
                    "due": "2026-12-01T01:40:00Z"}],
    }
    schedule = solve(load_problem(problem), SolveParams(time_limit=1, workers=1))
    assert schedule["orders"][0]["tardiness_min"] == 2060 - 100
    add_job(client, problem, schedule, publish=True)
    idle = [e for e in client.get("/exceptions").json()["items"] if e["kind"] == "idle"]
    tested = next(it["group"] for it in schedule["items"] if it["op"] == "test")
    other = ({"T1", "T2"} - {tested}).pop()
    assert {e["resource"]: e["idle_open_min"] for e in idle} == {other: 2060, tested: 2000}
    assert all(e["orders"] == ["O1"] and "O1" in e["message"] for e in idle)  # not P1
