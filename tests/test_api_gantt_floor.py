"""The floor's truth in `GET /schedules/{id}/gantt`: each bar's state from the floor
events and whether its job held it fixed, the clock's now and the frozen window, each
site's power profile against the cap in force, each row's utilisation (SQLite: what these
read is the same on PostgreSQL, which `test_api_gantt.py` covers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jobwait import wait

from app.config import Settings
from app.main import create_app
from app.services import gantt as gantt_svc
from app.services.seed import SAMPLE
from solver.problem import load_problem
from solver.solve import SolveParams, solve
from solver.validate import validate

PLANNED = "2026-12-01T00:00:00Z"
LATER = "2026-12-01T06:00:00Z"


def client_at(url: str, now: str, **extra: Any) -> TestClient:
    settings = Settings(database_url=url, now=now, log_json=False,  # type: ignore[arg-type]
                        plan_sample=False, **extra)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def gantt(client: Any, job_id: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/schedules/{job_id}/gantt", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ev(event_id: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": type_, **fields}


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """A plan published at 00:00; by 06:00 one of its first steps is done and another
    runs; a reschedule at 06:00 with a 12-hour frozen window. The database URL, the
    published job and the reschedule job (made once for the module; the test that adds
    an event runs last)."""
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('floor') / 'rackplan.db'}"
    with client_at(sqlite_url, PLANNED) as c:
        r = c.post("/schedules", json={"time_limit": 2, "workers": 1})
        assert r.status_code == 202, r.text
        published = wait(c, r.json()["id"], timeout=120)
        assert c.post(f"/schedules/{published['id']}/publish").status_code == 200
    first = sorted((i for i in published["schedule"]["items"] if i["start_min"] == 0),
                   key=lambda i: i["id"])
    done, running = first[0], next(i for i in first if i["order"] != first[0]["order"])
    with client_at(sqlite_url, LATER, frozen_hours=12) as c:
        r = c.post("/events", json=[
            ev("e1", "step_started", order=done["order"], unit=done["unit"], op=done["op"],
               resource=done["group"], at=done["start"]),
            ev("e2", "step_completed", order=done["order"], unit=done["unit"],
               op=done["op"], at="2026-12-01T05:00:00Z"),
            ev("e3", "step_started", order=running["order"], unit=running["unit"],
               op=running["op"], resource=running["group"], at="2026-12-01T01:00:00Z"),
        ])
        assert r.status_code == 200, r.text
        r = c.post("/reschedule", json={"time_limit": 2, "workers": 1, "seed": 1})
        assert r.status_code == 202, r.text
        job = wait(c, r.json()["id"], timeout=120)
        assert job["status"] == "done" and job["valid"], job
    yield sqlite_url, published, job


def test_bars_carry_the_floor_state_and_the_fixed_steps(
        floor: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    """In the reschedule: the done and the running step are fixed at the floor's times
    with their states and reports; the frozen steps kept are fixed and planned; every
    other bar is planned and free. The published plan shows the same states (the floor
    now) but fixed nothing."""
    url, published, job = floor
    with client_at(url, LATER, frozen_hours=12) as c:
        body = gantt(c, job["id"])
        problem = c.get(f"/schedules/{job['id']}/problem").json()
        assert validate(load_problem(problem), job["schedule"]) == []
        by_id = {i["id"]: i for i in body["items"]}
        states = {k: v for k, v in ((i, it["state"]) for i, it in by_id.items())
                  if v != "planned"}
        assert sorted(states.values()) == ["done", "running"]
        fixed = {f"{f['order']}/{f['unit']}/{f['op']}" for f in problem["fixed"]}
        kept = set(job["schedule"]["reschedule"]["kept"])
        assert kept and set(states) | kept == fixed
        assert {i for i, it in by_id.items() if it["fixed"]} == fixed
        done = next(it for it in by_id.values() if it["state"] == "done")
        assert done["end"] == "2026-12-01T05:00:00Z"
        assert done["reported"] == {"resource": done["group"], "started_at": done["start"],
                                    "completed_at": "2026-12-01T05:00:00Z"}
        run = next(it for it in by_id.values() if it["state"] == "running")
        assert run["reported"]["completed_at"] is None
        assert run["reported"]["started_at"] == "2026-12-01T01:00:00Z" == run["start"]
        assert all(by_id[k]["state"] == "planned" for k in kept)
        # the published plan: the floor's states on its bars, none of them fixed
        pub = gantt(c, published["id"])
        assert {i["id"]: i["state"] for i in pub["items"] if i["state"] != "planned"} == states
        assert not any(i["fixed"] for i in pub["items"])


def test_now_and_the_frozen_window_follow_the_clock_and_the_setting(
        floor: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    """`now` is the service's clock; the frozen window runs `frozen_hours` from it, in
    minutes from the chart's horizon start."""
    url, published, job = floor
    with client_at(url, "2026-12-01T09:30:40Z", frozen_hours=6) as c:
        body = gantt(c, published["id"])
        assert body["now"] == "2026-12-01T09:30:40Z"
        assert body["now_min"] == 570  # from the published plan's 00:00
        assert body["frozen"] == {"hours": 6, "start": "2026-12-01T09:30:00Z",
                                  "end": "2026-12-01T15:30:00Z", "start_min": 570,
                                  "end_min": 930}
        assert gantt(c, job["id"])["now_min"] == 210  # the reschedule starts at 06:00


@pytest.fixture(scope="module")
def windowed() -> tuple[dict[str, Any], dict[str, Any]]:
    """The sample with a demand-response evening at HOU (300 kW, below its 800) and a
    2-second schedule of it."""
    problem = json.loads(SAMPLE.read_text(encoding="utf-8"))
    hou = next(s for s in problem["sites"] if s["id"] == "HOU")
    hou["power_windows"] = [
        {"start": "2026-12-02T12:00:00Z", "end": "2026-12-03T00:00:00Z", "power_cap_kw": 300}]
    return problem, solve(load_problem(problem), SolveParams(time_limit=2, workers=1))


def _at(steps: list[list[Any]], t: float) -> Any:
    """The value of [minute, value] steps at minute t."""
    value = None
    for m, v in steps:
        if m > t:
            break
        value = v
    return value


def test_power_profile_sums_the_running_steps_under_the_cap(
        windowed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Each site's load at every step change is the sum of the power of the steps running
    then, and never above the cap in force (the window's 300 kW within it); the peak is
    the load's highest value."""
    problem, schedule = windowed
    data = gantt_svc.build("j", schedule, problem)
    body = json.loads(gantt_svc.render(data, gantt_svc.GanttFilter()))
    kw = {(p["id"], s["op"]): s.get("power_kw", 0) for p in problem["products"]
          for s in p["routing"]}
    sites = {s["id"]: s for s in body["sites"]}
    assert sites["HOU"]["power"]["cap"] == [[0, 800], [2160, 300], [2880, 800]]
    for sid, site in sites.items():
        power = site["power"]
        items = [i for i in schedule["items"] if i["site"] == sid]
        for t, load in power["load"]:
            want = sum(kw[i["product"], i["op"]] for i in items
                       if i["start_min"] <= t < i["end_min"])
            assert load == pytest.approx(want), (sid, t)
            cap = _at(power["cap"], t)
            assert cap is None or load <= cap + 1e-6, (sid, t)
        assert power["peak_kw"] == max(v for _, v in power["load"]) > 0
        assert 0 <= power["at_cap_min"] <= body["horizon"]["minutes"]


def test_rows_carry_their_utilisation(
        windowed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Each row's utilisation is the schedule's own KPI, its busy minutes are the row's
    bar minutes up to the makespan, and busy / (open x capacity) gives the same share."""
    problem, schedule = windowed
    body = json.loads(gantt_svc.render(gantt_svc.build("j", schedule, problem),
                                       gantt_svc.GanttFilter()))
    span = schedule["kpis"]["makespan_min"]
    for g in body["groups"]:
        assert g["utilisation"] == schedule["kpis"]["utilization"][g["id"]]
        busy = sum(min(i["end_min"], span) - max(i["start_min"], 0)
                   for i in schedule["items"] if i["group"] == g["id"])
        assert g["busy_min"] == busy
        assert g["open_min"] > 0
        assert g["utilisation"] == pytest.approx(busy / (g["open_min"] * g["capacity"]),
                                                 abs=1e-4)
    assert any(g["utilisation"] > 0.5 for g in body["groups"])


def test_orders_carry_what_the_chart_colours_by(
        windowed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Each order has its product, family, customer, weight, place in the schedule and
    slack (due minus delivery: negative exactly when it is late)."""
    problem, schedule = windowed
    body = json.loads(gantt_svc.render(gantt_svc.build("j", schedule, problem),
                                       gantt_svc.GanttFilter()))
    orders = {o["id"]: o for o in problem["orders"]}
    families = {p["id"]: p.get("family") for p in problem["products"]}
    for k, o in enumerate(body["orders"]):
        src = orders[o["id"]]
        assert o["index"] == k
        assert (o["product"], o["customer"], o["weight"]) == (
            src["product"], src.get("customer"), src.get("weight", 1.0))
        assert o["family"] == families[src["product"]]
        due = datetime.fromisoformat(o["due"])
        delivery = datetime.fromisoformat(o["delivery"])
        assert timedelta(minutes=o["slack_min"]) == due - delivery
        assert (o["slack_min"] < 0) == o["late"]
    assert len({o["family"] for o in body["orders"]}) >= 2
    assert datetime.fromisoformat(body["horizon"]["start"]).tzinfo == UTC


def test_a_new_event_shows_at_once(floor: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    """The running step's completion is on the next answer (the job's bars are cached,
    their states are not stale); filters keep the states."""
    url, _, job = floor
    with client_at(url, "2026-12-01T07:00:00Z") as c:
        run = next(i for i in gantt(c, job["id"])["items"] if i["state"] == "running")
        r = c.post("/events", json=[ev("e4", "step_completed", order=run["order"],
                                       unit=run["unit"], op=run["op"],
                                       at="2026-12-01T06:30:00Z")])
        assert r.status_code == 200, r.text
        again = gantt(c, job["id"], order=run["order"])
        mine = next(i for i in again["items"] if i["id"] == run["id"])
        assert mine["state"] == "done" and mine["fixed"] is True
        assert mine["reported"]["completed_at"] == "2026-12-01T06:30:00Z"
