"""`rackplan reschedule`: the nightly run from cron — a job the API sees, a summary, exit
codes, publishing only over the plan it started from, and one run at a time (a lock in
the database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker
from test_api_reschedule import LATER, PLANNED, solve_and_publish

from app.cli import main, publish_step
from app.clock import utc_now
from app.db import make_engine, session_factory, transaction
from app.services import jobs, locks
from app.tables import SCHEMA_VERSION

MakeClient = Callable[..., AbstractContextManager[Any]]
OTHER = "other-host:4242:feedbeef"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The command's settings: the test database, the clock at LATER, text logs."""
    monkeypatch.setenv("RACKPLAN_DATABASE_URL", db_url)
    monkeypatch.setenv("RACKPLAN_NOW", LATER)
    monkeypatch.setenv("RACKPLAN_LOG_JSON", "false")
    return db_url


@pytest.fixture
def published(make_client: MakeClient, env: str) -> dict[str, Any]:
    """The sample planned at PLANNED and published; the job."""
    with make_client(now=PLANNED) as c:
        return solve_and_publish(c)


def fields(out: str) -> dict[str, str]:
    """The summary's `name: value` lines."""
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def test_summary_then_publish(published: dict[str, Any], make_client: MakeClient,
                              sessions: sessionmaker[Session],
                              capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 with the summary; without --publish nothing is published, with it the new
    job is what GET /schedules/published shows; the lock is given back."""
    assert main(["reschedule", "--time-limit", "2", "--frozen-hours", "12"]) == 0
    out = fields(capsys.readouterr().out)
    job_id = out["job"].split()[0]
    assert out["job"].endswith("valid") and "done" in out["job"]
    assert out["from"] == "publication 1 (job " + published["id"] + ")"
    before = published["schedule"]["kpis"]
    assert out["on-time orders"].startswith(f"{before['on_time']} -> ")
    assert out["weighted tardiness (min)"].startswith(
        f"{before['total_weighted_tardiness_min']} -> ")
    assert out["steps moved"].split()[0].isdigit() and "(site " in out["steps moved"]
    assert out["frozen steps"].split()[0] != "0" and "(window 12 h)" in out["frozen steps"]
    assert out["published"].startswith("no")

    assert main(["reschedule", "--time-limit", "2", "--workers", "1", "--publish"]) == 0
    out = fields(capsys.readouterr().out)
    new_id = out["job"].split()[0]
    assert out["published"] == 'yes, publication 2 (ETag "2")'
    assert locks.current(sessions, locks.RESCHEDULE) is None
    with make_client(now=LATER) as c:
        assert c.get("/schedules/published").json()["publication"]["job_id"] == new_id
        job = c.get(f"/schedules/{job_id}").json()
        assert job["kind"] == "reschedule" and job["status"] == "done" and job["valid"]
        assert job["params"]["reference"] == published["id"]


def test_bad_configuration_exits_2(env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A database that does not exist or holds no rackplan schema, a bad URL, bad
    settings: exit 2 with a message, no traceback, nothing created."""
    assert main(["reschedule", "--time-limit", "1"]) == 2  # a fresh, empty database
    err = capsys.readouterr().err
    assert "rackplan: error:" in err and "Traceback" not in err
    assert ("no rackplan data" in err) or ("no database file" in err), err
    missing = tmp_path / "typo" / "rackplan.db"
    for url, says in ((f"sqlite:///{missing}", "no database file"),
                      ("not a url", "is not a database URL"),
                      ("postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot open")):
        monkeypatch.setenv("RACKPLAN_DATABASE_URL", url)
        assert main(["reschedule"]) == 2, url
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err, err
    assert not missing.parent.exists()
    monkeypatch.setenv("RACKPLAN_DATABASE_URL", env)
    monkeypatch.setenv("RACKPLAN_NOW", "tomorrow morning")
    assert main(["reschedule"]) == 2
    assert "bad configuration" in capsys.readouterr().err
    monkeypatch.setenv("RACKPLAN_NOW", LATER)
    assert main(["reschedule", "--frozen-hours", "-1"]) == 2
    assert "--frozen-hours" in capsys.readouterr().err


def test_no_factory_or_no_orders_exits_2(make_client: MakeClient, env: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with make_client(load_sample=False):
        pass
    assert main(["reschedule", "--time-limit", "1"]) == 2
    assert "no factory" in capsys.readouterr().err
    with make_client() as c:  # the sample, every order then cancelled
        ids = [o["id"] for o in c.get("/orders", params={"limit": 1000}).json()["items"]]
        for oid in ids:
            assert c.delete(f"/orders/{oid}").status_code == 200
    assert main(["reschedule", "--time-limit", "1"]) == 2
    assert "no open orders" in capsys.readouterr().err
    with make_client() as c:
        assert c.get("/schedules").json()["total"] == 0  # nothing half-made


def test_the_lock(make_client: MakeClient, env: str, sessions: sessionmaker[Session],
                  capsys: pytest.CaptureFixture[str]) -> None:
    """A run while another holds the lock exits 1 and does nothing; a lock whose holder
    died (expired) is taken over; the same function lets one taker win."""
    with make_client():
        pass
    assert locks.acquire(sessions, locks.RESCHEDULE, OTHER, timedelta(hours=1))
    assert not locks.acquire(sessions, locks.RESCHEDULE, "me", timedelta(hours=1))
    assert main(["reschedule", "--time-limit", "1"]) == 1
    captured = capsys.readouterr()
    assert "another reschedule is running" in captured.err and OTHER in captured.err
    assert captured.out == ""
    with make_client() as c:
        assert c.get("/schedules").json()["total"] == 0
    # the holder was killed: its lock expired an hour ago
    assert locks.acquire(sessions, locks.RESCHEDULE, OTHER, timedelta(hours=1),
                         now=utc_now() - timedelta(hours=2))
    assert main(["reschedule", "--time-limit", "1"]) == 0
    assert "published: no" in capsys.readouterr().out
    assert locks.current(sessions, locks.RESCHEDULE) is None
    assert not locks.release(sessions, locks.RESCHEDULE, OTHER)


def test_published_meanwhile_is_not_overwritten(
    published: dict[str, Any], make_client: MakeClient, sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """Someone publishes while the run solves: --publish exits 1 and their plan stays;
    publish_step itself refuses a stale publication and accepts the current one."""
    import app.worker

    real_run = app.worker.run

    def run_then_someone_publishes(*args: Any, **kwargs: Any) -> str | None:
        status = real_run(*args, **kwargs)
        jobs.publish(sessions, published["id"], None, utc_now())  # publication 2
        return status

    monkeypatch.setattr(app.worker, "run", run_then_someone_publishes)
    assert main(["reschedule", "--time-limit", "2", "--publish"]) == 1
    captured = capsys.readouterr()
    assert "another plan was published" in captured.err
    out = fields(captured.out)
    assert out["published"].startswith("no")
    job_id = out["job"].split()[0]
    with make_client(now=LATER) as c:
        pub = c.get("/schedules/published").json()["publication"]
        assert (pub["id"], pub["job_id"]) == (2, published["id"])

    assert publish_step(sessions, job_id, 1)[0] is False
    done, message = publish_step(sessions, job_id, None)  # "nothing was published"
    assert not done and "published meanwhile" in message
    done, message = publish_step(sessions, job_id, 2)
    assert done and message == 'published: yes, publication 3 (ETag "3")'


def test_a_cancelled_run_is_not_published(
    published: dict[str, Any], sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A planner cancels the run's job (DELETE /schedules/{id}): it stops, keeps its best
    schedule, and --publish leaves the published plan alone (exit 1)."""
    import app.worker

    real_run = app.worker.run

    def cancelled_first(sessions_: Any, job_id: str, **kwargs: Any) -> str | None:
        with transaction(sessions) as s:
            jobs.cancel(s, job_id, utc_now())
        return real_run(sessions_, job_id, **kwargs)

    monkeypatch.setattr(app.worker, "run", cancelled_first)
    assert main(["reschedule", "--time-limit", "5", "--publish"]) == 1
    captured = capsys.readouterr()
    assert "cancelled" in fields(captured.out)["job"]
    assert fields(captured.out)["published"] == "no (the job was cancelled)"
    with transaction(sessions) as s:
        assert jobs.latest_publication(s).job_id == published["id"]  # type: ignore[union-attr]


def test_no_valid_schedule_exits_1(published: dict[str, Any],
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The solver fails: the job is failed, the summary says so, exit 1, nothing published."""
    import app.worker

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("solver bug")

    monkeypatch.setattr(app.worker, "reschedule", broken)
    assert main(["reschedule", "--time-limit", "1", "--publish"]) == 1
    captured = capsys.readouterr()
    assert "failed" in fields(captured.out)["job"]
    assert fields(captured.out)["published"] == "no (no valid schedule)"
    assert "no valid schedule" in captured.err


def test_a_version_2_database_is_upgraded(make_client: MakeClient, env: str,
                                          sessions: sessionmaker[Session],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A database of schema 2 (no locks table, no job leases, no quote expiry) gets the
    table, the columns and version 5."""
    with make_client():
        pass
    with transaction(sessions) as s:
        s.execute(text("DROP TABLE locks"))
        s.execute(text("ALTER TABLE jobs DROP COLUMN heartbeat_at"))
        s.execute(text("ALTER TABLE orders DROP COLUMN expires_at"))
        s.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
    assert main(["reschedule", "--time-limit", "1"]) == 0, capsys.readouterr().err
    engine = sessions.kw["bind"]
    assert inspect(engine).has_table("locks")
    assert "heartbeat_at" in {c["name"] for c in inspect(engine).get_columns("jobs")}
    assert "expires_at" in {c["name"] for c in inspect(engine).get_columns("orders")}
    with transaction(sessions) as s:
        version = s.scalar(text("SELECT value FROM meta WHERE key = 'schema_version'"))
    assert version == str(SCHEMA_VERSION) == "7"
