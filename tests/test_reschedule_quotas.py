"""The reschedule keeps the spread-risk quotas (SPEC section 6, rule 10) that came in after
the published plan: frozen steps beyond the quota are released, not kept."""

from __future__ import annotations

from typing import Any

from solver.problem import load_problem
from solver.reschedule import reschedule
from solver.solve import SolveParams, solve
from solver.validate import validate

DATA: dict[str, Any] = {
    "name": "t", "horizon_start": "2026-12-01T00:00:00Z",
    "sites": [{"id": "A", "transit_min": {"d": 0}}, {"id": "B", "transit_min": {"d": 600}}],
    "resources": [{"id": "LA", "site": "A", "kind": "line", "capacity": 4},
                  {"id": "LB", "site": "B", "kind": "line", "capacity": 4}],
    "products": [{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 600}]}],
    "orders": [{"id": "O", "customer": "acme", "product": "P", "quantity": 4,
                "destination": "d", "due": "2026-12-01T10:00:00Z"}],
}


def test_a_new_quota_releases_the_frozen_racks_beyond_it() -> None:
    """All four racks planned at the near site A; a quota of one half comes in: the
    reschedule keeps two of them frozen, releases the other two naming rule 10, and its
    schedule moves them to B and passes the validator (not UNKNOWN)."""
    params = SolveParams(time_limit=2, workers=1, seed=0)
    published = solve(load_problem(DATA), params)
    assert {i["site"] for i in published["items"]} == {"A"}
    quota = load_problem({**DATA, "policies": {"max_site_share": 0.5}})
    got = reschedule(quota, published, params, frozen_hours=12)
    s = got.schedule
    assert s["status"] in ("OPTIMAL", "FEASIBLE"), s.get("reasons")
    assert validate(got.problem, s) == []
    section = s["reschedule"]
    assert len(section["kept"]) == 2
    assert len(section["released"]) == 2
    assert all("rule 10" in r["reason"] and "acme" in r["reason"]
               for r in section["released"])
    sites = sorted(i["site"] for i in s["items"])
    assert sites == ["A", "A", "B", "B"]
    assert s["objective_value"] == 600  # the order: its racks at B 600 minutes away
