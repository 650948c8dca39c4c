"""`/events`: floor events from MES — applied in order, idempotent, all or nothing, every
kind of nonsense refused by name; `GET /orders/{id}` shows the progress (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import select

from app.db import make_engine, session_factory, transaction
from app.tables import ResourceDowntime

VIEWER = "viewer-key-0123456789"
MES = "mes-key-0123456789abc"
PLANNER = "planner-key-0123456789"
KEYS = f"{VIEWER}:viewer,{MES}:mes,{PLANNER}:planner"


def ev(event_id: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": type_, **fields}


def start(event_id: str, unit: int, op: str, resource: str, at: str,
          order: str = "SO-1002") -> dict[str, Any]:
    return ev(event_id, "step_started", order=order, unit=unit, op=op, resource=resource,
              at=at)


def done(event_id: str, unit: int, op: str, at: str, order: str = "SO-1002") -> dict[str, Any]:
    return ev(event_id, "step_completed", order=order, unit=unit, op=op, at=at)


def steps(client: Any, order: str = "SO-1002", unit: int = 1) -> dict[str, dict[str, Any]]:
    r = client.get(f"/orders/{order}")
    assert r.status_code == 200, r.text
    units = r.json()["progress"]
    assert [u["unit"] for u in units] == list(range(1, len(units) + 1))
    return {s["op"]: s for s in units[unit - 1]["steps"]}


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


def test_start_and_complete_show_in_the_order(client: Any) -> None:
    """A started and completed step reads back done, a started one running, the rest
    pending, with resource and times in UTC."""
    assert [s["state"] for s in steps(client).values()] == ["pending"] * 3
    r = client.post("/events", json=[
        start("e1", 1, "assembly", "HOU-ASM-01", "2026-11-29T09:00:00+01:00"),
        done("e2", 1, "assembly", "2026-11-29T16:00:00Z"),
        start("e3", 1, "test", "HOU-TST-02", "2026-11-29T17:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": ["e1", "e2", "e3"], "ignored": []}
    s = steps(client)
    assert s["assembly"] == {"op": "assembly", "state": "done", "resource": "HOU-ASM-01",
                             "started_at": "2026-11-29T08:00:00Z",
                             "completed_at": "2026-11-29T16:00:00Z"}
    assert s["test"] == {"op": "test", "state": "running", "resource": "HOU-TST-02",
                         "started_at": "2026-11-29T17:00:00Z", "completed_at": None}
    assert s["burn_in"]["state"] == "pending"
    assert all(st["state"] == "pending" for st in steps(client, unit=2).values())
    assert len(client.get("/orders/SO-1002").json()["progress"]) == 4


def test_events_listed_newest_first(client: Any) -> None:
    """GET /events pages the stored events newest first, with their normalized fields."""
    client.post("/events", json=[
        start("e1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        ev("e2", "resource_down", resource="HOU-TST-01", start="2026-11-29T10:00:00-05:00"),
    ])
    client.post("/events", json=[ev("e3", "order_released", order="SO-1003",
                                    at="2026-11-29T12:00:00Z")])
    page = client.get("/events", params={"limit": 2}).json()
    assert page["total"] == 3 and [e["event_id"] for e in page["items"]] == ["e3", "e2"]
    assert page["items"][1]["payload"] == {"resource": "HOU-TST-01",
                                           "start": "2026-11-29T15:00:00Z", "end": None}
    assert page["items"][0]["received_at"] == "2026-11-30T00:00:00Z"
    rest = client.get("/events", params={"limit": 2, "offset": 2}).json()
    assert [e["event_id"] for e in rest["items"]] == ["e1"]


def test_same_batch_twice_is_ignored(client: Any) -> None:
    """A retried batch is answered with every id ignored and changes nothing; a batch
    mixing old and new ids applies only the new; an id repeated within a batch counts once."""
    batch = [start("e1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
             done("e2", 1, "assembly", "2026-11-29T16:00:00Z")]
    assert client.post("/events", json=batch).json()["accepted"] == ["e1", "e2"]
    before = client.get("/orders/SO-1002").json()
    r = client.post("/events", json=batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": [], "ignored": ["e1", "e2"]}
    assert client.get("/orders/SO-1002").json() == before
    assert client.get("/events").json()["total"] == 2
    r = client.post("/events", json=[batch[1], start("e3", 1, "test", "HOU-TST-01",
                                                     "2026-11-29T17:00:00Z")])
    assert r.json() == {"accepted": ["e3"], "ignored": ["e2"]}
    assert client.get("/events").json()["total"] == 3
    twice = ev("e4", "order_released", order="SO-1003", at="2026-11-29T12:00:00Z")
    r = client.post("/events", json=[twice, twice])
    assert r.json() == {"accepted": ["e4"], "ignored": ["e4"]}
    assert client.get("/events").json()["total"] == 4


def test_same_id_different_content_is_a_conflict(client: Any) -> None:
    """An event_id already received with other content is a 409 naming it; nothing of
    the batch is written."""
    client.post("/events", json=[start("e1", 1, "assembly", "HOU-ASM-01",
                                       "2026-11-29T08:00:00Z")])
    r = client.post("/events", json=[
        start("e2", 2, "assembly", "HOU-ASM-02", "2026-11-29T08:00:00Z"),
        start("e1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:30:00Z"),
    ])
    body = problem(r, 409)
    assert body["errors"] == [{"index": 1, "event_id": "e1", "field": "[1].event_id",
                               "message": "already received with different content"}]
    assert client.get("/events").json()["total"] == 1
    assert steps(client, unit=2)["assembly"]["state"] == "pending"


PRIOR = [start("p1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z")]
OK = start("ok", 2, "assembly", "HOU-ASM-02", "2026-11-29T08:00:00Z")
# (batch, index of the bad event, field, words of the message)
REFUSED: list[tuple[list[dict[str, Any]], int, str, str]] = [
    ([OK, start("b", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z", order="SO-9999")],
     1, "[1].order", "order 'SO-9999' does not exist"),
    ([OK, start("b", 5, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z")],
     1, "[1].unit", "unit 5 is not in 1..4"),
    ([OK, start("b", 3, "paint", "HOU-ASM-01", "2026-11-29T08:00:00Z")],
     1, "[1].op", "op 'paint' is not in the routing of GB200-NVL72"),
    ([OK, start("b", 3, "assembly", "HOU-ASM-99", "2026-11-29T08:00:00Z")],
     1, "[1].resource", "resource 'HOU-ASM-99' does not exist"),
    ([OK, start("b", 3, "assembly", "HOU-TST-01", "2026-11-29T08:00:00Z")],
     1, "[1].resource", "resource 'HOU-TST-01' cannot run assembly of GB200-NVL72"),
    ([OK, start("b", 1, "assembly", "PHX-ASM-01", "2026-11-29T08:00:00Z", order="SO-1001")],
     1, "[1].resource", "resource 'PHX-ASM-01' cannot run assembly of NVSW-SPINE"),
    ([OK, start("b", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z", order="SO-1005")],
     1, "[1].resource", "site HOU, not allowed for order 'SO-1005'"),
    ([OK, done("b", 3, "assembly", "2026-11-29T09:00:00Z")],
     1, "[1].op", "assembly was never started"),
    ([OK, done("b", 2, "assembly", "2026-11-29T07:00:00Z")],
     1, "[1].at", "cannot complete at 2026-11-29T07:00:00Z, before it started"),
    ([OK, start("b", 2, "assembly", "HOU-ASM-03", "2026-11-29T08:00:00Z")],
     1, "[1].resource", "assembly already started on HOU-ASM-02"),
    ([OK, start("b", 1, "assembly", "HOU-ASM-02", "2026-11-29T08:00:00Z")],
     1, "[1].resource", "assembly already started on HOU-ASM-01"),
    ([OK, start("b", 2, "test", "HOU-TST-01", "2026-11-29T07:00:00Z")],
     1, "[1].at", "test cannot start at 2026-11-29T07:00:00Z, before assembly started"),
    ([OK, start("b", 3, "test", "HOU-TST-01", "2026-11-29T09:00:00Z")],
     1, "[1].op", "test cannot start before assembly has started"),
    ([OK, start("b", 3, "assembly", "HOU-ASM-03", "2026-11-30T00:02:01Z")],
     1, "[1].at", "2026-11-30T00:02:01Z is in the future"),
    ([OK, ev("b", "order_released", order="SO-1003", at="2026-12-01T00:00:00Z")],
     1, "[1].at", "is in the future"),
    ([OK, ev("b", "order_released", order="SO-0000", at="2026-11-29T00:00:00Z")],
     1, "[1].order", "order 'SO-0000' does not exist"),
    ([OK, ev("b", "resource_up", resource="HOU-TST-01", at="2026-11-29T10:00:00Z")],
     1, "[1].at", "not down at 2026-11-29T10:00:00Z (no matching resource_down)"),
    ([OK, ev("b", "resource_down", resource="HOU-TST-01", start="2026-11-29T10:00:00Z",
             end="2026-11-29T09:00:00Z")],
     1, "[1].end", "end 2026-11-29T09:00:00Z is not after start"),
    ([OK, ev("b", "resource_down", resource="NOPE", start="2026-11-29T10:00:00Z")],
     1, "[1].resource", "resource 'NOPE' does not exist"),
    ([OK, ev("dn", "resource_down", resource="HOU-ASM-03", start="2026-11-29T07:00:00Z"),
      start("b", 3, "assembly", "HOU-ASM-03", "2026-11-29T08:00:00Z")],
     2, "[2].resource", "resource 'HOU-ASM-03' is down at 2026-11-29T08:00:00Z"),
]


def test_each_refusal_names_the_event_and_writes_nothing(client: Any) -> None:
    """Unknown order/unit/op/resource, an ineligible resource or site, completion never
    started or before its start, a second start elsewhere, a start before the previous
    step, a future time, an up without a down, a start on a resource down: each refuses the
    whole batch with a 422 naming index, event_id and field."""
    assert client.post("/events", json=PRIOR).status_code == 200
    before = client.get("/orders/SO-1002").json()
    for batch, index, field, words in REFUSED:
        r = client.post("/events", json=batch)
        body = problem(r, 422)
        assert body["title"] == "Event refused", body
        (err,) = body["errors"]
        assert (err["index"], err["event_id"], err["field"]) == (index, "b", field), body
        assert words in err["message"], body
        assert f"[{index}] event 'b'" in body["detail"]
        assert client.get("/events").json()["total"] == 1, words
        assert client.get("/orders/SO-1002").json() == before, words


def test_malformed_events_name_the_field(client: Any) -> None:
    """A time without offset, an unknown type, an extra field and a zero unit are 422s
    naming the index and field; nothing is written."""
    cases = [
        ([OK, start("b", 3, "assembly", "HOU-ASM-03", "2026-11-29T08:00:00")], "[1]", "at"),
        ([OK, ev("b", "step_paused", order="SO-1002")], "[1]", ""),
        ([OK, {**start("b", 3, "assembly", "HOU-ASM-03", "2026-11-29T08:00:00Z"),
               "operator": "x"}], "[1]", "operator"),
        ([OK, start("b", 0, "assembly", "HOU-ASM-03", "2026-11-29T08:00:00Z")], "[1]", "unit"),
    ]
    for batch, index, field in cases:
        body = problem(client.post("/events", json=batch), 422)
        assert any(e["field"].startswith(index) and field in e["field"]
                   for e in body["errors"]), body
    assert client.get("/events").json()["total"] == 0


def test_order_within_a_batch(client: Any) -> None:
    """Events apply in list order: start-then-complete is accepted, complete-then-start is
    refused at the completion, and a unit can run its whole routing in one batch."""
    r = client.post("/events", json=[done("b", 1, "assembly", "2026-11-29T10:00:00Z"),
                                      start("a", 1, "assembly", "HOU-ASM-01",
                                            "2026-11-29T08:00:00Z")])
    assert problem(r, 422)["errors"][0]["index"] == 0
    r = client.post("/events", json=[
        start("a", 1, "assembly", "HOU-ASM-01", "2026-11-29T01:00:00Z"),
        done("b", 1, "assembly", "2026-11-29T09:00:00Z"),
        start("c", 1, "test", "HOU-TST-01", "2026-11-29T09:00:00Z"),
        done("d", 1, "test", "2026-11-29T13:00:00Z"),
        start("e", 1, "burn_in", "HOU-BIL-02", "2026-11-29T13:30:00Z"),
    ])
    assert r.status_code == 200, r.text
    assert [s["state"] for s in steps(client).values()] == ["done", "done", "running"]
    assert steps(client)["burn_in"]["resource"] == "HOU-BIL-02"


def test_downtime_windows(client: Any, db_url: str) -> None:
    """resource_down opens a window, a second down while down is refused, resource_up
    closes it; a stated end needs no up."""
    r = client.post("/events", json=[
        ev("d1", "resource_down", resource="HOU-TST-01", start="2026-11-29T10:00:00Z"),
        ev("d2", "resource_down", resource="HOU-ASM-01", start="2026-11-29T11:00:00Z",
           end="2026-11-29T15:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    r = client.post("/events", json=[ev("d3", "resource_down", resource="HOU-TST-01",
                                         start="2026-11-29T12:00:00Z")])
    assert "already down since 2026-11-29T10:00:00Z" in problem(r, 422)["errors"][0]["message"]
    r = client.post("/events", json=[
        ev("u1", "resource_up", resource="HOU-TST-01", at="2026-11-29T14:00:00Z"),
        ev("u2", "resource_up", resource="HOU-ASM-01", at="2026-11-29T16:00:00Z"),
    ])
    assert problem(r, 422)["errors"][0]["event_id"] == "u2"
    r = client.post("/events", json=[ev("u1", "resource_up", resource="HOU-TST-01",
                                        at="2026-11-29T14:00:00Z")])
    assert r.status_code == 200, r.text
    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as s:
            rows = s.scalars(select(ResourceDowntime).order_by(ResourceDowntime.id)).all()
            got = [(d.resource, d.start, d.end) for d in rows]
    finally:
        engine.dispose()
    assert got == [("HOU-TST-01", "2026-11-29T10:00:00Z", "2026-11-29T14:00:00Z"),
                   ("HOU-ASM-01", "2026-11-29T11:00:00Z", "2026-11-29T15:00:00Z")]


def test_roles(make_client: Callable[..., AbstractContextManager[Any]]) -> None:
    """mes and planner may post events, a viewer may not (403) but may list them."""
    with make_client(api_keys=KEYS) as c:
        batch = [start("e1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z")]
        r = c.post("/events", json=batch, headers={"X-API-Key": VIEWER})
        assert problem(r, 403)["detail"] == "role 'viewer' may not events"
        assert c.post("/events", json=batch).status_code == 401
        assert c.post("/events", json=batch, headers={"X-API-Key": MES}).status_code == 200
        r = c.post("/events", json=[start("e2", 2, "assembly", "HOU-ASM-02",
                                          "2026-11-29T08:00:00Z")],
                   headers={"X-API-Key": PLANNER})
        assert r.status_code == 200, r.text
        r = c.get("/events", headers={"X-API-Key": VIEWER})
        assert r.json()["total"] == 2


def test_out_of_range_time_is_a_422(client: Any) -> None:
    """A time that leaves the calendar in UTC is a 422 naming its field, not a 500."""
    r = client.post("/events", json=[start("b", 1, "assembly", "HOU-ASM-01",
                                          "0001-01-01T00:00:00+01:00")])
    body = problem(r, 422)
    assert body["errors"][0]["field"].endswith(".at")
    assert "out of range" in body["errors"][0]["message"]


def down(event_id: str, resource: str, start_: str, end: str | None = None) -> dict[str, Any]:
    return ev(event_id, "resource_down", resource=resource, start=start_, end=end)


def up(event_id: str, resource: str, at: str) -> dict[str, Any]:
    return ev(event_id, "resource_up", resource=resource, at=at)


def test_no_start_on_a_resource_that_is_down(client: Any) -> None:
    """A start inside a stored downtime window (open, or before its end) is refused naming
    the event and `resource`, nothing of the batch written; before the window or from its
    end on (the end is exclusive) it is accepted."""
    r = client.post("/events", json=[
        down("d1", "HOU-ASM-03", "2026-11-29T10:00:00Z"),
        down("d2", "HOU-ASM-02", "2026-11-29T10:00:00Z", "2026-11-29T12:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    before = client.get("/orders/SO-1002").json()
    cases = [(start("b", 1, "assembly", "HOU-ASM-03", "2026-11-29T23:00:00Z"),
              "resource 'HOU-ASM-03' is down at 2026-11-29T23:00:00Z (reported down from "
              "2026-11-29T10:00:00Z, no resource_up since)"),
             (start("b", 1, "assembly", "HOU-ASM-02", "2026-11-29T10:00:00Z"),
              "resource 'HOU-ASM-02' is down at 2026-11-29T10:00:00Z (reported down from "
              "2026-11-29T10:00:00Z, until 2026-11-29T12:00:00Z)"),
             (start("b", 1, "assembly", "HOU-ASM-02", "2026-11-29T11:59:59Z"), "is down at")]
    for bad, words in cases:
        r = client.post("/events", json=[OK, bad])
        body = problem(r, 422)
        (err,) = body["errors"]
        assert (err["index"], err["event_id"], err["field"]) == (1, "b", "[1].resource"), body
        assert words in err["message"], body
        assert client.get("/events").json()["total"] == 2
        assert client.get("/orders/SO-1002").json() == before
    r = client.post("/events", json=[
        start("s1", 1, "assembly", "HOU-ASM-02", "2026-11-29T12:00:00Z"),
        start("s2", 2, "assembly", "HOU-ASM-03", "2026-11-29T09:59:00Z"),
    ])
    assert r.status_code == 200, r.text
    assert steps(client)["assembly"]["resource"] == "HOU-ASM-02"
    assert steps(client, unit=2)["assembly"]["state"] == "running"


def test_downtime_within_a_batch_applies_in_order(client: Any) -> None:
    """A down then a start on that resource in one batch is refused at the start; a down,
    an up, then a start after the up is accepted; so is a start before the down."""
    r = client.post("/events", json=[
        OK, down("d1", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        start("b", 1, "assembly", "HOU-ASM-01", "2026-11-29T09:00:00Z"),
    ])
    (err,) = problem(r, 422)["errors"]
    assert (err["index"], err["event_id"], err["field"]) == (2, "b", "[2].resource")
    assert client.get("/events").json()["total"] == 0
    r = client.post("/events", json=[
        down("d1", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        up("u1", "HOU-ASM-01", "2026-11-29T09:00:00Z"),
        start("s1", 1, "assembly", "HOU-ASM-01", "2026-11-29T09:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    assert steps(client)["assembly"]["state"] == "running"


def test_down_over_a_running_step_is_accepted(client: Any, db_url: str) -> None:
    """A resource going down while a step runs on it is a floor fact: accepted, the step
    stays running, and it may complete inside the window (completions ignore downtime). A
    late report of a window that began before a recorded start is accepted too."""
    r = client.post("/events", json=[
        start("s1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        start("s2", 2, "assembly", "HOU-ASM-02", "2026-11-29T08:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    r = client.post("/events", json=[
        down("d1", "HOU-ASM-01", "2026-11-29T09:00:00Z"),
        down("d2", "HOU-ASM-02", "2026-11-29T07:00:00Z", "2026-11-29T20:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    assert steps(client)["assembly"]["state"] == "running"
    assert steps(client, unit=2)["assembly"]["state"] == "running"
    r = client.post("/events", json=[done("c1", 1, "assembly", "2026-11-29T10:00:00Z"),
                                      done("c2", 2, "assembly", "2026-11-29T11:00:00Z")])
    assert r.status_code == 200, r.text
    assert steps(client)["assembly"]["completed_at"] == "2026-11-29T10:00:00Z"
    assert steps(client, unit=2)["assembly"]["state"] == "done"
    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as s:
            n = len(s.scalars(select(ResourceDowntime)).all())
    finally:
        engine.dispose()
    assert n == 2
