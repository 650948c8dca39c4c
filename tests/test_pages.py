"""The browser pages and their assets (app/routes/pages.py); tests/test_browser.py drives
them in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest


def problem_json(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize(("path", "needle"), [
    ("/", "/static/index.js"),
    ("/schedules/abc/view", "/static/gantt.js"),
    ("/ui/orders", "/static/orders.js"),
])
def test_pages_are_html_with_their_own_scripts(client: Any, path: str, needle: str) -> None:
    """Each page is HTML that loads its scripts from this service (no CDN)."""
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert needle in r.text
    assert "http://" not in r.text and "https://" not in r.text


def test_assets_are_served_and_paths_are_checked(client: Any) -> None:
    """Scripts and styles come with their media types; other names are 404."""
    r = client.get("/static/gantt.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "class Gantt" in r.text
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    problem_json(client.get("/static/nope.js"), 404)
    problem_json(client.get("/static/..%2Fmain.py"), 404)
    assert client.get("/static/../main.py").status_code == 404
