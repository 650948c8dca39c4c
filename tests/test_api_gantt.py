"""`GET /schedules/{id}/gantt` (app/routes/gantt.py, app/services/gantt.py), on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.db import transaction
from app.services import gantt as gantt_svc
from app.services.seed import SAMPLE
from app.tables import Job, JobStatus
from solver.problem import load_problem
from solver.solve import SolveParams, solve

VIEWER_KEY = "viewer-key-0123456789"


@pytest.fixture(scope="module")
def solved() -> tuple[dict[str, Any], dict[str, Any]]:
    """The sample problem and a 2-second schedule of it (made once for the module)."""
    problem = json.loads(SAMPLE.read_text(encoding="utf-8"))
    schedule = solve(load_problem(problem), SolveParams(time_limit=2, workers=1))
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE")
    assert len(schedule["items"]) > 500
    return problem, schedule


def insert_job(
    client: Any, problem: dict[str, Any], schedule: dict[str, Any] | None,
    status: str = JobStatus.DONE, *, created_at: str = "2026-11-30T00:00:00Z",
    progress: dict[str, Any] | None = None,
) -> str:
    """A job row as the job runner leaves it; returns its id."""
    job_id = uuid.uuid4().hex
    finished = status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Job(
            id=job_id, kind="solve", status=status, created_at=created_at,
            started_at=created_at, finished_at=created_at if finished else None,
            params={"time_limit": 2, "objective": "tardiness"}, factory_version=1,
            problem=problem, schedule=schedule, progress=progress,
            valid=schedule is not None, error=None,
        ))
    return job_id


@pytest.fixture
def job(client: Any, solved: tuple[dict[str, Any], dict[str, Any]]) -> str:
    """A done job holding the sample schedule."""
    return insert_job(client, *solved)


def gantt(client: Any, job_id: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/schedules/{job_id}/gantt", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert body["count"] == len(body["items"])
    return body


FLOOR = ("state", "fixed", "reported")


def bars(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's bars as the schedule has them: without what the floor adds (a job with
    no floor events: every bar planned, none fixed)."""
    for it in body["items"]:
        assert it["state"] == "planned" and it["fixed"] is False and "reported" not in it
    return [{k: v for k, v in it.items() if k not in FLOOR} for it in body["items"]]


def problem_json(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


# --- the whole schedule ----------------------------------------------------------------


def test_unfiltered_gives_every_row_bar_and_order(
    client: Any, job: str, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Without filters the answer holds the schedule's groups, items and orders as made."""
    _, schedule = solved
    body = gantt(client, job)
    assert body["job_id"] == job
    assert body["status"] == schedule["status"]
    assert body["total_items"] == body["count"] == len(schedule["items"])
    assert bars(body) == schedule["items"]
    assert [g["id"] for g in body["groups"]] == [g["id"] for g in schedule["groups"]]
    assert [o["id"] for o in body["orders"]] == [o["id"] for o in schedule["orders"]]
    late = {o["id"] for o in schedule["orders"] if o["tardiness_min"] > 0}
    assert {o["id"] for o in body["orders"] if o["late"]} == late
    assert late, "the 2-second sample schedule has late orders (else nothing is marked)"


def test_horizon_covers_every_bar_delivery_and_due(client: Any, job: str) -> None:
    """The horizon starts at the schedule's start, is whole days, and covers every bar,
    delivery and due date."""
    body = gantt(client, job)
    hz = body["horizon"]
    assert hz["start"] == "2026-12-01T00:00:00Z"
    assert hz["minutes"] % 1440 == 0
    start = datetime.fromisoformat(hz["start"])
    assert datetime.fromisoformat(hz["end"]) == start + timedelta(minutes=hz["minutes"])
    last = max([i["end_min"] for i in body["items"]]
               + [o["delivery_min"] for o in body["orders"]]
               + [o["due_min"] for o in body["orders"]])
    assert last <= hz["minutes"] < last + 1440
    for o in body["orders"]:
        due = datetime.fromisoformat(o["due"])
        assert o["due_min"] == (due - start).total_seconds() / 60


def test_site_calendars_follow_shifts_time_zones_and_midnights(client: Any, job: str) -> None:
    """Columbus (America/New_York, shifts 06-14 and 14-22 on weekdays): the horizon opens
    inside Monday's late shift (19:00 local) until 22:00 local, the next shift starts at
    06:00 local = 11:00Z, and local midnight is 05:00Z."""
    body = gantt(client, job)
    cmh = next(s for s in body["sites"] if s["id"] == "CMH")
    assert cmh["timezone"] == "America/New_York"
    assert cmh["open"][0] == [0, 180]
    assert cmh["open"][1][0] == 660
    assert 660 in cmh["shift_starts"] and 1140 in cmh["shift_starts"]
    assert cmh["midnights"][:2] == [300, 1740]
    # Saturday 5 Dec: one shift, 06-14 local; closed until Monday 06:00 local
    sat = 4 * 1440 + 660
    i = cmh["open"].index([sat, sat + 480])
    assert cmh["open"][i + 1][0] == 6 * 1440 + 660


def test_site_power_windows_are_given_in_minutes_lower_or_higher(
    client: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """HOU (800 kW) with a demand-response evening at 300 kW and a new hall at 1,200 kW
    from day 3 on: both windows in minutes, clipped to the horizon, lower or higher."""
    problem, schedule = solved
    problem = json.loads(json.dumps(problem))
    hou = next(s for s in problem["sites"] if s["id"] == "HOU")
    hou["power_windows"] = [
        {"start": "2026-12-02T20:00:00Z", "end": "2026-12-02T23:00:00Z", "power_cap_kw": 300},
        {"start": "2026-12-04T00:00:00Z", "end": "2027-06-01T00:00:00Z", "power_cap_kw": 1200}]
    body = gantt(client, insert_job(client, problem, schedule))
    site = next(s for s in body["sites"] if s["id"] == "HOU")
    minutes = body["horizon"]["minutes"]
    assert site["power_cap_kw"] == 800
    assert site["power_windows"] == [
        {"start_min": 1440 + 1200, "end_min": 1440 + 1380, "power_cap_kw": 300, "lower": True},
        {"start_min": 3 * 1440, "end_min": minutes, "power_cap_kw": 1200, "lower": False}]
    assert next(s for s in body["sites"] if s["id"] == "CMH")["power_windows"] == []


# --- filters ---------------------------------------------------------------------------


def test_site_filter_keeps_that_sites_rows_and_bars(
    client: Any, job: str, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """site=HOU gives exactly HOU's resources and the bars run there."""
    _, schedule = solved
    body = gantt(client, job, site="HOU")
    want = [i for i in schedule["items"] if i["site"] == "HOU"]
    assert bars(body) == want and want
    assert {g["site"] for g in body["groups"]} == {"HOU"}
    assert len(body["groups"]) == sum(g["site"] == "HOU" for g in schedule["groups"])
    assert {o["id"] for o in body["orders"]} == {i["order"] for i in want}
    assert len(body["sites"]) == len(gantt(client, job)["sites"])  # the site list stays whole


def test_repeated_and_comma_separated_values_mean_the_same(client: Any, job: str) -> None:
    """site=HOU&site=PHX and site=HOU,PHX select the same bars: the union of both sites."""
    a = gantt(client, job, site=["HOU", "PHX"])
    b = gantt(client, job, site="HOU, PHX")
    assert a["items"] == b["items"]
    assert {i["site"] for i in a["items"]} == {"HOU", "PHX"}
    assert a["count"] == gantt(client, job, site="HOU")["count"] + gantt(
        client, job, site="PHX")["count"]


def test_resource_filter(
    client: Any, job: str, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """resource=X gives X's row and exactly the bars on X."""
    _, schedule = solved
    rid = schedule["items"][0]["group"]
    body = gantt(client, job, resource=rid)
    assert [g["id"] for g in body["groups"]] == [rid]
    assert bars(body) == [i for i in schedule["items"] if i["group"] == rid]


def test_order_filter_gives_its_bars_and_delivery(
    client: Any, job: str, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """order=X gives every bar of X (all its units and steps) and X's delivery/tardiness."""
    _, schedule = solved
    late = next(o for o in schedule["orders"] if o["tardiness_min"] > 0)
    body = gantt(client, job, order=late["id"])
    assert bars(body) == [i for i in schedule["items"] if i["order"] == late["id"]]
    assert len(body["orders"]) == 1
    got = body["orders"][0]
    assert got["id"] == late["id"] and got["late"] is True
    assert got["tardiness_min"] == late["tardiness_min"]
    assert got["delivery"] == late["delivery"]


def test_time_window_keeps_overlapping_bars(
    client: Any, job: str, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """from/to keep the bars overlapping [from, to), whatever the offset the times use."""
    _, schedule = solved
    lo, hi = 2 * 1440 + 90, 3 * 1440
    want = [i for i in schedule["items"] if i["start_min"] < hi and i["end_min"] > lo]
    body = gantt(client, job, **{"from": "2026-12-03T01:30:00Z", "to": "2026-12-04T00:00:00Z"})
    assert bars(body) == want
    assert 0 < len(want) < len(schedule["items"])
    same = gantt(client, job, **{"from": "2026-12-02T19:30:00-06:00",
                                 "to": "2026-12-03T19:00:00-05:00"})
    assert bars(same) == want
    only_from = gantt(client, job, **{"from": "2026-12-03T01:30:00Z"})
    assert bars(only_from) == [i for i in schedule["items"] if i["end_min"] > lo]


def test_filters_combine_as_and(
    client: Any, job: str, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """site, order and window together keep only the bars that pass all three."""
    _, schedule = solved
    it = next(i for i in schedule["items"] if i["site"] == "HOU")
    body = gantt(client, job, site="HOU", order=it["order"], to=it["end"])
    want = [i for i in schedule["items"] if i["site"] == "HOU" and i["order"] == it["order"]
            and i["start_min"] < it["end_min"]]
    assert bars(body) == want and it in want


# --- errors ----------------------------------------------------------------------------


def test_unknown_job_is_404(client: Any) -> None:
    """An unknown job id is a 404 problem naming the id."""
    body = problem_json(client.get("/schedules/nope/gantt"), 404)
    assert "nope" in body["detail"]


def test_job_without_schedule_is_409_until_done(
    client: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """A running job without a schedule is 409; once done, the same id gives its bars
    (nothing stale is cached)."""
    problem, schedule = solved
    job_id = insert_job(client, problem, None, JobStatus.RUNNING,
                        progress={"elapsed": 1.0, "objective": None, "bound": None,
                                  "phase": "dispatch"})
    body = problem_json(client.get(f"/schedules/{job_id}/gantt"), 409)
    assert job_id in body["detail"] and "running" in body["detail"]
    with transaction(client.app.state.rackplan.sessions) as s:
        row = s.get(Job, job_id)
        assert row is not None
        row.status, row.schedule = JobStatus.DONE, schedule
        row.finished_at = "2026-11-30T00:01:00Z"
    assert gantt(client, job_id)["count"] == len(schedule["items"])


@pytest.mark.parametrize(("name", "value", "message"), [
    ("from", "yesterday", "not an ISO 8601 time"),
    ("from", "2026-12-03T01:30:00", "no UTC offset"),
    ("to", "2026-13-03T00:00:00Z", "not an ISO 8601 time"),
])
def test_bad_time_is_422_naming_the_field(
    client: Any, job: str, name: str, value: str, message: str
) -> None:
    """A time that does not parse or has no offset is a 422 naming `from` / `to`."""
    body = problem_json(client.get(f"/schedules/{job}/gantt", params={name: value}), 422)
    assert body["errors"] == [{"field": name, "value": value, "message": body["errors"][0][
        "message"]}]
    assert message in body["errors"][0]["message"]
    assert body["detail"].startswith(f"{name}:")


def test_window_ending_before_it_starts_is_422(client: Any, job: str) -> None:
    """to <= from is a 422 naming `to`."""
    r = client.get(f"/schedules/{job}/gantt",
                   params={"from": "2026-12-03T00:00:00Z", "to": "2026-12-02T00:00:00Z"})
    body = problem_json(r, 422)
    assert [e["field"] for e in body["errors"]] == ["to"]


def test_unknown_filter_ids_are_422_each_named(client: Any, job: str) -> None:
    """Ids the schedule does not know are refused, every one named (a typo must not
    silently show an empty chart)."""
    r = client.get(f"/schedules/{job}/gantt",
                   params={"site": "HOU,XXX", "resource": "NO-SUCH", "order": "SO-0"})
    body = problem_json(r, 422)
    got = {(e["field"], e["value"]) for e in body["errors"]}
    assert got == {("site", "XXX"), ("resource", "NO-SUCH"), ("order", "SO-0")}


def test_reader_key_needed_when_keys_are_set(
    make_client: Callable[..., AbstractContextManager[Any]],
    solved: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """With keys configured the data needs a key (401 without); a viewer may read it; the
    HTML page itself holds no data and needs none."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        job_id = insert_job(c, *solved)
        problem_json(c.get(f"/schedules/{job_id}/gantt"), 401)
        problem_json(c.get("/overview"), 401)
        r = c.get(f"/schedules/{job_id}/gantt", headers={"X-API-Key": VIEWER_KEY})
        assert r.status_code == 200 and r.json()["count"] > 0
        assert c.get(f"/schedules/{job_id}/view").status_code == 200


def test_done_schedule_is_parsed_once(
    client: Any, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A done job's schedule is parsed once; later requests (any filter) reuse it."""
    calls: list[str] = []
    real = gantt_svc.build

    def counting(job_id: str, schedule: dict[str, Any], problem: dict[str, Any]
                 ) -> gantt_svc.GanttData:
        calls.append(job_id)
        return real(job_id, schedule, problem)

    monkeypatch.setattr(gantt_svc, "build", counting)
    first = gantt(client, job)
    gantt(client, job, site="HOU")
    assert gantt(client, job) == first
    assert calls == [job]


def test_concurrent_first_requests_parse_once(
    client: Any, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests arriving together for a job not yet parsed wait for one parse."""
    calls: list[str] = []
    real = gantt_svc.build

    def slow(job_id: str, schedule: dict[str, Any], problem: dict[str, Any]
             ) -> gantt_svc.GanttData:
        calls.append(job_id)
        time.sleep(0.3)
        return real(job_id, schedule, problem)

    monkeypatch.setattr(gantt_svc, "build", slow)
    state = client.app.state.rackplan
    cache = gantt_svc.cache_of(state.extra)

    def one() -> int:
        return len(gantt_svc.load(state.sessions, cache, job).item_json)

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: one(), range(4)))
    assert calls == [job]
    assert len(set(counts)) == 1 and counts[0] > 0


def test_split_values_reads_repeats_and_commas() -> None:
    """Repeated and comma-separated values merge; blanks are dropped; none means None."""
    assert gantt_svc.split_values(["a,b", " c ", ""]) == frozenset({"a", "b", "c"})
    assert gantt_svc.split_values([" , "]) is None
    assert gantt_svc.split_values(None) is None
