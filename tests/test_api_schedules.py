"""`/schedules`: solve jobs in real worker processes, cancel, restart, publishing; on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from jobwait import wait
from sqlalchemy import update

from app import supervisor, worker
from app.db import transaction
from app.services import job_state, jobs
from app.services.seed import SAMPLE
from app.tables import FactoryVersion, Job, JobStatus
from solver.problem import load_problem
from solver.validate import validate

SMALL = ["SO-1006", "SO-1009"]  # one rack each: solved in milliseconds
PLANNER_KEY = "planner-key-0123456789"
VIEWER_KEY = "viewer-key-0123456789"
MakeClient = Callable[..., AbstractContextManager[Any]]


def post(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post("/schedules", json=body)
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


def solved_here(client: Any, orders: list[str] = SMALL) -> str:
    """A done job solved by the worker's code in this process (no process spawn): its id."""
    state = client.app.state.rackplan
    with transaction(state.sessions) as s:
        job = jobs.submit(
            s, now=state.settings.clock(), objective=None, time_limit=2,
            default_time_limit=30, max_time_limit=60, orders=orders, horizon_start=None,
            seed=0, workers=1,
        )
        job.status = JobStatus.RUNNING  # claimed before commit: the runner never sees it
    assert worker.run(state.sessions, job.id) == JobStatus.DONE
    return job.id


def check_valid(client: Any, job: dict[str, Any]) -> None:
    """The job's schedule passes the validator against the job's own problem."""
    problem = client.get(f"/schedules/{job['id']}/problem").json()
    assert validate(load_problem(problem), job["schedule"]) == []


def test_submit_solves_in_a_worker_with_the_exact_problem(client: Any) -> None:
    """POST is 202 at once with a Location; a worker process solves the problem fixed at
    submit time, and the stored schedule passes the validator."""
    r = client.post("/schedules", json={"orders": SMALL, "time_limit": 2, "seed": 3})
    assert r.status_code == 202
    queued = r.json()
    assert queued["status"] in ("queued", "running") and queued["schedule"] is None
    assert r.headers["Location"] == f"/schedules/{queued['id']}" == queued["links"]["self"]
    job = wait(client, queued["id"])
    assert job["status"] == "done" and job["error"] is None
    assert job["valid"] and job["publishable"] and not job["published"]
    assert job["started_at"] and job["finished_at"]
    assert job["schedule"]["status"] == "OPTIMAL"
    assert {i["order"] for i in job["schedule"]["items"]} == set(SMALL)
    assert job["params"] == {"objective": "tardiness", "time_limit": 2.0, "workers": 2,
                             "seed": 3, "orders": SMALL,
                             "horizon_start": "2026-11-30T00:00:00Z"}
    problem = client.get(f"/schedules/{job['id']}/problem").json()
    assert job["factory_version"] == client.get("/factory").json()["version"]
    with transaction(client.app.state.rackplan.sessions) as s:
        factory = s.get(FactoryVersion, job["factory_version"])
        assert factory is not None
        for key in ("sites", "resources", "products"):
            assert problem[key] == factory.data[key]
    sample = {o["id"]: o for o in json.loads(SAMPLE.read_text())["orders"]}
    assert problem["orders"] == [sample[o] for o in sorted(SMALL)]
    assert problem["horizon_start"] == "2026-11-30T00:00:00Z"
    check_valid(client, job)
    for name in ("gantt", "view", "export_csv", "export_xlsx"):
        assert client.get(job["links"][name]).status_code == 200, name
    listed = client.get("/schedules").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]
    assert "schedule" not in listed["items"][0]


def test_running_job_reports_progress_and_cancel_keeps_best_schedule(client: Any) -> None:
    """A running job shows progress (elapsed, objective, bound, phase); DELETE stops it and
    it ends cancelled with its best validated schedule; a second DELETE is 409."""
    job = post(client, time_limit=20, workers=1)
    running = wait(client, job["id"], ("running",),
                   check=lambda j: (j["progress"] or {}).get("objective") is not None)
    p = running["progress"]
    assert p["elapsed"] > 0 and p["bound"] is not None and p["phase"] != "starting"
    assert p["solve_log"][0]["phase"] == "dispatch"  # the phases finished so far
    assert running["schedule"] is None
    r = client.delete(f"/schedules/{job['id']}")
    assert r.status_code == 202 and r.json()["cancel_requested"]
    done = wait(client, job["id"], timeout=20)
    assert done["status"] == "cancelled"
    assert done["schedule"]["status"] in ("FEASIBLE", "OPTIMAL")
    assert done["schedule"]["solve_seconds"] < 50
    assert done["valid"] and done["publishable"]
    check_valid(client, done)
    r = client.delete(f"/schedules/{job['id']}")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert job["id"] in r.json()["detail"]


def test_max_solves_queues_and_a_queued_cancel_is_immediate(make_client: MakeClient) -> None:
    """With max_solves=1 a second job waits queued while the first runs; cancelling it
    is immediate (200, cancelled, never started)."""
    with make_client(max_solves=1) as client:
        first = post(client, time_limit=60, workers=1)
        second = post(client, orders=SMALL, time_limit=1)
        wait(client, first["id"], ("running",))
        time.sleep(1.0)
        assert client.get(f"/schedules/{second['id']}").json()["status"] == "queued"
        assert client.get("/schedules?status=queued").json()["total"] == 1
        r = client.delete(f"/schedules/{second['id']}")
        assert r.status_code == 200
        assert r.json()["status"] == "cancelled" and r.json()["finished_at"]
        assert client.delete(f"/schedules/{first['id']}").status_code == 202
        wait(client, first["id"], timeout=20)
        time.sleep(0.5)
        second_now = client.get(f"/schedules/{second['id']}").json()
        assert second_now["status"] == "cancelled" and second_now["started_at"] is None


def test_two_solves_run_at_once_and_both_are_stored(make_client: MakeClient) -> None:
    """With max_solves=2 two jobs run together and finish together; both schedules are
    stored and valid."""
    with make_client(max_solves=2) as client:
        a = post(client, time_limit=3, workers=1)
        b = post(client, time_limit=3, workers=1, objective="makespan")
        deadline = time.monotonic() + 30
        while client.get("/schedules?status=running").json()["total"] < 2:
            assert time.monotonic() < deadline, "the two jobs never ran at once"
            time.sleep(0.05)
        for job, objective in ((a, "tardiness"), (b, "makespan")):
            done = wait(client, job["id"])
            assert done["status"] == "done" and done["valid"]
            assert done["schedule"]["objective"] == objective
            assert len(done["schedule"]["items"]) > 1000
            check_valid(client, done)


def test_shutdown_and_restart_leave_nothing_running(make_client: MakeClient) -> None:
    """Closing the server mid-solve fails the job ('server shut down'); a job a crashed
    server left running (its lease run out) is failed on the next start; queued jobs run."""
    with make_client() as client:
        job = post(client, time_limit=60, workers=1)
        wait(client, job["id"], ("running",))
        state = client.app.state.rackplan
        with transaction(state.sessions) as s:  # as a crashed server would leave them
            crashed = jobs.submit(
                s, now=state.settings.clock(), objective=None, time_limit=1,
                default_time_limit=30, max_time_limit=60, orders=SMALL, horizon_start=None,
                seed=0, workers=1,
            )
            crashed.status = JobStatus.RUNNING
            crashed.heartbeat_at = "2026-01-01T00:00:00Z"  # its lease long run out
    with make_client() as client:
        first = client.get(f"/schedules/{job['id']}").json()
        assert first["status"] == "failed" and first["error"] == supervisor.SHUTDOWN_REASON
        again = client.get(f"/schedules/{crashed.id}").json()
        assert again["status"] == "failed" and again["error"] == job_state.RESTART_REASON
        assert client.get("/schedules?status=running").json()["total"] == 0
        r = client.post(f"/schedules/{job['id']}/publish")
        assert r.status_code == 409 and "failed" in r.json()["detail"]


def test_killed_worker_fails_its_job(client: Any) -> None:
    """A worker process that dies (SIGKILL) leaves its job failed with the reason."""
    job = post(client, time_limit=60, workers=1)
    wait(client, job["id"], ("running",),
         check=lambda _: job["id"] in client.app.state.rackplan.runner.pids())
    pid = client.app.state.rackplan.runner.pids()[job["id"]]
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    failed = wait(client, job["id"], timeout=10)
    assert failed["status"] == "failed"
    assert failed["error"] == "the worker process was killed by SIGKILL (out of memory?)"
    assert failed["schedule"] is None


def test_publish_and_get_published(client: Any) -> None:
    """Publishing answers with an ETag; GET /schedules/published serves that schedule with
    the same ETag (304 for If-None-Match); a stale If-Match is 412."""
    r = client.get("/schedules/published")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    job_id = solved_here(client)
    r = client.post(f"/schedules/{job_id}/publish")
    assert r.status_code == 200
    tag = r.headers["ETag"]
    assert tag == r.json()["etag"] == f'"{r.json()["id"]}"' and r.json()["job_id"] == job_id
    got = client.get("/schedules/published")
    assert got.status_code == 200 and got.headers["ETag"] == tag
    body = got.json()
    assert body["publication"]["job_id"] == job_id and body["publication"]["etag"] == tag
    assert body["schedule"] == client.get(f"/schedules/{job_id}").json()["schedule"]
    assert client.get("/schedules/published", headers={"If-None-Match": tag}).status_code == 304
    assert client.get(f"/schedules/{job_id}").json()["published"]
    other = solved_here(client, ["SO-1013"])
    r2 = client.post(f"/schedules/{other}/publish", headers={"If-Match": tag})
    assert r2.status_code == 200 and r2.headers["ETag"] != tag
    stale = client.post(f"/schedules/{job_id}/publish", headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert r2.headers["ETag"] in stale.json()["detail"]
    now = client.get("/schedules/published").json()
    assert now["publication"]["job_id"] == other
    assert not client.get(f"/schedules/{job_id}").json()["published"]


def test_racing_publishes_exactly_one_wins(client: Any) -> None:
    """Two publishes sent at once with the same If-Match: one 200, one 412, one new row."""
    job_id = solved_here(client)
    tag = client.post(f"/schedules/{job_id}/publish").headers["ETag"]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def go() -> None:
        barrier.wait()
        codes.append(client.post(f"/schedules/{job_id}/publish",
                                 headers={"If-Match": tag}).status_code)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 412]
    assert client.get("/schedules/published").json()["publication"]["id"] == int(
        tag.strip('"')) + 1


def test_publish_refuses_an_invalid_schedule(client: Any) -> None:
    """A schedule marked invalid, or one altered so it breaks a rule, is not published
    (409 naming why) and nothing is published."""
    job_id = solved_here(client)
    sessions = client.app.state.rackplan.sessions
    with transaction(sessions) as s:
        s.execute(update(Job).where(Job.id == job_id).values(valid=False))
    r = client.post(f"/schedules/{job_id}/publish")
    assert r.status_code == 409 and job_id in r.json()["detail"]
    assert "validator" in r.json()["detail"]
    assert client.get(f"/schedules/{job_id}").json()["publishable"] is False
    with transaction(sessions) as s:
        job = jobs.get_job(s, job_id)
        schedule = dict(job.schedule or {})
        items = [dict(i) for i in schedule["items"]]
        items[0]["end"], items[0]["end_min"] = items[0]["start"], items[0]["start_min"]
        job.schedule = {**schedule, "items": items}
        job.valid = True
    r = client.post(f"/schedules/{job_id}/publish")
    assert r.status_code == 409 and "fails the validator" in r.json()["detail"]
    assert items[0]["id"] in r.json()["detail"]  # names the bar at fault
    assert client.get("/schedules/published").status_code == 404


def test_publish_refuses_an_infeasible_schedule(client: Any) -> None:
    """A job whose answer is INFEASIBLE is done but its publish is 409 naming the status."""
    job_id = solved_here(client)
    sessions = client.app.state.rackplan.sessions
    with transaction(sessions) as s:
        job = jobs.get_job(s, job_id)
        job.schedule = {**(job.schedule or {}), "status": "INFEASIBLE", "items": [],
                        "reasons": ["order 'SO-1006' cannot be made in time"]}
    assert validate(load_problem(client.get(f"/schedules/{job_id}/problem").json()),
                    client.get(f"/schedules/{job_id}").json()["schedule"]) == []
    r = client.post(f"/schedules/{job_id}/publish")
    assert r.status_code == 409
    assert "INFEASIBLE" in r.json()["detail"] and "SO-1006" in r.json()["detail"]


def test_submit_refuses_bad_requests_and_writes_nothing(client: Any) -> None:
    """Bad solve requests are 422 problem+json naming the field or order; no job is made."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"time_limit": 99999}, "time_limit"),
        ({"time_limit": 0}, "time_limit"),
        ({"orders": ["SO-1006", "NO-SUCH"]}, "orders"),
        ({"orders": []}, "orders"),
        ({"horizon_start": "2026-12-01T00:00:00"}, "horizon_start"),
        ({"objective": "profit"}, "objective"),
        ({"workers": 0}, "workers"),
        ({"colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        r = client.post("/schedules", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in {e.get("field") for e in r.json()["errors"]}, (body, r.json())
    assert "NO-SUCH" in client.post("/schedules", json={"orders": ["NO-SUCH"]}).text
    r = client.post("/schedules", content=b'{"time_limit": NaN}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_limit"
    assert client.get("/schedules").json()["total"] == 0


def test_submit_plans_around_orders_the_factory_dropped(client: Any) -> None:
    """Open orders for a product the current factory dropped are left out, named in the
    schedule's `unplanned`; with nothing else to plan, 422 naming each of them by id."""
    factory = client.get("/factory").json()
    kept = {k: factory[k] for k in ("sites", "resources", "products")}
    kept["products"] = [p for p in kept["products"] if p["id"] != "NVSW-SPINE"]
    kept["resources"] = [{k: v for k, v in r.items() if k != "products"} | (
        {"products": [p for p in r["products"] if p != "NVSW-SPINE"]}
        if r.get("products") and r["products"] != ["NVSW-SPINE"] else {})
        for r in kept["resources"] if r.get("products") != ["NVSW-SPINE"]]
    assert client.put("/factory", json=kept).status_code == 201
    r = client.post("/schedules", json={"orders": ["SO-1001", "SO-1003"]})
    assert r.status_code == 422
    errors = {e.get("id"): e["message"] for e in r.json()["errors"]}
    assert "NVSW-SPINE" in errors["SO-1001"] and "SO-1003" in errors, errors
    assert client.get("/schedules").json()["total"] == 0
    r = client.post("/schedules", json={"orders": ["SO-1001", "SO-1003", "SO-1006"],
                                        "time_limit": 1})
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"])
    assert job["valid"], job
    unplanned = {u["order"]: u["code"] for u in job["schedule"]["unplanned"]}
    assert unplanned == {"SO-1001": "unknown_product", "SO-1003": "unknown_product"}
    assert {o["id"] for o in job["schedule"]["orders"]} == {"SO-1006"}


def test_roles_and_unknown_jobs(make_client: MakeClient) -> None:
    """A viewer reads but may not solve, cancel or publish (403); no key is 401; an
    unknown job id is 404 naming it on every job route."""
    keys = f"{PLANNER_KEY}:planner,{VIEWER_KEY}:viewer"
    with make_client(api_keys=keys) as client:
        viewer = {"X-API-Key": VIEWER_KEY}
        planner = {"X-API-Key": PLANNER_KEY}
        assert client.post("/schedules", json={}, headers=viewer).status_code == 403
        assert client.post("/schedules", json={}).status_code == 401
        assert client.get("/schedules").status_code == 401
        assert client.get("/schedules", headers=viewer).status_code == 200
        missing = "0" * 32
        for method, path in (("GET", ""), ("GET", "/problem"), ("DELETE", ""),
                             ("POST", "/publish")):
            r = client.request(method, f"/schedules/{missing}{path}", headers=planner)
            assert r.status_code == 404, (method, path)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert missing in r.json()["detail"]
        assert client.delete(f"/schedules/{missing}", headers=viewer).status_code == 403
        assert client.post(f"/schedules/{missing}/publish", headers=viewer).status_code == 403
        assert client.get("/schedules?status=bogus", headers=viewer).status_code == 422
