"""Pins (GET/POST/DELETE /pins) kept by later solves and reschedules, and moving a step of
a plan (POST /schedules/{id}/moves): checked against the rules, repaired, validated."""

from __future__ import annotations

from typing import Any

from conftest import NOW
from jobwait import wait

from solver.problem import load_problem
from solver.validate import validate

STEP_PIN = {"kind": "step", "order": "SO-1006", "unit": 1, "op": "burn_in",
            "resource": "CMH-BIL-01", "start": "2026-12-03T12:00:00Z",
            "reason": "the customer witnesses the burn-in at CMH"}
SITE_PIN = {"kind": "site", "order": "SO-1006", "site": "CMH", "reason": "near the customer"}


def items_of(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in job["schedule"]["items"]}


def valid(client: Any, job: dict[str, Any]) -> None:
    """The job's schedule passes the validator against the job's own problem."""
    assert job["status"] == "done" and job["valid"], job
    problem = client.get(f"/schedules/{job['id']}/problem").json()
    assert validate(load_problem(problem), job["schedule"]) == []


def test_create_list_delete(client: Any) -> None:
    r = client.post("/pins", json=SITE_PIN)
    assert r.status_code == 201, r.text
    site = r.json()
    assert r.headers["Location"] == f"/pins/{site['id']}"
    assert site["set_by"] == "planner (local mode)" and site["state"] == "holds"
    r = client.post("/pins", json=STEP_PIN)
    assert r.status_code == 201, r.text
    step = r.json()
    assert (step["resource"], step["start"], step["reason"]) == (
        "CMH-BIL-01", "2026-12-03T12:00:00Z", STEP_PIN["reason"])
    listed = client.get("/pins").json()
    assert [p["id"] for p in listed["items"]] == [site["id"], step["id"]]
    assert {p["state"] for p in listed["items"]} == {"holds"}
    # one pin per step
    r = client.post("/pins", json=STEP_PIN)
    assert r.status_code == 409 and r.json()["errors"][0]["id"] == str(step["id"]), r.text
    # a step pin at another site than the order's site pin cannot hold
    r = client.post("/pins", json={**STEP_PIN, "unit": 1, "op": "assembly",
                                   "resource": "HOU-ASM-01"})
    assert r.status_code == 422, r.text
    assert "rule 4" in r.json()["detail"] and r.json()["errors"][0]["field"] == "resource"
    # the shape: every fault at once
    r = client.post("/pins", json={"kind": "step", "order": "SO-1006", "site": "HOU"})
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"unit", "op", "resource", "start", "site"}, r.json()
    # a resource that may not run the step: the rule in words
    r = client.post("/pins", json={**STEP_PIN, "order": "SO-1008",
                                   "resource": "HOU-BIA-01"})
    assert r.status_code == 422, r.text
    assert "rule 5: HOU-BIA-01 is not qualified for GB300-NVL72" in r.json()["detail"]
    assert client.delete(f"/pins/{site['id']}").status_code == 204
    assert client.delete(f"/pins/{site['id']}").status_code == 404
    assert [p["id"] for p in client.get("/pins").json()["items"]] == [step["id"]]


def test_roles(sqlite_url: str) -> None:
    """A viewer reads pins; only a planner sets or removes them (on one backend)."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    keys = {"viewer": "viewer-key-0123456789", "planner": "planner-key-0123456789"}
    settings = Settings(database_url=sqlite_url, now=NOW, log_json=False, plan_sample=False,
                        api_keys=",".join(f"{k}:{r}" for r, k in keys.items()))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        viewer, planner = ({"X-API-Key": keys[r]} for r in ("viewer", "planner"))
        assert c.post("/pins", json=SITE_PIN, headers=viewer).status_code == 403
        r = c.post("/pins", json=SITE_PIN, headers=planner)
        assert r.status_code == 201, r.text
        assert r.json()["set_by"].startswith("planner key ")
        assert c.get("/pins", headers=viewer).json()["total"] == 1
        assert c.delete(f"/pins/{r.json()['id']}", headers=viewer).status_code == 403


def test_pins_kept_by_a_solve_and_a_reschedule(client: Any) -> None:
    """A solve and then a reschedule keep both pins; an order cancelled: its pins are
    reported, not silently dropped. (Two orders open: small solves.)"""
    for o in client.get("/orders?limit=100").json()["items"]:
        if o["id"] not in ("SO-1006", "SO-1008"):
            assert client.delete(f"/orders/{o['id']}").status_code == 200
    ids = [client.post("/pins", json=body).json()["id"] for body in (SITE_PIN, STEP_PIN)]
    r = client.post("/schedules", json={"time_limit": 1})
    assert r.status_code == 202, r.text
    assert r.json()["params"]["pins"] == {"kept": ids, "floor": [], "dropped": []}
    job = wait(client, r.json()["id"], timeout=120)
    valid(client, job)
    items = items_of(job)
    assert (items["SO-1006/1/burn_in"]["group"], items["SO-1006/1/burn_in"]["start"]) == (
        "CMH-BIL-01", "2026-12-03T12:00:00Z")
    assert all(i["site"] == "CMH" for k, i in items.items() if k.startswith("SO-1006/"))
    assert client.post(f"/schedules/{job['id']}/publish").status_code == 200
    r = client.post("/reschedule", json={"time_limit": 1, "frozen_hours": 0})
    assert r.status_code == 202, r.text
    assert r.json()["params"]["pins"]["kept"] == ids
    again = wait(client, r.json()["id"], timeout=120)
    valid(client, again)
    assert items_of(again)["SO-1006/1/burn_in"]["start"] == "2026-12-03T12:00:00Z"
    assert client.delete("/orders/SO-1006").status_code in (200, 204)
    pins = client.get("/pins").json()["items"]
    assert [p["state"] for p in pins] == ["cannot hold", "cannot hold"]
    assert all("not open" in p["why"] for p in pins), pins
    r = client.post("/schedules", json={"time_limit": 1})
    assert r.status_code == 202, r.text
    dropped = r.json()["params"]["pins"]["dropped"]
    assert [d["pin"] for d in dropped] == ids and "SO-1006" in dropped[0]["reason"]
    client.delete(f"/schedules/{r.json()['id']}")


def test_move_refused_then_accepted(client: Any) -> None:
    """A move that breaks a rule is refused with the rule in words and queues nothing; an
    accepted one answers with a valid plan that has the step where asked, and pins it."""
    r = client.post("/schedules", json={"time_limit": 1, "orders": ["SO-1006", "SO-1013"]})
    job = wait(client, r.json()["id"], timeout=120)
    valid(client, job)
    before = items_of(job)["SO-1006/1/burn_in"]
    url = f"/schedules/{job['id']}/moves"
    r = client.post(url, json={"order": "SO-1006", "unit": 1, "op": "burn_in",
                               "resource": "HOU-BIA-01"})
    assert r.status_code == 422, r.text
    assert "rule 5: HOU-BIA-01 is not qualified for GB300-NVL72" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "resource"
    r = client.post(url, json={"order": "SO-1006", "unit": 1, "op": "burn_in",
                               "start": "2026-11-29T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start", r.text
    assert client.get("/schedules").json()["total"] == 1
    other = "HOU-BIL-02" if before["group"] != "HOU-BIL-02" else "HOU-BIL-01"
    body = {"order": "SO-1006", "unit": 1, "op": "burn_in", "resource": other,
            "start": "2026-12-04T02:00:00Z", "pin": True, "reason": "chamber 1 is booked"}
    r = client.post(url, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    moved = out["job"]
    assert r.headers["Location"] == f"/schedules/{moved['id']}"
    valid(client, moved)
    step = items_of(moved)["SO-1006/1/burn_in"]
    assert (step["group"], step["start"]) == (other, "2026-12-04T02:00:00Z")
    assert moved["params"]["move"]["was"] == {"resource": before["group"],
                                              "start": before["start"]}
    assert out["pin"]["resource"] == other and out["pin"]["reason"] == "chamber 1 is booked"
    assert client.get("/pins").json()["total"] == 1


def test_the_nightly_run_prints_the_pins_not_kept() -> None:
    """`rackplan reschedule`'s summary names each pin it could not keep, with the reason."""
    from types import SimpleNamespace

    from app.cli import summary

    job = SimpleNamespace(id="j1", status="failed", valid=False, schedule=None, params={
        "reference": None,
        "pins": {"kept": [1], "floor": [], "dropped": [
            {"pin": 2, "reason": "order 'SO-1006' is not open (cancelled, or unknown)"}]}})
    lines = summary(job)
    assert "pins: 1 kept, 0 done by the floor, 1 not kept" in lines
    assert "pin 2 not kept: order 'SO-1006' is not open (cancelled, or unknown)" in lines
