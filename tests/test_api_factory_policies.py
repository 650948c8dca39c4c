"""The factory's `policies` (SPEC section 6 quotas): stored with the factory, kept by the
service's solves, reschedules and capacity reports; racks the floor already started at a
site are admitted; a bad share is refused naming the field, nothing written.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import NOW
from fastapi.testclient import TestClient
from test_api_factory import SAMPLE, factory, problem
from test_api_schedules import solved_here

from app.config import Settings
from app.main import create_app
from solver.planning.section6 import admit_fixed
from solver.problem import load_problem
from solver.validate import validate

AURORA = ["SO-1002", "SO-1006", "SO-1009"]  # 4 + 1 + 1 racks of one customer
POLICIES = {"max_site_share": 1.0, "customers": {"Aurora Hyperscale": {"max_site_share": 0.34}}}


@pytest.fixture
def sqlite_client(sqlite_url: str) -> Iterator[Any]:
    """A client on a fresh SQLite database holding the sample (one backend: the policies
    are part of the factory's JSON, stored alike on both)."""
    settings = Settings(database_url=sqlite_url, now=NOW,  # type: ignore[arg-type]
                        log_json=False, plan_sample=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def with_policies(client: Any, policies: Any) -> Any:
    body = factory(client)
    body["policies"] = policies
    return client.put("/factory", json=body)


def test_policies_are_stored_and_reach_the_solve(sqlite_client: Any) -> None:
    """PUT with policies is a new version that GET gives back; a solve's problem carries
    them, and its schedule keeps the quota (at most 3 of the customer's 6 racks a site)
    and passes the validator, rule 10 included."""
    c = sqlite_client
    r = with_policies(c, POLICIES)
    assert r.status_code == 201, r.text
    assert c.get("/factory").json()["policies"] == POLICIES
    job_id = solved_here(c, AURORA)
    job = c.get(f"/schedules/{job_id}").json()
    prob = c.get(f"/schedules/{job_id}/problem").json()
    assert prob["policies"] == POLICIES
    assert job["status"] == "done" and job["valid"]
    assert validate(load_problem(prob), job["schedule"]) == []
    racks = Counter(it["site"] for it in job["schedule"]["items"] if it["op"] == "assembly")
    assert max(racks.values()) <= 3, racks


def test_capacity_report_of_the_factory_keeps_the_quota(sqlite_client: Any) -> None:
    """The capacity report of the current factory and open orders allocates under the
    policies: no site gets more than the quota's share of the customer's racks."""
    c = sqlite_client
    assert with_policies(c, POLICIES).status_code == 201
    r = c.post("/capacity?bucket=week")
    assert r.status_code == 200, r.text
    alloc = r.json()["allocation"]
    assert alloc["orders"], alloc
    mine = {o["id"]: o["quantity"] for o in SAMPLE["orders"]
            if o.get("customer") == "Aurora Hyperscale"}
    per_site: Counter[str] = Counter()
    for oid, parts in alloc["orders"].items():
        if oid in mine:
            for part in parts:
                per_site[part["site"]] += part["racks"]
    assert sum(per_site.values()) == sum(mine.values())
    assert max(per_site.values()) <= math.ceil(0.34 * sum(mine.values())), per_site


@pytest.mark.parametrize(("policies", "field"), [
    ({"max_site_share": 1.5}, "policies"),
    ({"customers": {"Aurora Hyperscale": {"max_site_share": 0}}}, "policies"),
    ({"max_site_share": 0.5, "unknown": 1}, "policies"),
])
def test_a_bad_share_is_refused_naming_the_field(sqlite_client: Any, policies: Any,
                                                 field: str) -> None:
    """A share outside (0, 1] or an unknown key: 422 problem+json naming `policies`, and
    the factory stays at its version."""
    c = sqlite_client
    body = problem(with_policies(c, policies), 422)
    assert any(field in str(e.get("field", "")) or field in str(e.get("message", ""))
               for e in body["errors"]), body
    assert c.get("/factory").json()["version"] == 1


def test_a_quota_for_a_customer_without_orders_is_a_standing_policy(
        sqlite_client: Any) -> None:
    """A quota naming a customer with no open orders is stored, not refused."""
    c = sqlite_client
    r = with_policies(c, {"customers": {"Nobody Yet": {"max_site_share": 0.5}}})
    assert r.status_code == 201, r.text


def _started(n: int, site_res: str) -> dict[str, Any]:
    """A problem of one customer's order of four racks, `n` of them started on
    `site_res` (fixed), under a quota of one half."""
    return {
        "name": "t", "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [{"id": "A"}, {"id": "B"}],
        "resources": [{"id": "LA", "site": "A", "kind": "line"},
                      {"id": "LB", "site": "B", "kind": "line"}],
        "products": [{"id": "P", "routing": [{"op": "x", "kind": "line",
                                              "duration_min": 60}]}],
        "orders": [{"id": "O", "customer": "acme", "product": "P", "quantity": 4,
                    "due": "2026-12-02T00:00:00Z"}],
        "fixed": [{"order": "O", "unit": u, "op": "x", "resource": site_res,
                   "start": f"2026-12-01T0{u - 1}:00:00Z", "end": f"2026-12-01T0{u}:00:00Z"}
                  for u in range(1, n + 1)],
        "policies": {"max_site_share": 0.5},
    }


def test_racks_already_started_beyond_the_quota_are_admitted() -> None:
    """Three of four racks already started at one site under a quota of 0.5 (limit 2): the
    problem model refuses it as it is; `admit_fixed` raises that customer's share to 0.75,
    says so, and the problem then loads; within the quota nothing changes."""
    data = _started(3, "LA")
    with pytest.raises(Exception, match="acme"):
        load_problem(data)
    got, notes = admit_fixed(data)
    assert got["policies"]["customers"]["acme"]["max_site_share"] == 0.75
    assert got["policies"]["max_site_share"] == 0.5
    assert len(notes) == 1 and "acme" in notes[0] and "'A'" in notes[0]
    load_problem(got)
    same, none = admit_fixed(_started(2, "LA"))
    assert none == [] and same == _started(2, "LA")


def test_a_solve_admits_racks_the_floor_started_beyond_the_quota(sqlite_client: Any) -> None:
    """Four of the customer's six racks already assembled at HOU, under a quota of 0.34
    (at most 3 a site): the solve's problem holds that customer's quota at 0.6667 for this
    plan, and its schedule keeps the facts, passes the validator and is done."""
    c = sqlite_client
    assert with_policies(c, POLICIES).status_code == 201
    events = []
    for u in range(1, 5):
        a, b = f"2026-11-29T{4 * u:02d}:00:00Z", f"2026-11-29T{4 * u + 3:02d}:00:00Z"
        events += [{"event_id": f"s{u}", "type": "step_started", "order": "SO-1002",
                    "unit": u, "op": "assembly", "resource": "HOU-ASM-01", "at": a},
                   {"event_id": f"d{u}", "type": "step_completed", "order": "SO-1002",
                    "unit": u, "op": "assembly", "at": b}]
    r = c.post("/events", json=events)
    assert r.status_code == 200, r.text
    job_id = solved_here(c, AURORA)
    job = c.get(f"/schedules/{job_id}").json()
    prob = c.get(f"/schedules/{job_id}/problem").json()
    assert prob["policies"]["customers"]["Aurora Hyperscale"]["max_site_share"] == 0.6667
    assert job["status"] == "done" and job["valid"], job.get("error")
    assert validate(load_problem(prob), job["schedule"]) == []
    racks = Counter(it["site"] for it in job["schedule"]["items"] if it["op"] == "assembly")
    assert 4 <= racks["HOU"] <= 5, racks  # the facts, and the held quota's limit
