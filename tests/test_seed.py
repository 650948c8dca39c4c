"""The sample loaded into the service starts near today: whole weeks of shift, the file's
dates kept, the shift recorded for the front page."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.db import make_engine, reading, session_factory, transaction
from app.services import orders as orders_svc
from app.services.overview import sample_shift
from app.services.seed import SAMPLE, seed_if_empty, shift_dates, shift_days
from app.tables import Base, FactoryVersion
from solver.problem import load_problem

FILE_START = datetime(2026, 12, 1, tzinfo=UTC)  # a Tuesday


def test_shift_is_whole_weeks_to_today_or_after() -> None:
    """The start moves to the first day on its weekday from today on."""
    assert shift_days(FILE_START, datetime(2026, 11, 30, 23, tzinfo=UTC)) == 0
    assert shift_days(FILE_START, datetime(2026, 12, 1, 12, tzinfo=UTC)) == 0
    assert shift_days(FILE_START, datetime(2026, 12, 2, tzinfo=UTC)) == 7
    assert shift_days(FILE_START, datetime(2027, 3, 9, 8, tzinfo=UTC)) == 98
    assert shift_days(FILE_START, datetime(2026, 10, 1, tzinfo=UTC)) == -56


def test_shift_moves_every_date_and_keeps_the_file() -> None:
    """Horizon, due, release, downtime and holidays move; nothing else changes."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    moved = shift_dates(data, 14)
    assert moved["horizon_start"] == "2026-12-15T00:00:00Z"
    assert moved["orders"][0]["due"] == "2026-12-27T13:00:00Z"
    assert moved["orders"][0]["release"] == "2026-12-15T00:00:00Z"
    assert moved["sites"][0]["holidays"][:2] == ["2027-01-07", "2027-01-08"]
    down = next(r for r in moved["resources"] if r.get("downtime"))["downtime"][0]
    assert down["start"] == "2027-01-08T11:00:00Z"
    assert json.loads(SAMPLE.read_text(encoding="utf-8")) == data  # the file keeps its dates
    assert shift_dates(moved, -14) == data


def test_seed_records_the_shift(sqlite_url: str) -> None:
    """Loading on 2026-12-09 moves the sample two weeks on and says so."""
    engine = make_engine(sqlite_url)
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    now = datetime(2026, 12, 9, 10, tzinfo=UTC)
    with transaction(sessions) as s:
        assert seed_if_empty(s, now) == datetime(2026, 12, 15, tzinfo=UTC)
    with transaction(sessions) as s:
        assert seed_if_empty(s, now) is None  # loaded once
    with reading(sessions) as s:
        assert sample_shift(s) == {
            "days": 14, "file_start": "2026-12-01T00:00:00Z", "start": "2026-12-15T00:00:00Z",
            "fields": ["horizon_start", "orders.due", "orders.release", "resources.downtime",
                       "sites.holidays", "sites.power_windows"]}
        orders = {o.id: o for o in orders_svc.open_orders(s, None)}
        assert min(o.due for o in orders.values()) >= "2026-12-15"
        fv = s.get(FactoryVersion, 1)
        assert fv is not None and "2027-01-08" in fv.data["sites"][0]["holidays"]
    engine.dispose()


def test_first_plan_is_the_files_problem_moved(sqlite_url: str) -> None:
    """The service's first plan on 2026-12-09 is the sample file's problem two weeks on:
    its horizon starts at the moved start (not now), every due date moved with it; the
    overview states the shift."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    settings = Settings(database_url=sqlite_url, now="2026-12-09T10:00:00Z",  # type: ignore[arg-type]
                        log_json=False, plan_sample=True, default_time_limit=1)
    with TestClient(create_app(settings)) as client:
        ov = client.get("/overview").json()
        assert ov["sample_shift"]["days"] == 14
        job = (ov["active"] or [ov["latest"]])[0]
        problem = client.get(f"/schedules/{job['id']}/problem").json()
    assert problem["horizon_start"] == "2026-12-15T00:00:00Z"
    moved = shift_dates(data, 14)
    assert {o["id"]: o["due"] for o in problem["orders"]} == {
        o["id"]: o["due"] for o in moved["orders"]}
    got, want = load_problem(problem), load_problem(moved)
    assert got.sites == want.sites and got.resources == want.resources  # holidays, downtime
