"""Request ids, JSON logs, Prometheus metrics and the 500 answer (app/observability.py)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.config import Settings
from app.db import transaction
from app.main import create_app
from app.observability import configure_logging, request_id_var
from app.tables import FactoryVersion, Job, JobStatus
from tests.conftest import NOW

SECRET = "secret-db-password-in-a-message"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The process's log output as JSON lines in a buffer (restored afterwards)."""
    root = logging.getLogger()
    level = root.level
    buf = io.StringIO()
    handler = configure_logging(json_lines=True, stream=buf)
    yield buf
    root.removeHandler(handler)
    root.setLevel(level)


def records(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line]


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called `name` in a Prometheus text page, keyed by sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def boom_app(sqlite_url: str) -> FastAPI:
    """The service plus a route that fails with a message that must stay in the log."""
    app = create_app(Settings(database_url=sqlite_url, now=NOW, log_json=True))

    def boom() -> None:
        logging.getLogger("rackplan.test").info("about to fail")
        raise RuntimeError(SECRET)

    app.add_api_route("/boom", boom)
    return app


def test_request_id_generated_and_echoed(client: Any) -> None:
    """Without an X-Request-ID the answer carries a new one, different per request."""
    a = client.get("/healthz").headers["x-request-id"]
    b = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", a) and a != b


def test_request_id_taken_from_caller_when_sane(client: Any) -> None:
    """A sane incoming X-Request-ID is echoed; one with odd characters or too long is
    replaced by a new id."""
    r = client.get("/healthz", headers={"X-Request-ID": "mes-42.abc:7"})
    assert r.headers["x-request-id"] == "mes-42.abc:7"
    for bad in ("has space", "x" * 129, "<script>", "a;b"):
        got = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert got != bad and re.fullmatch(r"[0-9a-f]{32}", got)


def test_error_answers_carry_the_request_id(client: Any) -> None:
    """Problem+json answers (404 here) carry the request id too."""
    r = client.get("/orders/NOPE", headers={"X-Request-ID": "trace-1"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "trace-1"


def test_unhandled_error_is_problem_json_without_traceback(
    sqlite_url: str, log_lines: io.StringIO
) -> None:
    """A route that raises gives 500 problem+json with the request id and no traceback or
    exception text; the log has the traceback under that request id."""
    with TestClient(boom_app(sqlite_url), raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "boom-1"
    body = r.json()
    assert body["status"] == 500 and "boom-1" in body["detail"]
    assert SECRET not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    logged = [x for x in records(log_lines) if x.get("request_id") == "boom-1"]
    errors = [x for x in logged if x["level"] == "error"]
    assert len(errors) == 1 and SECRET in errors[0]["exc"]
    assert any(x["logger"] == "rackplan.test" and x["message"] == "about to fail"
               for x in logged)


def test_one_json_access_line_per_request(client: Any, log_lines: io.StringIO) -> None:
    """Each request logs one JSON line with method, path, route template, status,
    duration and the request id; the id is not left set after the request."""
    client.get("/orders/SO-1001", headers={"X-Request-ID": "r-ok"})
    client.get("/orders/NOPE", headers={"X-Request-ID": "r-404"})
    access = [x for x in records(log_lines) if x["logger"] == "rackplan.access"]
    assert [x["request_id"] for x in access] == ["r-ok", "r-404"]
    ok, missing = access
    assert (ok["method"], ok["path"], ok["route"], ok["status"]) == (
        "GET", "/orders/SO-1001", "/orders/{order_id}", 200)
    assert missing["status"] == 404 and missing["route"] == "/orders/{order_id}"
    assert all(isinstance(x["duration_ms"], float) and x["duration_ms"] >= 0
               for x in access)
    assert all(x["level"] == "info" and x["ts"].endswith("Z") for x in access)
    assert request_id_var.get() is None


def test_text_logs_when_json_is_off() -> None:
    """With JSON off the lines are text carrying the request id."""
    buf = io.StringIO()
    handler = configure_logging(json_lines=False, stream=buf)
    try:
        token = request_id_var.set("txt-1")
        logging.getLogger("rackplan.test").warning("hello")
        request_id_var.reset(token)
    finally:
        logging.getLogger().removeHandler(handler)
    line = buf.getvalue().strip()
    assert "[txt-1]" in line and line.endswith("hello") and not line.startswith("{")


def test_metrics_count_requests_by_route_template(client: Any) -> None:
    """Requests are counted and timed by method, route template and status; unknown
    paths share one `unmatched` label."""
    for oid in ("SO-1001", "SO-1002", "NOPE"):
        client.get(f"/orders/{oid}")
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    text = client.get("/metrics").text
    counts = samples(text, "rackplan_http_requests_total")
    key = (("method", "GET"), ("route", "/orders/{order_id}"))
    assert counts[(*key, ("status", "200"))] == 2
    assert counts[(*key, ("status", "404"))] == 1
    assert counts[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 2
    hist = samples(text, "rackplan_http_request_duration_seconds_count")
    assert hist[(*key, ("status", "200"))] == 2


def test_metrics_job_gauges_read_from_the_table(client: Any) -> None:
    """Solve jobs by status and the queue depth come from the jobs table at scrape time."""
    state = client.app.state.rackplan
    state.runner.stop()  # else its poll may claim a queued row before the scrape
    with transaction(state.sessions) as s:
        version = s.scalar(select(func.max(FactoryVersion.version)))
        for n, status in enumerate([JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.RUNNING,
                                    JobStatus.DONE]):
            s.add(Job(id=f"j{n}", status=status, created_at=NOW, params={},
                      factory_version=version, problem={}))
    text = client.get("/metrics").text
    jobs = samples(text, "rackplan_solve_jobs")
    assert jobs == {(("status", st.value),): v for st, v in [
        (JobStatus.QUEUED, 2), (JobStatus.RUNNING, 1), (JobStatus.DONE, 1),
        (JobStatus.FAILED, 0), (JobStatus.CANCELLED, 0)]}
    assert samples(text, "rackplan_solve_queue_depth") == {(): 2}
    assert samples(text, "process_resident_memory_bytes")[()] > 0


def test_each_app_has_its_own_registry(sqlite_url: str, tmp_path: Any) -> None:
    """Two apps in one process count their own requests (no shared global registry)."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with TestClient(create_app(Settings(database_url=sqlite_url, now=NOW))) as a, \
            TestClient(create_app(Settings(database_url=other, now=NOW))) as b:
        for _ in range(3):
            a.get("/healthz")
        b.get("/healthz")
        key = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
        assert samples(a.get("/metrics").text, "rackplan_http_requests_total")[key] == 3
        assert samples(b.get("/metrics").text, "rackplan_http_requests_total")[key] == 1
