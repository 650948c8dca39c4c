"""POST /reschedule: a job that replans from the floor state close to the published plan,
keeps the frozen steps where they were published, and says what moved."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from jobwait import wait

from solver.problem import load_problem
from solver.validate import validate

MakeClient = Callable[..., AbstractContextManager[Any]]
PLANNED = "2026-12-01T00:00:00Z"  # the sample's first orders are released then
LATER = "2026-12-01T06:00:00Z"


def solve_and_publish(client: Any, limit: float = 2) -> dict[str, Any]:
    """Plan every open order and publish it; the published job."""
    r = client.post("/schedules", json={"time_limit": limit})
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"], timeout=120)
    assert job["publishable"], job
    r = client.post(f"/schedules/{job['id']}/publish")
    assert r.status_code == 200, r.text
    return job


def reschedule(client: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /reschedule and wait for the job."""
    r = client.post("/reschedule", json=body if body is not None else {"time_limit": 2})
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/schedules/{r.json()['id']}"
    assert r.json()["kind"] == "reschedule"
    return wait(client, r.json()["id"], timeout=120)


def check_against_published(job: dict[str, Any], problem: dict[str, Any],
                            published: dict[str, Any], now: str) -> set[str]:
    """The invariants of a reschedule's schedule; the ids of its fixed steps."""
    schedule = job["schedule"]
    assert validate(load_problem(problem), schedule) == []
    items = {i["id"]: i for i in schedule["items"]}
    before = {i["id"]: i for i in published["items"]}
    section = schedule["reschedule"]
    assert section["diff"] is not None and "summary" in section["diff"]
    assert section["frozen_steps"] == len(section["kept"])
    for step in section["kept"]:  # frozen: exactly where it was published
        assert (items[step]["group"], items[step]["start"], items[step]["end"]) == (
            before[step]["group"], before[step]["start"], before[step]["end"]), step
    fixed = {f"{f['order']}/{f['unit']}/{f['op']}" for f in problem["fixed"]}
    assert set(section["kept"]) <= fixed
    for item in schedule["items"]:
        if item["id"] not in fixed:
            assert item["start"] >= now, item
    return fixed


def test_reschedule_after_a_publish(make_client: MakeClient) -> None:
    """202 with the job; done and valid against its stored problem (the frozen steps as
    fixed); frozen steps at their published place; nothing free before now; publishable."""
    with make_client(now=PLANNED) as c:
        published = solve_and_publish(c)
    with make_client(now=LATER) as c:
        job = reschedule(c, {"time_limit": 2, "frozen_hours": 12, "seed": 1, "workers": 1})
        assert job["status"] == "done" and job["valid"], job
        assert job["params"]["reference"] == published["id"]
        assert job["params"]["frozen_hours"] == 12
        problem = c.get(f"/schedules/{job['id']}/problem").json()
        assert problem["horizon_start"] == LATER
        fixed = check_against_published(job, problem, published["schedule"], LATER)
        section = job["schedule"]["reschedule"]
        assert section["kept"], section  # the published plan has steps in [06:00, 18:00)
        # steps planned before 06:00 and not reported started cannot be kept: they move
        late = {i["id"] for i in published["schedule"]["items"] if i["start"] < LATER}
        assert late and not late & fixed
        moved = {s["id"] for s in section["diff"]["steps"]}
        assert late <= moved
        r = c.post(f"/schedules/{job['id']}/publish")
        assert r.status_code == 200, r.text
        assert c.get("/schedules/published").json()["publication"]["job_id"] == job["id"]


def test_reschedule_with_nothing_published_plans_from_scratch(client: Any) -> None:
    """Nothing published: a plain plan from now, and the section says so."""
    job = reschedule(client, {"time_limit": 1})
    assert job["status"] == "done" and job["valid"], job
    section = job["schedule"]["reschedule"]
    assert section["reference"] is None and section["diff"] is None
    assert "from scratch" in section["note"]
    assert job["params"]["reference"] is None
    problem = client.get(f"/schedules/{job['id']}/problem").json()
    assert validate(load_problem(problem), job["schedule"]) == []


def test_roles(make_client: MakeClient) -> None:
    """Only a planner may reschedule."""
    keys = {role: f"{role}-key-0123456789abcdef" for role in ("viewer", "mes")}
    spec = ",".join(f"{k}:{role}" for role, k in keys.items())
    with make_client(api_keys=spec) as c:
        assert c.post("/reschedule", json={}).status_code == 401
        for key in keys.values():
            r = c.post("/reschedule", json={}, headers={"X-API-Key": key})
            assert r.status_code == 403, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
        listed = c.get("/schedules", headers={"X-API-Key": keys["viewer"]})
        assert listed.json()["total"] == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"frozen_hours": -1}, "frozen_hours"),
    ({"frozen_hours": "a lot"}, "frozen_hours"),
    ({"time_limit": 0}, "time_limit"),
    ({"time_limit": 100000}, "time_limit"),  # over the server's maximum (3600 s)
    ({"workers": 0}, "workers"),
    ({"seed": -1}, "seed"),
    ({"orders": ["SO-1001"]}, "orders"),  # not a reschedule field
])
def test_bad_body_names_the_field(client: Any, body: dict[str, Any], field: str) -> None:
    r = client.post("/reschedule", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e.get("field") for e in r.json()["errors"]], r.json()
    assert client.get("/schedules").json()["total"] == 0


def test_no_factory_is_409(make_client: MakeClient) -> None:
    with make_client(load_sample=False) as c:
        r = c.post("/reschedule")
        assert r.status_code == 409, r.text
        assert "factory" in r.json()["detail"]


def test_openapi_documents_the_errors(client: Any) -> None:
    op = client.get("/openapi.json").json()["paths"]["/reschedule"]["post"]
    for code in ("202", "401", "403", "409", "422"):
        assert code in op["responses"], code
    assert "application/problem+json" in op["responses"]["409"]["content"]
    assert op["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/JobOut")
