"""A seeded database and small solve jobs for the tests of the job modules (the service,
the state writes, the worker, the supervisor), run in this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from app import worker
from app.db import make_engine, session_factory, transaction
from app.services import job_state, jobs
from app.services.seed import seed_if_empty
from app.tables import Base, Job, JobStatus

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SMALL = ["SO-1006", "SO-1009"]  # one rack each: solved in milliseconds


@contextmanager
def seeded(url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database at `url` with the schema and the sample factory and orders."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        seed_if_empty(s, NOW)
    try:
        yield factory
    finally:
        engine.dispose()


def submit(sessions: sessionmaker[Session], orders: list[str] | None = SMALL,
           time_limit: float = 2.0) -> str:
    """Queue a job for `orders` of the sample; its id."""
    with transaction(sessions) as s:
        job = jobs.submit(
            s, now=NOW, objective=None, time_limit=time_limit, default_time_limit=30,
            max_time_limit=60, orders=orders, horizon_start=None, seed=0, workers=1,
        )
        return job.id


def load(sessions: sessionmaker[Session], job_id: str) -> Job:
    """The job as stored now."""
    with transaction(sessions) as s:
        return jobs.get_job(s, job_id)


def solved(sessions: sessionmaker[Session], orders: list[str] | None = SMALL) -> str:
    """A job claimed and solved by the worker's code in this process; its id."""
    job_id = submit(sessions, orders)
    assert job_state.claim(sessions, job_id)
    assert worker.run(sessions, job_id) == JobStatus.DONE
    return job_id
