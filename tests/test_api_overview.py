"""`GET /overview` (app/routes/overview.py): what the front page shows, on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from app.db import transaction
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
    assert client.get("/overview").json() == {"latest": None, "active": [], "published": None,
                                               "recent": []}
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
