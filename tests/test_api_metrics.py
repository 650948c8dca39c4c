"""`GET /metrics` (app/routes/metrics.py): the app's registry as Prometheus text, for a
reader; the collectors themselves are tested in tests/test_observability.py."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

VIEWER_KEY = "viewer-key-0123456789"


def test_metrics_need_a_reader_key(
    make_client: Callable[..., AbstractContextManager[Any]],
) -> None:
    """With keys configured /metrics is 401 without a key and 200 for a viewer."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        assert c.get("/metrics").status_code == 401
        r = c.get("/metrics", headers={"X-API-Key": VIEWER_KEY})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_metrics_page_is_the_apps_registry(client: Any) -> None:
    """The page parses as Prometheus text and holds the app's request, job and process
    families, the request it answers not yet counted in it."""
    client.get("/healthz")
    page = client.get("/metrics").text
    families = {f.name for f in text_string_to_metric_families(page)}
    assert {"rackplan_http_requests", "rackplan_http_request_duration_seconds",
            "rackplan_solve_jobs", "rackplan_solve_queue_depth",
            "process_resident_memory_bytes"} <= families
    assert 'route="/metrics"' not in page
    assert 'route="/healthz"' in client.get("/metrics").text
