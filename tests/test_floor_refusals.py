"""Writes that would block every plan are refused with a 422 naming the event, unit or
resource, and nothing is written: a unit's step at a second site, a resource_down that
overlaps a reported window, a factory change that takes away the resource (or the site)
of the floor's steps; the plan can still be built afterwards (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from typing import Any

KEYS = ("sites", "resources", "products")


def ev(event_id: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": type_, **fields}


def start(event_id: str, unit: int, op: str, resource: str, at: str,
          order: str = "SO-1002") -> dict[str, Any]:
    return ev(event_id, "step_started", order=order, unit=unit, op=op, resource=resource,
              at=at)


def refused(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


def plannable(client: Any) -> None:
    """The open orders and the floor state still make a problem a solve accepts."""
    r = client.post("/schedules", json={"time_limit": 1, "workers": 1})
    assert r.status_code == 202, r.text
    assert client.delete(f"/schedules/{r.json()['id']}").status_code in (200, 202)


def test_a_unit_at_two_sites_is_refused(client: Any) -> None:
    """Assembly at PHX, then test at HOU for the same unit: 422 naming the event, the
    unit and both resources; the test step is not stored; another unit may go to HOU."""
    r = client.post("/events", json=[
        start("a1", 1, "assembly", "PHX-ASM-01", "2026-11-29T08:00:00Z"),
        ev("a2", "step_completed", order="SO-1002", unit=1, op="assembly",
           at="2026-11-29T12:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    body = refused(client.post("/events", json=[
        start("t1", 1, "test", "HOU-TST-02", "2026-11-29T13:00:00Z"),
    ]))
    assert "'t1'" in body["detail"] and "unit 1 of 'SO-1002'" in body["detail"]
    assert "PHX-ASM-01" in body["detail"] and "HOU-TST-02" in body["detail"]
    assert body["errors"][0]["event_id"] == "t1" and body["errors"][0]["field"] == "[0].resource"
    progress = client.get("/orders/SO-1002").json()["progress"]
    assert {s["op"]: s["state"] for s in progress[0]["steps"]}["test"] == "pending"
    assert client.get("/events").json()["total"] == 2
    ok = client.post("/events", json=[
        start("t2", 1, "test", "PHX-TST-01", "2026-11-29T13:00:00Z"),
        start("b1", 2, "assembly", "HOU-ASM-01", "2026-11-29T13:00:00Z"),
    ])
    assert ok.status_code == 200, ok.text
    plannable(client)


def test_an_overlapping_resource_down_is_refused(client: Any) -> None:
    """A second resource_down over a window already reported (open, or earlier and
    reaching into it) is refused naming the event and the window; a window before it
    is accepted, and one resource_up ends the downtime."""
    down = ev("d1", "resource_down", resource="HOU-ASM-01", start="2026-11-29T10:00:00Z")
    assert client.post("/events", json=[down]).status_code == 200
    for i, extra in enumerate([{}, {"end": "2026-11-29T11:00:00Z"}]):
        body = refused(client.post("/events", json=[
            ev(f"d2-{i}", "resource_down", resource="HOU-ASM-01",
               start="2026-11-29T09:00:00Z", **extra),
        ]))
        assert f"'d2-{i}'" in body["detail"] and "HOU-ASM-01" in body["detail"]
        assert "already down since 2026-11-29T10:00:00Z" in body["detail"]
    before = ev("d3", "resource_down", resource="HOU-ASM-01",
                start="2026-11-29T08:00:00Z", end="2026-11-29T09:00:00Z")
    assert client.post("/events", json=[before]).status_code == 200
    up = ev("u1", "resource_up", resource="HOU-ASM-01", at="2026-11-29T12:00:00Z")
    assert client.post("/events", json=[up]).status_code == 200
    late = start("s1", 1, "assembly", "HOU-ASM-01", "2026-11-29T12:30:00Z")
    assert client.post("/events", json=[late]).status_code == 200  # up again: one up did it
    plannable(client)


def _factory(client: Any) -> dict[str, Any]:
    body = client.get("/factory").json()
    return {k: copy.deepcopy(body[k]) for k in KEYS}


def test_a_factory_change_that_strands_floor_steps_is_refused(client: Any) -> None:
    """Removing the resource of a running step, or moving a resource so that a unit's
    steps are at two sites, is 422 naming the step and the resource; the factory stays
    at its version. A change that leaves them alone is accepted."""
    r = client.post("/events", json=[
        start("a1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        ev("a2", "step_completed", order="SO-1002", unit=1, op="assembly",
           at="2026-11-29T12:00:00Z"),
        start("a3", 1, "test", "HOU-TST-02", "2026-11-29T13:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    version = client.get("/factory").json()["version"]

    removed = _factory(client)
    removed["resources"] = [x for x in removed["resources"] if x["id"] != "HOU-TST-02"]
    for p in removed["products"]:
        for st in p["routing"]:
            if st.get("alternatives"):
                st["alternatives"] = [a for a in st["alternatives"]
                                      if a["resource"] != "HOU-TST-02"]
    body = refused(client.put("/factory", json=removed))
    assert "SO-1002/1/test (running on 'HOU-TST-02')" in body["detail"]
    assert "not in the new factory" in body["detail"]
    assert body["errors"][0]["id"] == "HOU-TST-02"

    moved = _factory(client)
    for x in moved["resources"]:
        if x["id"] == "HOU-ASM-01":
            x["site"] = "PHX"
    body = refused(client.put("/factory", json=moved))
    assert "unit 1 of 'SO-1002'" in body["detail"] and "HOU-ASM-01' at PHX" in body["detail"]
    assert client.get("/factory").json()["version"] == version

    fine = _factory(client)
    fine["resources"] = [x for x in fine["resources"] if x["id"] != "SJC-BIA-01"]
    r = client.put("/factory", json=fine)
    assert r.status_code == 201, r.text
    plannable(client)
