"""What-if scenarios through the API: `POST /scenarios` solves the base and the variants as
normal schedules, `GET /scenarios/{id}` compares them, a bad change is refused with the
field named and nothing written, a cancel halfway keeps the finished sides, apply makes a
variant real, `POST /resilience` ranks the sites (the solving tests on SQLite, the refusal
and the apply on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "app" / "sample" / "sample.json"
NOW = "2026-11-30T00:00:00Z"
HOU_DOWN = {"type": "site_down", "site": "HOU", "start": "2026-11-30T00:00:00Z",
            "end": "2026-12-07T00:00:00Z"}
FINISHED = ("done", "failed", "cancelled")


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Any]:
    """The service on a fresh SQLite file holding the sample, two solves at once."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    settings = Settings(database_url=sqlite_url, now=NOW, log_json=False,  # type: ignore[arg-type]
                        plan_sample=False, max_solves=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _wait(api: Any, sid: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = api.get(f"/scenarios/{sid}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in FINISHED:
            out: dict[str, Any] = r.json()
            return out
        assert time.monotonic() < deadline, r.json()["status"]
        time.sleep(0.2)


def test_variants_are_normal_schedules_compared_and_applied_only_when_asked(api: Any) -> None:
    """The base and a variant solve as jobs; the comparison has both sides' figures and
    the orders that change; the variant's schedule has a Gantt, an export, an explanation
    and a diff against the base, but is never published; the factory and orders stay as
    they were until the apply, which makes a new factory version and the order changes."""
    body = {"name": "what if", "time_limit": 1, "variants": [
        {"name": "HOU down", "changes": [HOU_DOWN]},
        {"name": "grow", "changes": [
            {"type": "resource_add", "like": "CMH-TST-01"},
            {"type": "quota", "max_site_share": 0.8},
            {"type": "order_change", "id": "SO-1001", "due": "2026-12-30T00:00:00Z"},
            {"type": "order_cancel", "id": "SO-1002"}]}]}
    r = api.post("/scenarios", json=body)
    assert r.status_code == 202, r.text
    sid = r.json()["id"]
    assert r.headers["Location"] == f"/scenarios/{sid}"
    out = _wait(api, sid)
    assert out["status"] == "done"
    listed = api.get("/scenarios").json()
    assert listed["total"] == 1 and listed["items"][0]["links"]["page"] == f"/ui/scenarios/{sid}"
    base, down, grow = out["base"], *out["variants"]
    assert base["status"] in ("OPTIMAL", "FEASIBLE") and down["status"] in ("OPTIMAL", "FEASIBLE")
    assert down["weighted_tardiness_min_change"] == (
        down["weighted_tardiness_min"] - base["weighted_tardiness_min"])
    assert down["order_changes"] and down["heat"]["sites"][0]["site"] == "HOU"
    assert {r["order"]: r["change"] for r in grow["order_changes"]}["SO-1002"] == "cancelled"
    job = down["job"]
    for path in (f"/schedules/{job}/gantt", f"/schedules/{job}/export.csv",
                 f"/schedules/{job}/explain", f"/schedules/{out['base_job']}/diff/{job}",
                 f"/schedules/{job}/view", f"/ui/scenarios/{sid}"):
        assert api.get(path).status_code == 200, path
    assert api.get(f"/schedules/{job}").json()["publishable"] is False
    assert api.get("/overview").json()["latest"] is None  # the front page's plan is not one
    refused = api.post(f"/schedules/{job}/publish")
    assert refused.status_code == 409 and "apply the variant" in refused.json()["detail"]
    # nothing applied yet
    assert api.get("/factory").json()["version"] == 1
    assert api.get("/orders/SO-1002").json()["status"] == "open"
    a = api.post(f"/scenarios/{sid}/variants/1/apply")
    assert a.status_code == 200, a.text
    assert a.json()["factory_version"] == 2
    assert a.json()["orders"] == {"created": [], "updated": ["SO-1001"], "cancelled": ["SO-1002"]}
    factory = api.get("/factory").json()
    assert "CMH-TST-01+1" in {x["id"] for x in factory["resources"]}
    assert factory["policies"]["max_site_share"] == 0.8
    assert api.get("/orders/SO-1001").json()["due"] == "2026-12-30T00:00:00Z"
    assert api.get("/orders/SO-1002").json()["status"] == "cancelled"
    again = api.post(f"/scenarios/{sid}/variants/0/apply")
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "applied"
    assert api.post(f"/scenarios/{sid}/variants/7/apply").status_code == 404


def test_a_bad_change_is_refused_with_the_field_named_and_nothing_written(
        make_client: Callable[..., AbstractContextManager[Any]]) -> None:
    """422 naming every bad change as variants[v].changes[i].field; no job, no scenario
    (SQLite and PostgreSQL)."""
    with make_client() as api:
        _refused(api)


def _refused(api: Any) -> None:
    body = {"time_limit": 1, "variants": [
        {"name": "ok", "changes": [HOU_DOWN]},
        {"name": "bad", "changes": [
            {"type": "site_down", "site": "NOWHERE", "start": "2026-12-01T00:00:00Z",
             "end": "2026-12-02T00:00:00Z"},
            {"type": "order_change", "id": "SO-1001", "due": "2026-12-30"},
            {"type": "resource_add", "like": "CMH-TST-01", "count": 0},
            {"type": "teleport"}]}]}
    r = api.post("/scenarios", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["variants[1].changes[0].site", "variants[1].changes[1].due",
                      "variants[1].changes[2].count", "variants[1].changes[3].type"]
    assert "NOWHERE" in r.json()["detail"]
    assert api.get("/schedules").json()["total"] == 0
    assert api.get("/scenarios").json()["total"] == 0
    assert api.get("/scenarios/nope").status_code == 404


def test_a_scenario_cancelled_halfway_keeps_the_finished_variants(api: Any) -> None:
    """Cancelled once the base has finished: the base keeps its schedule and figures, the
    variant that never started is cancelled without one, the scenario says cancelled."""
    body = {"time_limit": 1, "variants": [
        {"name": f"v{k}", "changes": [{**HOU_DOWN, "end": f"2026-12-0{k + 2}T00:00:00Z"}]}
        for k in range(3)]}
    sid = api.post("/scenarios", json=body).json()["id"]
    deadline = time.monotonic() + 60
    while api.get(f"/scenarios/{sid}").json()["base"]["job_status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = api.delete(f"/scenarios/{sid}")
    assert r.status_code == 200, r.text
    out = _wait(api, sid)
    assert out["status"] == "cancelled"
    assert out["base"]["weighted_tardiness_min"] is not None
    last = out["variants"][-1]
    assert last["job_status"] == "cancelled" and last["status"] is None
    assert last["order_changes"] == []
    assert api.delete(f"/scenarios/{sid}").status_code == 409


def test_resilience_ranks_the_sites_of_a_problem_sent_in(api: Any) -> None:
    """POST /resilience on a two-site problem: one variant per site, the ranking by the
    weighted tardiness each loss adds, and no apply for a problem sent in."""
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    keep = {"HOU", "PHX"}
    doc["sites"] = [s for s in doc["sites"] if s["id"] in keep]
    doc["resources"] = [x for x in doc["resources"] if x["site"] in keep]
    ids = {x["id"] for x in doc["resources"]}
    for prod in doc["products"]:
        for step in prod["routing"]:
            if "alternatives" in step:
                step["alternatives"] = [a for a in step["alternatives"] if a["resource"] in ids]
    doc["orders"] = [{k: v for k, v in o.items() if k != "allowed_sites"}
                     for o in doc["orders"][:5]]
    r = api.post("/resilience", json={"problem": doc, "days": 5, "time_limit": 1})
    assert r.status_code == 202, r.text
    out = _wait(api, r.json()["id"])
    assert [v["name"] for v in out["variants"]] == ["HOU", "PHX"]
    ranking = out["ranking"]
    assert sorted(x["site"] for x in ranking) == ["HOU", "PHX"]
    added = [x["weighted_tardiness_added_min"] for x in ranking]
    assert added == sorted(added, reverse=True) and ranking[0]["rank"] == 1
    no = api.post(f"/scenarios/{out['id']}/variants/0/apply")
    assert no.status_code == 409 and no.json()["errors"][0]["field"] == "problem"


def test_apply_writes_the_factory_and_orders_on_both_backends(
        make_client: Callable[..., AbstractContextManager[Any]]) -> None:
    """Applying a variant (solved or not) on SQLite and PostgreSQL: one new factory version
    with the resource and a power window, the added order created; nothing before."""
    body = {"time_limit": 1, "variants": [{"name": "grow", "changes": [
        {"type": "resource_add", "like": "PHX-TST-01", "count": 2},
        {"type": "power_cap", "site": "PHX", "power_cap_kw": 900,
         "start": "2026-12-10T00:00:00Z", "end": "2027-01-10T00:00:00Z"},
        {"type": "order_add", "id": "SO-NEW", "product": "GB200-NVL72", "quantity": 3,
         "due": "2026-12-24T00:00:00Z"}]}]}
    with make_client(max_solves=1) as api:
        sid = api.post("/scenarios", json=body).json()["id"]
        assert api.get("/orders/SO-NEW").status_code == 404
        r = api.post(f"/scenarios/{sid}/variants/0/apply")
        assert r.status_code == 200, r.text
        assert r.json()["orders"]["created"] == ["SO-NEW"]
        factory = api.get("/factory").json()
        assert factory["version"] == 2
        ids = {x["id"] for x in factory["resources"]}
        assert {"PHX-TST-01+1", "PHX-TST-01+2"} <= ids
        phx = next(x for x in factory["sites"] if x["id"] == "PHX")
        assert [w["power_cap_kw"] for w in phx["power_windows"]] == [900]
        assert api.get("/orders/SO-NEW").json()["status"] == "open"
        assert api.get(f"/scenarios/{sid}").json()["applied"][0]["factory_version"] == 2
