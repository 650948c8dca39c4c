"""Tests of `POST /capacity`, `GET /schedules/{id}/capacity` and the capacity pages'
HTML (the page in a real browser: tests/test_capacity_browser.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_api_gantt import insert_job, problem_json
from test_capacity import _data, _solved

from app.services.seed import SAMPLE
from app.tables import JobStatus
from solver.problem import load_problem

Make = Callable[..., AbstractContextManager[Any]]
VIEWER_KEY = "viewer-key-0123456789"


def test_post_a_problem_gives_its_report(client: Any) -> None:
    """A problem in the body: the report of that problem, in the buckets asked for."""
    r = client.post("/capacity", params={"bucket": "day"}, json=_data(racks=3))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["problem"] == "cap" and body["bucket"] == "day"
    assert body["allocation"]["status"] in ("optimal", "feasible")
    line = body["sites"][0]["groups"][0]
    assert line["id"] == "S/line [P1]" and sum(line["allocated_min"]) == pytest.approx(1800)
    assert body["plan"] is None


def test_post_nothing_gives_the_current_factory_and_open_orders(client: Any) -> None:
    """No body: the current factory version with the open orders (the sample)."""
    r = client.post("/capacity")
    assert r.status_code == 200, r.text
    body = r.json()
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert [s["id"] for s in body["sites"]] == [s["id"] for s in sample["sites"]]
    assert body["bucket"] == "week" and len(body["families"]) >= 2
    groups = {g["id"] for s in body["sites"] for g in s["groups"]}
    assert all(g.split("/")[0] in {s["id"] for s in sample["sites"]} for g in groups)


@pytest.mark.parametrize("bucket", ["fortnight", "1.5", "0"])
def test_a_bad_bucket_is_422_naming_the_field(client: Any, bucket: str) -> None:
    """A bucket that is not day, week or whole minutes: 422 problem+json naming it."""
    body = problem_json(client.post("/capacity", params={"bucket": bucket}), 422)
    assert body["errors"][0]["field"] == "bucket"
    assert body["errors"][0]["value"] == bucket
    body = problem_json(client.get("/schedules/x/capacity", params={"bucket": bucket}), 422)
    assert body["errors"][0]["field"] == "bucket"


def test_a_problem_that_does_not_check_is_422_naming_every_fault(client: Any) -> None:
    """A problem with two faults: 422 naming both."""
    data = _data()
    data["orders"][0]["product"] = "NOPE"
    data["resources"][0]["site"] = "NOWHERE"
    body = problem_json(client.post("/capacity", json=data), 422)
    text = " ".join(e["message"] for e in body["errors"])
    assert "NOPE" in text and "NOWHERE" in text


def test_a_plans_capacity_shows_its_load(client: Any) -> None:
    """A done job: its problem with the plan's load beside the allocation's; unknown
    job 404, a job without a schedule 409."""
    data = _data(racks=4)
    s = _solved(load_problem(data))
    job = insert_job(client, data, s)
    r = client.get(f"/schedules/{job}/capacity", params={"bucket": "day"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["job_id"] == job and body["plan"]["items"] == len(s["items"])
    line = body["sites"][0]["groups"][0]
    assert sum(line["planned_min"]) == pytest.approx(2400)
    assert all(b["source"] == "plan" for b in body["bottlenecks"])
    problem_json(client.get("/schedules/nope/capacity"), 404)
    queued = insert_job(client, data, None, JobStatus.QUEUED)
    problem_json(client.get(f"/schedules/{queued}/capacity"), 409)


def test_the_pages_are_served_and_linked(client: Any) -> None:
    """The capacity pages (current factory, one plan) load their own script; the front
    page and the plan's page link to them."""
    for path in ("/ui/capacity", "/schedules/abc/capacity/view"):
        r = client.get(path)
        assert r.status_code == 200 and '<script src="/static/capacity.js">' in r.text
        assert 'href="/static/capacity.css"' in r.text
    assert 'href="/ui/capacity"' in client.get("/").text
    assert 'href="capacity/view"' in client.get("/schedules/abc/view").text
    assert client.get("/static/capacity.js").status_code == 200
    assert client.get("/static/capacity.css").status_code == 200


def test_with_keys_a_viewer_may_read_the_report(make_client: Make) -> None:
    """With keys configured the report needs a key (401 without); a viewer may read it."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        problem_json(c.post("/capacity"), 401)
        r = c.post("/capacity", json=_data(), headers={"X-API-Key": VIEWER_KEY})
        assert r.status_code == 200, r.text
