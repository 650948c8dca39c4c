"""`GET /overview` (app/routes/overview.py): what the front page shows, on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from app.db import transaction
from app.services.seed import SHIFTED
from app.tables import Job, JobStatus, Publication

VIEWER_KEY = "viewer-key-0123456789"


def insert_job(client: Any, status: str, created_at: str, finished_at: str | None = None,
               progress: dict[str, Any] | None = None) -> str:
    """A job row as the worker leaves it (a stand-in schedule: the overview reads none);
    its id."""
    job_id = uuid.uuid4().hex
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Job(
            id=job_id, kind="solve", status=status, created_at=created_at,
            started_at=created_at, finished_at=finished_at,
            params={"time_limit": 2, "objective": "tardiness"}, factory_version=1,
            problem={}, schedule={"status": "OPTIMAL"} if finished_at else None,
            progress=progress, valid=finished_at is not None, error=None,
        ))
    return job_id


def test_overview_names_latest_active_and_published(client: Any) -> None:
    """The overview gives the newest done job, the running one with its progress, the
    published job and the newest jobs."""
    assert client.get("/overview").json() == {
        "latest": None, "active": [], "published": None, "recent": [], "plan": None,
        "published_at": None, "unpublished": None,
        "sample_shift": {"days": 0, "file_start": "2026-12-01T00:00:00Z",
                         "start": "2026-12-01T00:00:00Z", "fields": list(SHIFTED)}}
    old = insert_job(client, JobStatus.DONE, "2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z")
    new = insert_job(client, JobStatus.DONE, "2026-11-30T01:00:00Z", "2026-11-30T01:00:05Z")
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Publication(job_id=old, published_at="2026-11-30T00:30:00Z"))
    run = insert_job(client, JobStatus.RUNNING, "2026-11-30T02:00:00Z",
                     progress={"elapsed": 3.5, "objective": 120, "bound": 0, "phase": "lns"})
    ov = client.get("/overview").json()
    assert ov["latest"]["id"] == new and ov["latest"]["valid"] is True
    assert [j["id"] for j in ov["active"]] == [run]
    assert ov["active"][0]["progress"]["objective"] == 120
    assert ov["published"] == old
    assert [j["id"] for j in ov["recent"]] == [run, new, old]


def test_recent_holds_the_ten_newest(client: Any) -> None:
    """`recent` is the ten newest jobs, newest first."""
    ids = [insert_job(client, JobStatus.QUEUED, f"2026-11-30T{h:02d}:00:00Z")
           for h in range(12)]
    ov = client.get("/overview").json()
    assert [j["id"] for j in ov["recent"]] == ids[::-1][:10]
    assert ov["latest"] is None and len(ov["active"]) == 12


def test_overview_needs_a_reader_key(
    make_client: Callable[..., AbstractContextManager[Any]],
) -> None:
    """With keys configured the overview is 401 without a key and 200 for a viewer."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        assert c.get("/overview").status_code == 401
        assert c.get("/overview", headers={"X-API-Key": VIEWER_KEY}).status_code == 200


def plan_job(client: Any, created_at: str, *, kind: str = "solve", name: str = "p",
             on_time: int = 38, wt: float = 1790.0, valid: bool = True) -> str:
    """A done job with a problem name and schedule KPIs; its id."""
    job_id = uuid.uuid4().hex
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Job(
            id=job_id, kind=kind, status=JobStatus.DONE, created_at=created_at,
            started_at=created_at, finished_at=created_at,
            params={"time_limit": 2, "objective": "tardiness"}, factory_version=1,
            problem={"name": name},
            schedule={"status": "FEASIBLE", "objective": "tardiness",
                      "kpis": {"orders": 39, "on_time": on_time,
                               "total_weighted_tardiness_min": wt}},
            progress=None, valid=valid, error=None,
        ))
    return job_id


def test_front_page_follows_the_published_plan(client: Any) -> None:
    """`plan` is the published job (not the newest), `unpublished` the newest valid plan
    made after it; each brief has kind, name, objective and KPIs."""
    pub = plan_job(client, "2026-11-30T01:00:00Z", name="monday", on_time=37, wt=2400)
    with transaction(client.app.state.rackplan.sessions) as s:
        s.add(Publication(job_id=pub, published_at="2026-11-30T01:10:00Z"))
    ov = client.get("/overview").json()
    assert ov["plan"]["id"] == pub and ov["plan"]["published"] is True
    assert ov["published_at"] == "2026-11-30T01:10:00Z"
    assert ov["unpublished"] is None
    plan_job(client, "2026-11-30T02:00:00Z", valid=False)  # never offered for publishing
    new = plan_job(client, "2026-11-30T03:00:00Z", kind="reschedule", name="night",
                   on_time=38, wt=1790)
    ov = client.get("/overview").json()
    assert ov["plan"]["id"] == pub and ov["latest"]["id"] == new
    un = ov["unpublished"]
    assert un["id"] == new and un["kind"] == "reschedule" and un["name"] == "night"
    assert un["published"] is False and un["objective"] == "tardiness"
    assert un["kpis"] == {"orders": 39, "on_time": 38, "total_weighted_tardiness_min": 1790}
    assert [(j["name"], j["published"]) for j in ov["recent"]] == [
        ("night", False), ("p", False), ("monday", True)]
