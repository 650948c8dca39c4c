"""POST /quotes and POST /orders/{id}/confirm: a new order inserted into the published plan
without delaying any other order, its plan validated, bad requests refused with nothing
written, a reserved quote planned until it expires or is confirmed, and `rackplan quote`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from app.cli import main
from app.services import quotes as quotes_svc
from solver.diff import diff
from solver.problem import load_problem
from solver.validate import validate

MakeClient = Callable[..., AbstractContextManager[Any]]
PLANNED = "2026-12-01T00:00:00Z"  # the sample's first orders are released then
EXPIRED = "2026-12-03T01:00:00Z"  # after a 48 h hold from PLANNED
KEEP = ("SO-1003", "SO-1006", "SO-1009", "SO-1012")  # a small plan: fast solves
ASK = {"product": "GB300-NVL72", "quantity": 3, "customer": "acme", "destination": "us-west"}


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short searches: the answers' invariants do not depend on the time given."""
    monkeypatch.setattr(quotes_svc, "ALTERNATIVE_SECONDS", 0.5)
    monkeypatch.setattr(quotes_svc, "INSERT_SECONDS", 0.2)


def solved(url: str, now: str, kind: str = "solve") -> str:
    """A plan (or a reschedule) of the open orders and held quotes at `now`, solved in
    this process (no worker process to start); its job id."""
    from datetime import datetime

    from app import worker
    from app.db import make_engine, session_factory, transaction
    from app.services import factory as factory_svc
    from app.services import jobs
    from app.services.problems import build_problem

    at = datetime.fromisoformat(now)
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        with transaction(sessions) as s:
            if kind == "reschedule":
                job = jobs.submit_reschedule(
                    s, now=at, time_limit=0.5, default_time_limit=30, max_time_limit=60,
                    frozen_hours=24, seed=0, workers=1, queued=False)
            else:
                fv = factory_svc.require_latest(s)
                problem = build_problem(s, fv, at, "tardiness")
                job = jobs.create_job(s, problem, fv.version, {
                    "objective": "tardiness", "time_limit": 0.5, "workers": 1, "seed": 0,
                    "orders": None, "horizon_start": problem["horizon_start"]}, queued=False)
            job_id = job.id
        assert worker.run(sessions, job_id, watch_parent=False) == "done"
    finally:
        engine.dispose()
    return job_id


def small_plan(c: Any, url: str) -> dict[str, Any]:
    """Cancel all sample orders but KEEP, plan them and publish; the published job."""
    for o in c.get("/orders", params={"limit": 1000}).json()["items"]:
        if o["id"] not in KEEP:
            assert c.delete(f"/orders/{o['id']}").status_code == 200
    job = c.get(f"/schedules/{solved(url, PLANNED)}").json()
    assert job["publishable"], job
    assert c.post(f"/schedules/{job['id']}/publish").status_code == 200
    return job


@pytest.fixture
def api(make_client: MakeClient, db_url: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A client at PLANNED with the small plan published, and the published job."""
    with make_client(now=PLANNED) as c:
        yield c, small_plan(c, db_url)


def later_than(before: dict[str, Any], after: dict[str, Any], skip: str) -> list[str]:
    """Orders delivered later in `after` than in `before` (the diff's own figures)."""
    return [o["id"] for o in diff(before, after)["orders"]
            if o["id"] != skip and o["change"] == "delivery" and o["change_min"] > 0]


def counts(c: Any) -> tuple[int, int]:
    return (c.get("/orders", params={"limit": 1}).json()["total"],
            c.get("/schedules", params={"limit": 1}).json()["total"])


def test_a_quote_delays_no_order(api: tuple[Any, dict[str, Any]]) -> None:
    """The held answer's plan validates against its own problem, moves no published step
    and delivers no other order later; the plan is a job like any other (Gantt, explain,
    diff); the alternative's plan validates and its `later` list is the diff's; nothing is
    stored without reserve."""
    c, published = api
    before = counts(c)
    r = c.post("/quotes", json={**ASK, "due": "2026-12-20T00:00:00Z"})
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["delivery"] >= q["earliest_alone"] and q["sites"]
    assert q["meets_due"] == (q["delivery"] <= "2026-12-20T00:00:00Z")
    assert q["binding"] and q["binding"][0]["subject"] and q["binding"][0]["text"]
    assert q["baseline"] == "published" and not q["reserved"]
    job = c.get(f"/schedules/{q['plan']}").json()
    assert job["kind"] == "quote" and job["status"] == "done" and job["valid"]
    problem = c.get(f"/schedules/{q['plan']}/problem").json()
    schedule = job["schedule"]
    assert validate(load_problem(problem), schedule) == []
    assert any(o["id"] == q["order"] for o in problem["orders"])
    d = diff(published["schedule"], schedule)
    assert d["summary"]["steps_moved"] == 0 and d["summary"]["steps_removed"] == 0
    assert later_than(published["schedule"], schedule, q["order"]) == []
    row = next(o for o in schedule["orders"] if o["id"] == q["order"])
    assert row["delivery"] == q["delivery"]
    for path in ("gantt", "view", "export.csv", f"orders/{q['order']}/explain",
                 f"diff/{published['id']}"):
        assert c.get(f"/schedules/{q['plan']}/{path}").status_code == 200, path
    assert q["plan"] in c.get("/overview").text and c.get("/").status_code == 200
    alt = q["alternative"]
    if alt is not None:
        assert alt["delivery"] < q["delivery"]
        ajob = c.get(f"/schedules/{alt['plan']}").json()
        aproblem = c.get(f"/schedules/{alt['plan']}/problem").json()
        assert validate(load_problem(aproblem), ajob["schedule"]) == []
        assert sorted(x["order"] for x in alt["later"]) == sorted(
            later_than(published["schedule"], ajob["schedule"], q["order"]))
    # nothing stored but the two plans; an unreserved quote's plan cannot be published
    assert c.get(f"/orders/{q['order']}").status_code == 404
    assert counts(c)[0] == before[0]
    r = c.post(f"/schedules/{q['plan']}/publish")
    assert r.status_code == 409 and "not an order" in r.text


def test_bad_requests_name_every_field(api: tuple[Any, dict[str, Any]]) -> None:
    """Unknown product, quantity 0, an unknown site or one that cannot build the product,
    a release outside the window: 422 naming each field; nothing written."""
    c, _ = api
    before = counts(c)
    r = c.post("/quotes", json={**ASK, "product": "H100-X", "allowed_sites": ["XXX"],
                                "release": "2046-01-01T00:00:00Z"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"product", "allowed_sites[0]", "release"} <= fields, r.text
    r = c.post("/quotes", json={**ASK, "quantity": 0})
    assert r.status_code == 422 and "quantity" in {e["field"] for e in r.json()["errors"]}
    # no test cell at SJC may test GB300 racks: it cannot build them
    r = c.post("/quotes", json={**ASK, "allowed_sites": ["SJC"]})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["allowed_sites[0]"]
    r = c.post("/quotes", json={**ASK, "release": "2026-12-05T00:00:00Z",
                                "due": "2026-12-04T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "due"
    assert counts(c) == before


def test_nothing_published_is_409(make_client: MakeClient) -> None:
    with make_client(now=PLANNED) as c:
        r = c.post("/quotes", json=ASK)
        assert r.status_code == 409 and "published" in r.json()["detail"]


def test_reserve_then_expiry_leaves_no_trace(make_client: MakeClient, db_url: str) -> None:
    """A reserved quote is quoted with an expiry, in the next plan, and its plan may be
    published; floor events on it are refused until confirmed; after the hold it is in no
    plan: a reschedule drops its published steps and confirming it is 409."""
    with make_client(now=PLANNED) as c:
        small_plan(c, db_url)
        r = c.post("/quotes", params={"reserve": "true"}, json=ASK)
        assert r.status_code == 200, r.text
        q = r.json()
        assert q["reserved"] and q["status"] == "quoted"
        assert q["expires_at"] == "2026-12-03T00:00:00Z"
        assert r.headers["Location"] == f"/orders/{q['order']}"
        row = c.get(f"/orders/{q['order']}").json()
        assert row["status"] == "quoted" and row["expires_at"] == q["expires_at"]
        assert [o["id"] for o in c.get("/orders", params={"status": "quoted"}).json()[
            "items"]] == [q["order"]]
        job = c.get(f"/schedules/{solved(db_url, PLANNED)}").json()
        assert q["order"] in {o["id"] for o in job["schedule"]["orders"]}
        r = c.post(f"/schedules/{q['plan']}/publish")
        assert r.status_code == 200, r.text
        r = c.post("/events", json=[{
            "type": "step_started", "event_id": "e1", "order": q["order"], "unit": 1,
            "op": "assembly", "resource": "HOU-ASM-01", "at": PLANNED}])
        assert r.status_code == 422 and "confirm it first" in r.text
    with make_client(now=EXPIRED) as c:
        job = c.get(f"/schedules/{solved(db_url, EXPIRED, 'reschedule')}").json()
        assert job["valid"] and job["params"]["reference"] == q["plan"], job
        problem = c.get(f"/schedules/{job['id']}/problem").json()
        assert q["order"] not in {o["id"] for o in problem["orders"]}
        assert all(i["order"] != q["order"] for i in job["schedule"]["items"])
        assert q["order"] not in {o["id"] for o in job["schedule"]["orders"]}
        r = c.post(f"/orders/{q['order']}/confirm")
        assert r.status_code == 409 and "expired" in r.json()["detail"]


def test_reserving_quotes_take_turns(api: tuple[Any, dict[str, Any]], db_url: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """While another process reserves a quote (holds the lock), a reserving quote waits,
    then answers 503 with nothing written; a quote that does not reserve goes ahead."""
    from datetime import timedelta

    from app.db import make_engine, session_factory
    from app.services import locks

    c, _ = api
    monkeypatch.setattr(quotes_svc, "QUOTE_WAIT", 0.3)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    try:
        assert locks.acquire(sessions, quotes_svc.QUOTE_LOCK, "elsewhere", timedelta(minutes=1))
        before = counts(c)
        r = c.post("/quotes", params={"reserve": "true"}, json=ASK)
        assert r.status_code == 503 and counts(c) == before, r.text
        assert c.post("/quotes", json=ASK).status_code == 200
        locks.release(sessions, quotes_svc.QUOTE_LOCK, "elsewhere")
        assert c.post("/quotes", params={"reserve": "true"}, json=ASK).status_code == 200
        assert locks.current(sessions, quotes_svc.QUOTE_LOCK) is None
    finally:
        engine.dispose()


def test_confirm(api: tuple[Any, dict[str, Any]], db_url: str) -> None:
    """Confirmed, a quote is an open order without expiry, planned after the hold ends
    too; confirming again is harmless; unknown 404, cancelled 409."""
    c, _ = api
    q = c.post("/quotes", params={"reserve": "true"}, json=ASK).json()
    r = c.post(f"/orders/{q['order']}/confirm")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and r.json()["expires_at"] is None
    assert c.post(f"/orders/{q['order']}/confirm").json()["status"] == "open"
    assert c.post("/orders/nope/confirm").status_code == 404
    assert c.post("/orders/SO-1001/confirm").status_code == 409  # cancelled above
    job = c.get(f"/schedules/{solved(db_url, EXPIRED)}").json()
    assert q["order"] in {o["id"] for o in job["schedule"]["orders"]}


def sqlite_client(url: str, **more: Any) -> AbstractContextManager[Any]:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    settings = Settings(database_url=url, now=PLANNED, log_json=False, plan_sample=False,
                        **more)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_roles(sqlite_url: str) -> None:
    """mes and planner may quote and confirm; a viewer may not."""
    keys = "viewer-key-0123456789:viewer,mes-key-0123456789abc:mes"
    with sqlite_client(sqlite_url, api_keys=keys) as c:
        viewer, mes = {"X-API-Key": "viewer-key-0123456789"}, {"X-API-Key": "mes-key-0123456789abc"}
        assert c.post("/quotes", json=ASK, headers=viewer).status_code == 403
        assert c.post("/orders/SO-1001/confirm", headers=viewer).status_code == 403
        assert c.post("/quotes", json=ASK, headers=mes).status_code == 409  # nothing published
        assert c.post("/orders/SO-1001/confirm", headers=mes).status_code == 200


def test_cli_quote(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> None:
    """`rackplan quote` against the database: the answer's lines, exit 0; --reserve stores
    the quote; a bad request names its fields, exit 2."""
    monkeypatch.setenv("RACKPLAN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RACKPLAN_NOW", PLANNED)
    monkeypatch.setenv("RACKPLAN_LOG_JSON", "false")
    with sqlite_client(sqlite_url) as c:
        small_plan(c, sqlite_url)
    assert main(["quote", "--product", "GB300-NVL72", "--quantity", "2",
                 "--due", "2026-12-20T00:00:00Z", "--reserve"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines["delivery"].endswith("(no other order later)") and "binding" in lines
    assert lines["reserved"].startswith("yes, status quoted until 2026-12-03")
    oid = lines["quote"].split()[0]
    with sqlite_client(sqlite_url) as c:
        assert c.get(f"/orders/{oid}").json()["status"] == "quoted"
    assert main(["quote", "--product", "nope", "--quantity", "2",
                 "--allowed-sites", "XXX"]) == 2
    err = capsys.readouterr().err
    assert "product: product 'nope'" in err and "allowed_sites[0]" in err
