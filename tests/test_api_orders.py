"""`/orders`: idempotent batches, filters, pages, one order, cancellation (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.services.seed import sample_file

SAMPLE: list[dict[str, Any]] = json.loads(sample_file("sample.json").read_text())["orders"]
NEW = [
    {"id": "SO-2001", "customer": "acme", "product": "GB300-NVL72", "quantity": 4,
     "due": "2026-12-20T00:00:00Z", "release": "2026-12-02T00:00:00Z", "weight": 3,
     "destination": "us-west", "allowed_sites": ["HOU", "PHX"]},
    {"id": "SO-2002", "product": "NVSW-SPINE", "quantity": 2,
     "due": "2026-12-21T06:00:00-06:00"},
]


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()["items"]]


def test_post_creates_then_same_batch_changes_nothing(client: Any) -> None:
    """A batch creates its orders; the same batch again reports them unchanged and keeps
    their timestamps."""
    r = client.post("/orders", json=NEW)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": ["SO-2001", "SO-2002"], "updated": [], "unchanged": [],
                        "warnings": []}
    first = client.get("/orders/SO-2001").json()
    r = client.post("/orders", json=NEW)
    assert r.json() == {"created": [], "updated": [], "unchanged": ["SO-2001", "SO-2002"],
                        "warnings": []}
    assert client.get("/orders/SO-2001").json() == first


def test_stored_as_sent_in_utc(client: Any) -> None:
    """An order reads back with its fields as sent, times in UTC, defaults left out."""
    client.post("/orders", json=NEW)
    o = client.get("/orders/SO-2001").json()
    assert {k: o[k] for k in NEW[0]} == NEW[0]
    assert o["status"] == "open" and o["created_at"] == "2026-11-30T00:00:00Z"
    b = client.get("/orders/SO-2002").json()
    assert b["due"] == "2026-12-21T12:00:00Z"
    assert "weight" not in b or b["weight"] == 1


def test_post_updates_changed_orders(client: Any) -> None:
    """A changed order is updated, an equal one is left alone, a new one created."""
    client.post("/orders", json=NEW)
    changed = [{**NEW[0], "quantity": 6, "allowed_sites": None}, NEW[1],
               {**NEW[1], "id": "SO-2003"}]
    r = client.post("/orders", json=changed)
    assert r.json() == {"created": ["SO-2003"], "updated": ["SO-2001"],
                        "unchanged": ["SO-2002"], "warnings": []}
    o = client.get("/orders/SO-2001").json()
    assert o["quantity"] == 6 and o.get("allowed_sites") is None


def test_unknown_product_names_the_field(client: Any) -> None:
    """An unknown product is a 422 naming the order and field; nothing of the batch is
    written."""
    r = client.post("/orders", json=[NEW[0], {**NEW[1], "product": "GB999"}])
    body = problem(r, 422)
    assert body["errors"][0]["field"] == "[1].product"
    assert "GB999" in body["errors"][0]["message"]
    assert client.get("/orders/SO-2001").status_code == 404


def test_bad_fields_name_the_field(client: Any) -> None:
    """A time without offset, a zero quantity, an unknown site and a repeated id are each
    named."""
    r = client.post("/orders", json=[{**NEW[0], "due": "2026-12-20T00:00:00"}])
    assert problem(r, 422)["errors"][0]["field"] == "[0].due"
    r = client.post("/orders", json=[{**NEW[0], "quantity": 0}])
    assert problem(r, 422)["errors"][0]["field"] == "[0].quantity"
    r = client.post("/orders", json=[{**NEW[0], "allowed_sites": ["HOU", "MARS"]}])
    body = problem(r, 422)
    assert body["errors"][0]["field"] == "[0].allowed_sites" and "MARS" in body["detail"]
    r = client.post("/orders", json=[NEW[0], NEW[0]])
    assert problem(r, 422)["errors"][0]["field"] == "[1].id"
    r = client.post("/orders", json=[{**NEW[0], "colour": "red"}])
    assert problem(r, 422)["errors"][0]["field"] == "[0].colour"


def test_list_all_by_due_date(client: Any) -> None:
    """GET /orders lists the sample's orders by due date then id, with the total."""
    r = client.get("/orders", params={"limit": 1000})
    body = r.json()
    assert body["total"] == len(SAMPLE) and body["limit"] == 1000 and body["offset"] == 0
    expected = [o["id"] for o in sorted(SAMPLE, key=lambda o: (o["due"], o["id"]))]
    assert [o["id"] for o in body["items"]] == expected


def test_pagination(client: Any) -> None:
    """limit and offset walk the list in pages that join up to the whole list."""
    whole = ids(client.get("/orders", params={"limit": 1000}))
    pages = []
    for offset in range(0, len(whole), 10):
        r = client.get("/orders", params={"limit": 10, "offset": offset})
        assert r.json()["total"] == len(whole)
        pages += ids(r)
    assert pages == whole
    assert ids(client.get("/orders", params={"offset": 1000})) == []
    problem(client.get("/orders", params={"limit": 0}), 422)
    problem(client.get("/orders", params={"offset": -1}), 422)


def test_filters(client: Any) -> None:
    """status, product, customer and due before/after each filter the list."""
    def expect(pred: Any) -> list[str]:
        return [o["id"] for o in sorted(SAMPLE, key=lambda o: (o["due"], o["id"])) if pred(o)]

    def get(**params: Any) -> list[str]:
        return ids(client.get("/orders", params={"limit": 1000, **params}))

    assert get(product="NVSW-SPINE") == expect(lambda o: o["product"] == "NVSW-SPINE")
    assert get(customer="Stratus AI") == expect(lambda o: o["customer"] == "Stratus AI")
    cut = "2026-12-15T00:00:00Z"
    assert get(due_before=cut) == expect(lambda o: o["due"] < cut)
    assert get(due_after=cut) == expect(lambda o: o["due"] >= cut)
    assert get(due_after="2026-12-14T18:00:00-06:00") == expect(lambda o: o["due"] >= cut)
    assert get(product="GB200-NVL72", customer="Nimbus Cloud", due_before=cut) == expect(
        lambda o: o["product"] == "GB200-NVL72" and o["customer"] == "Nimbus Cloud"
        and o["due"] < cut)
    client.delete("/orders/SO-1001")
    assert get(status="cancelled") == ["SO-1001"]
    assert "SO-1001" not in get(status="open") and len(get(status="open")) == len(SAMPLE) - 1
    problem(client.get("/orders", params={"status": "lost"}), 422)


def test_naive_filter_time_refused(client: Any) -> None:
    """A due_before without an offset is a 422 naming the parameter."""
    body = problem(client.get("/orders", params={"due_before": "2026-12-15T00:00:00"}), 422)
    assert body["errors"][0]["field"] == "due_before"


def test_get_one_and_404(client: Any) -> None:
    """GET /orders/{id} gives the order; an unknown id is a 404 naming it."""
    o = client.get("/orders/SO-1005").json()
    assert o["id"] == "SO-1005" and o["allowed_sites"] == ["PHX"]
    body = problem(client.get("/orders/SO-9999"), 404)
    assert "SO-9999" in body["detail"]


def test_delete_cancels_and_resend_reopens(client: Any) -> None:
    """DELETE keeps the order marked cancelled (twice is harmless); sending it again
    reopens it; an unknown id is 404."""
    r = client.delete("/orders/SO-1002")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete("/orders/SO-1002").json()["status"] == "cancelled"
    assert client.get("/orders/SO-1002").json()["status"] == "cancelled"
    assert client.get("/orders", params={"limit": 1}).json()["total"] == len(SAMPLE)
    sample = next(o for o in SAMPLE if o["id"] == "SO-1002")
    r = client.post("/orders", json=[sample])
    assert r.json()["updated"] == ["SO-1002"]
    assert client.get("/orders/SO-1002").json()["status"] == "open"
    assert "SO-9999" in problem(client.delete("/orders/SO-9999"), 404)["detail"]


def test_overlong_text_refused(client: Any) -> None:
    """An id or customer longer than the database keeps (200 characters) is a 422 naming
    the field, on every backend, never a 500."""
    r = client.post("/orders", json=[{**NEW[0], "id": "X" * 201}])
    assert problem(r, 422)["errors"][0]["field"] == "[0].id"
    r = client.post("/orders", json=[{**NEW[0], "customer": "c" * 201}])
    assert problem(r, 422)["errors"][0]["field"] == "[0].customer"
    assert client.post("/orders", json=[{**NEW[0], "customer": "c" * 200}]).status_code == 200


def test_racing_batches_create_each_order_once(client: Any) -> None:
    """Two transactions sending the same new order at once: the second waits for the first
    and finds it unchanged (no duplicate-key failure), on SQLite and PostgreSQL."""
    import threading
    from datetime import UTC, datetime

    from app.db import transaction
    from app.services import orders as svc
    from solver.problem import Order as SpecOrder

    sessions = client.app.state.rackplan.sessions
    batch = [SpecOrder.model_validate(o) for o in NEW]
    now = datetime(2026, 11, 30, tzinfo=UTC)
    first_flushed, second_done = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def first() -> None:
        with transaction(sessions) as s:
            results["first"] = svc.upsert(s, batch, now)
            first_flushed.set()
            second_done.wait(timeout=1.0)  # the second must not finish while we hold on

    def second() -> None:
        first_flushed.wait(timeout=10)
        try:
            with transaction(sessions) as s:
                results["second"] = svc.upsert(s, batch, now)
        except Exception as exc:
            results["second"] = exc
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results["first"]["created"] == ["SO-2001", "SO-2002"]
    assert results["second"] == {"created": [], "updated": [], "unchanged": ["SO-2001",
                                                                             "SO-2002"]}


def started(event_id: str, order: str, unit: int, resource: str, at: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "step_started", "order": order, "unit": unit,
            "op": "assembly", "resource": resource, "at": at}


def test_list_shows_each_orders_progress(client: Any) -> None:
    """GET /orders gives each order's progress, the same as GET /orders/{id}: floor events
    show on their orders, every other unit is all pending, one entry per unit."""
    r = client.post("/events", json=[
        started("e1", "SO-1002", 1, "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        {"event_id": "e2", "type": "step_completed", "order": "SO-1002", "unit": 1,
         "op": "assembly", "at": "2026-11-29T16:00:00Z"},
        started("e3", "SO-1002", 3, "HOU-ASM-02", "2026-11-29T09:00:00Z"),
        started("e4", "SO-1007", 2, "HOU-ASM-03", "2026-11-29T10:00:00Z"),
    ])
    assert r.status_code == 200, r.text
    items = {o["id"]: o for o in client.get("/orders", params={"limit": 1000}).json()["items"]}
    assert set(items) == {o["id"] for o in SAMPLE}
    for oid in ("SO-1002", "SO-1007", "SO-1001"):
        assert items[oid]["progress"] == client.get(f"/orders/{oid}").json()["progress"]
    states = {oid: [[s["state"] for s in u["steps"]] for u in o["progress"]]
              for oid, o in items.items()}
    assert states["SO-1002"] == [["done", "pending", "pending"], ["pending"] * 3,
                                 ["running", "pending", "pending"], ["pending"] * 3]
    assert states["SO-1007"][1] == ["running", "pending", "pending"]
    assert items["SO-1007"]["progress"][1]["steps"][0]["resource"] == "HOU-ASM-03"
    quantity = {o["id"]: o["quantity"] for o in SAMPLE}
    for oid, units in states.items():
        assert len(units) == quantity[oid], oid
        if oid not in ("SO-1002", "SO-1007"):
            assert all(s == "pending" for u in units for s in u), oid
    page = client.get("/orders", params={"limit": 2, "product": "GB200-NVL72"}).json()
    assert all(len(o["progress"]) == o["quantity"] for o in page["items"])


def test_list_progress_reads_step_states_once(client: Any) -> None:
    """The list reads the floor state of a whole page in one query, not one per order."""
    client.post("/events", json=[started("e1", "SO-1002", 1, "HOU-ASM-01",
                                         "2026-11-29T08:00:00Z")])
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "step_states" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        r = client.get("/orders", params={"limit": 1000})
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert r.status_code == 200 and len(r.json()["items"]) == len(SAMPLE)
    assert len(seen) == 1, seen
