"""Planned maintenance: `POST /resources/{id}/downtime` and `DELETE
/resources/{id}/downtime/{start}` keep each change as a new factory version, and refuse bad
values, overlaps and windows that would strand a running step."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from test_api_events import start

MakeClient = Callable[..., AbstractContextManager[Any]]
WINDOW = {"start": "2026-12-03T00:00:00Z", "end": "2026-12-03T08:00:00Z",
          "reason": "calibration"}


def windows(client: Any, rid: str) -> list[dict[str, Any]]:
    res = next(r for r in client.get("/factory").json()["resources"] if r["id"] == rid)
    return list(res.get("downtime", []))


def test_add_then_delete_a_window(client: Any) -> None:
    """201 with a new factory version holding the window and its reason; DELETE by its
    start is a newer version without it; a second DELETE is 404."""
    v0 = client.get("/factory").json()["version"]
    r = client.post("/resources/HOU-ASM-01/downtime", json=WINDOW)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["factory_version"] == v0 + 1 and body["window"] == WINDOW
    assert WINDOW in windows(client, "HOU-ASM-01")
    r = client.delete("/resources/HOU-ASM-01/downtime/2026-12-03T00:00:00Z")
    assert r.status_code == 200, r.text
    assert r.json()["factory_version"] == v0 + 2 and r.json()["window"] == WINDOW
    assert WINDOW not in windows(client, "HOU-ASM-01")
    r = client.delete("/resources/HOU-ASM-01/downtime/2026-12-03T00:00:00Z")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "start"


def test_refusals_write_nothing(client: Any) -> None:
    """An unknown resource (404), a window ending at its start or before now (422), an
    overlap (409), a time without offset (422): each names the field; no new version."""
    assert client.post("/resources/HOU-ASM-01/downtime", json=WINDOW).status_code == 201
    v = client.get("/factory").json()["version"]
    cases = [
        ("NOPE", WINDOW, 404, "resource"),
        ("HOU-ASM-01", {"start": "2026-12-05T08:00:00Z", "end": "2026-12-05T08:00:00Z"},
         422, "end"),
        ("HOU-ASM-01", {"start": "2026-11-20T00:00:00Z", "end": "2026-11-21T00:00:00Z"},
         422, "end"),
        ("HOU-ASM-01", {"start": "2026-12-03T06:00:00Z", "end": "2026-12-03T10:00:00Z"},
         409, "start"),
        ("HOU-ASM-01", {"start": "2026-12-05T00:00:00", "end": "2026-12-05T08:00:00Z"},
         422, "start"),
    ]
    for rid, body, status, field in cases:
        r = client.post(f"/resources/{rid}/downtime", json=body)
        assert r.status_code == status, (body, r.text)
        assert any(field in e.get("field", "") for e in r.json()["errors"]), r.json()
    assert client.get("/factory").json()["version"] == v


def test_a_window_that_would_strand_a_running_step(client: Any) -> None:
    """A step running on the resource (assembly, 480 min, since 20:00) refuses a window
    from before it is done (409 naming the step); one from its end is taken."""
    r = client.post("/events", json=[start("e1", 1, "assembly", "HOU-ASM-01",
                                           "2026-11-29T20:00:00Z")])
    assert r.status_code == 200, r.text
    r = client.post("/resources/HOU-ASM-01/downtime",
                    json={"start": "2026-11-30T02:00:00Z", "end": "2026-11-30T06:00:00Z"})
    assert r.status_code == 409, r.text
    assert "SO-1002/1/assembly" in r.json()["errors"][0]["message"]
    r = client.post("/resources/HOU-ASM-01/downtime",
                    json={"start": "2026-11-30T04:00:00Z", "end": "2026-11-30T06:00:00Z"})
    assert r.status_code == 201, r.text


def test_roles(make_client: MakeClient) -> None:
    """A planner and the MES may plan maintenance; a viewer may not (403)."""
    keys = "planner-key-0123456789:planner,mes-key-0123456789:mes,viewer-key-0123456789:viewer"
    with make_client(api_keys=keys) as c:
        r = c.post("/resources/HOU-ASM-01/downtime", json=WINDOW,
                   headers={"X-API-Key": "viewer-key-0123456789"})
        assert r.status_code == 403
        r = c.post("/resources/HOU-ASM-01/downtime", json=WINDOW,
                   headers={"X-API-Key": "mes-key-0123456789"})
        assert r.status_code == 201, r.text
        r = c.delete("/resources/HOU-ASM-01/downtime/2026-12-03T00:00:00Z",
                     headers={"X-API-Key": "planner-key-0123456789"})
        assert r.status_code == 200, r.text
