"""The FastAPI application: `create_app()`; the lifespan owns the engine and the supervisor
of the solve processes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app import errors, http_guard, observability
from app.auth import KeyStore
from app.config import Settings, get_settings
from app.db import add_missing_columns, make_engine, session_factory, transaction
from app.deps import State
from app.routes import (
    capacity,
    diff,
    docs,
    events,
    exceptions,
    exports,
    factory,
    gantt,
    health,
    metrics,
    orders,
    overview,
    pages,
    quotes,
    reschedule,
    resources,
    scenarios,
    schedules,
    uploads,
)
from app.routes import explain as explain_routes
from app.routes import pins as pins_routes
from app.services import job_state, jobs
from app.services.seed import seed_if_empty
from app.supervisor import JobRunner
from app.tables import SCHEMA_VERSION, Base, Meta

log = logging.getLogger("rackplan")


class SchemaError(RuntimeError):
    """The database holds a schema this version does not know."""


def init_schema(state: State) -> None:
    """Create missing tables and record the schema version (refuse a newer one)."""
    upgrade_schema(state.engine, state.sessions)


def upgrade_schema(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """`init_schema` for a caller without the app's state (`rackplan reschedule`): an
    older schema gets the tables it lacks (version 2 -> 3 adds `locks`) and the columns
    (3 -> 4 adds `jobs.heartbeat_at`)."""
    Base.metadata.create_all(engine)
    add_missing_columns(engine, Base.metadata)
    with transaction(sessions) as s:
        row = s.scalars(select(Meta).where(Meta.key == "schema_version")).first()
        if row is None:
            s.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(row.value) > SCHEMA_VERSION:
            raise SchemaError(
                f"the database has schema version {row.value}; this rackplan knows "
                f"{SCHEMA_VERSION}: upgrade rackplan"
            )
        elif int(row.value) < SCHEMA_VERSION:
            row.value = str(SCHEMA_VERSION)


def make_runner(sessions: sessionmaker[Session], settings: Settings) -> JobRunner:
    """The job runner (`app.supervisor`) a server or a `rackplan worker` process starts."""
    return JobRunner(sessions, settings.database_url, settings.max_solves,
                     log_json=settings.log_json, nice=settings.solve_nice,
                     lease=settings.job_lease_seconds, grace=settings.job_grace_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service; `settings` default to the environment's."""
    settings = settings or get_settings()
    keys = KeyStore(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        state = State(settings=settings, engine=engine, sessions=session_factory(engine),
                      keys=keys)
        init_schema(state)
        if settings.load_sample:
            with transaction(state.sessions) as s:
                now = settings.clock()
                start = seed_if_empty(s, now)
                if start is not None and settings.plan_sample:  # a new user sees a plan
                    job = jobs.submit(  # from the sample's (shifted) start, like the file's
                        s, now=now, objective=None, time_limit=None,
                        default_time_limit=settings.default_time_limit,
                        max_time_limit=settings.max_time_limit, orders=None,
                        horizon_start=start if start > now else None, seed=0,
                        workers=settings.workers,
                        name="sample plan",
                    )
                    log.info("queued a first plan of the sample orders: job %s", job.id)
        # only jobs whose lease ran out: another live server's or a reschedule's run on
        job_state.recover_interrupted(state.sessions, settings.job_lease_seconds)
        if settings.run_jobs:  # else `rackplan worker` processes run the queue
            state.runner = make_runner(state.sessions, settings)
            state.runner.start()
        app.state.rackplan = state
        try:
            yield
        finally:
            if state.runner is not None:
                state.runner.stop()  # running jobs are failed: "the server shut down"
            engine.dispose()

    app = FastAPI(
        title="rackplan",
        version="0.1.0",
        description="Production scheduling for AI data-center rack factories.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served offline by app/routes/docs.py
    )
    errors.install(app)
    # uploads before orders: /orders/upload must not match /orders/{order_id}
    modules = (metrics, health, factory, uploads, orders, diff, schedules, reschedule,
               exports, gantt, overview, pages, events, capacity, explain_routes,
               exceptions, docs, pins_routes, quotes,
               scenarios, resources)
    for module in modules:
        app.include_router(module.router)
    routes = [*(r for r in app.router.routes if getattr(r, "methods", None)),  # the API docs
              *(r for module in modules for r in module.router.routes)]
    http_guard.install(app, settings, keys, routes)  # inside the request ids and the log
    observability.install(app)
    return app
