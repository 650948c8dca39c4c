"""The floor's state in a new plan: what ran is fixed, a down line is avoided, released
orders start from their release, nothing new starts before now."""

from __future__ import annotations

from typing import Any

from jobwait import wait

from solver.problem import load_problem
from solver.validate import validate

NOW = "2026-11-30T00:00:00Z"  # the fixtures' clock
EVENTS = [
    {"event_id": "e1", "type": "order_released", "order": "SO-1001",
     "at": "2026-11-29T08:00:00Z"},
    {"event_id": "e2", "type": "step_started", "order": "SO-1001", "unit": 1,
     "op": "assembly", "resource": "HOU-ASM-01", "at": "2026-11-29T12:00:30Z"},
    {"event_id": "e3", "type": "step_completed", "order": "SO-1001", "unit": 1,
     "op": "assembly", "at": "2026-11-29T18:10:00Z"},
    {"event_id": "e4", "type": "step_started", "order": "SO-1001", "unit": 1,
     "op": "test", "resource": "HOU-TST-01", "at": "2026-11-29T22:00:00Z"},
    {"event_id": "e5", "type": "resource_down", "resource": "HOU-ASM-02",
     "start": "2026-11-29T20:00:00Z", "end": "2026-11-30T09:00:00Z"},
    {"event_id": "e6", "type": "resource_down", "resource": "HOU-ASM-03",
     "start": "2026-11-29T23:00:00Z"},
]


def _solve(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/schedules", json=body)
    assert r.status_code == 202, r.text
    return wait(client, r.json()["id"], timeout=120)


def test_plan_keeps_the_floor_state(client: Any) -> None:
    """Completed and running steps are fixed (rounded out to minutes; the running one until
    start + duration), down resources carry the downtime (an open one through the horizon),
    the release is the reported one, and the valid schedule keeps all of it."""
    r = client.post("/events", json=EVENTS)
    assert r.status_code == 200, r.text
    job = _solve(client, {"orders": ["SO-1001"], "time_limit": 2})
    assert job["status"] == "done", job
    problem = client.get(f"/schedules/{job['id']}/problem").json()
    assert problem["horizon_start"] == NOW
    assert sorted(problem["fixed"], key=lambda f: f["op"]) == [
        {"order": "SO-1001", "unit": 1, "op": "assembly", "resource": "HOU-ASM-01",
         "start": "2026-11-29T12:00:00Z", "end": "2026-11-29T18:10:00Z"},
        {"order": "SO-1001", "unit": 1, "op": "test", "resource": "HOU-TST-01",
         "start": "2026-11-29T22:00:00Z", "end": "2026-11-30T01:00:00Z"},
    ]
    res = {x["id"]: x for x in problem["resources"]}
    assert {"start": "2026-11-29T20:00:00Z", "end": "2026-11-30T09:00:00Z"} in res[
        "HOU-ASM-02"]["downtime"]
    open_ended = [d for d in res["HOU-ASM-03"]["downtime"] if d["start"] == "2026-11-29T23:00:00Z"]
    assert open_ended and open_ended[0]["end"] > "2029-01-01"
    assert problem["orders"][0]["release"] == "2026-11-29T08:00:00Z"

    schedule = job["schedule"]
    assert validate(load_problem(problem), schedule) == []
    items = {i["id"]: i for i in schedule["items"]}
    assert items["SO-1001/1/assembly"]["start"] == "2026-11-29T12:00:00Z"
    assert items["SO-1001/1/test"]["group"] == "HOU-TST-01"
    assert items["SO-1001/1/test"]["end"] == "2026-11-30T01:00:00Z"
    fixed_ids = {"SO-1001/1/assembly", "SO-1001/1/test"}
    for i in schedule["items"]:
        if i["id"] not in fixed_ids:
            assert i["start"] >= NOW, i
        assert i["group"] != "HOU-ASM-03", i
        if i["group"] == "HOU-ASM-02":
            assert i["start"] >= "2026-11-30T09:00:00Z" or i["end"] <= "2026-11-29T20:00:00Z"


def test_running_step_overdue_is_fixed_until_now(make_client: Any) -> None:
    """A step running longer than its duration is fixed until now (it is still running)."""
    with make_client(now="2026-11-30T06:00:00Z") as c:
        r = c.post("/events", json=[EVENTS[0], EVENTS[1]])
        assert r.status_code == 200, r.text
        r = c.post("/schedules", json={"orders": ["SO-1001"], "time_limit": 1})
        assert r.status_code == 202, r.text
        problem = c.get(f"/schedules/{r.json()['id']}/problem").json()
        assert problem["fixed"] == [
            {"order": "SO-1001", "unit": 1, "op": "assembly", "resource": "HOU-ASM-01",
             "start": "2026-11-29T12:00:00Z", "end": "2026-11-30T06:00:00Z"}]
