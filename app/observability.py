"""Operations: request ids, one log line per request (JSON on request), Prometheus metrics.

`install(app)` adds the request middleware and the app's metrics registry (`app.state.metrics`,
served by `app.routes.metrics`); each app has its own registry, so a process (or a test run)
can hold many apps.
`configure_logging(json_lines=...)` sets the process's log output (`rackplan serve` calls
it): one line per record on stderr, as JSON objects when `RACKPLAN_LOG_JSON` is on, every
line carrying the id of the request it was logged under.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from fastapi import FastAPI, Request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import reading
from app.errors import problem_response
from app.tables import Job, JobStatus

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

request_id_var: ContextVar[str | None] = ContextVar("rackplan_request_id", default=None)
access_log = logging.getLogger("rackplan.access")
error_log = logging.getLogger("rackplan.errors")

# ---------------------------------------------------------------------------- logging

_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "request_id", "color_message"}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or None) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: ts, level, logger, message, request_id, the record's
    `extra` fields, and `exc` (the traceback text) when it has one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or "-"
        return super().format(record)


def configure_logging(
    json_lines: bool, level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record (the app's, uvicorn's) to `stream` (stderr), one line each:
    JSON objects when `json_lines`, else text; replaces a handler set here before."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else _TextFormatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.set_name("rackplan")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "rackplan"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


# ---------------------------------------------------------------------------- metrics


class JobCollector(Collector):
    """Solve jobs by status and the queue depth, counted in the `jobs` table at scrape
    time (so they hold across restarts and worker processes)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        state = getattr(self.app.state, "rackplan", None)
        if state is None:  # not started yet
            return
        try:
            with reading(state.sessions) as s:
                rows = s.execute(select(Job.status, func.count()).group_by(Job.status)).all()
            counts = {str(status): int(n) for status, n in rows}
        except SQLAlchemyError:
            error_log.exception("metrics: could not count jobs")
            return
        jobs = GaugeMetricFamily("rackplan_solve_jobs", "Solve jobs by status.",
                                 labels=["status"])
        for status in JobStatus:
            jobs.add_metric([status.value], float(counts.get(status.value, 0)))
        yield jobs
        yield GaugeMetricFamily("rackplan_solve_queue_depth",
                                "Solve jobs waiting for a free solver.",
                                value=float(counts.get(JobStatus.QUEUED.value, 0)))


@dataclass
class Metrics:
    """One app's registry with its request metrics."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram

    @classmethod
    def create(cls, app: FastAPI) -> Metrics:
        registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        metrics = cls(
            registry=registry,
            requests=Counter("rackplan_http_requests", "HTTP requests answered.", labels,
                             registry=registry),
            latency=Histogram("rackplan_http_request_duration_seconds",
                              "Time to answer an HTTP request.", labels, registry=registry),
        )
        registry.register(JobCollector(app))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        return metrics

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)


# ---------------------------------------------------------------------------- middleware


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.match(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/orders/{order_id}`), or `unmatched` (so
    unknown paths cannot grow the metrics without bound)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMiddleware:
    """Per request: an id (`X-Request-ID` from the caller when sane, else new) echoed in
    the answer and on every log line; one access log line; request metrics; and a
    problem+json 500 (never a traceback) for an error nothing else handled."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(rid)
        t0 = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode(), rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                response = problem_response(
                    Request(scope), 500, "internal error; the server log has the details "
                    f"(request id {rid})")
                await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - t0
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope)
            self.metrics.observe(method, route, status, seconds)
            access_log.info(
                "%s %s %d %.1fms", scope["method"], scope["path"], status, seconds * 1000,
                extra={"method": scope["method"], "path": scope["path"], "route": route,
                       "status": status, "duration_ms": round(seconds * 1000, 2)},
            )
            request_id_var.reset(token)


def install(app: FastAPI) -> None:
    """Add the request middleware to `app`, with the metrics registry it records into
    (`app.state.metrics`)."""
    metrics = Metrics.create(app)
    app.state.metrics = metrics
    app.add_middleware(RequestMiddleware, metrics=metrics)
