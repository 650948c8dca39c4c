"""Hostile values: times far from now, sizes without bounds, strings that cannot be stored or
read back, lists past the databases' parameter limits (SQLite and PostgreSQL).

Each case asserts the clear 4xx naming the field at fault, that nothing was written (the
state read back is as before), and that the service still answers for everyone after it
(`/readyz`, and the reads a poisoned row used to break).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, insert

from app.supervisor import JobRunner
from app.tables import Order
from solver.cli import main

Client = Any
ORDER = {"id": "SO-9001", "product": "GB300-NVL72", "quantity": 2,
         "due": "2026-12-20T00:00:00Z"}
GOOD = {**ORDER, "id": "SO-9000"}
TINY_FACTORY = {"sites": [{"id": "S"}], "resources": [{"id": "R", "site": "S", "kind": "k"}],
                "products": [{"id": "P", "routing": [{"op": "o", "kind": "k",
                                                      "duration_min": 1}]}]}


def refused(r: Any, field: str, status: int = 422) -> dict[str, Any]:
    """The problem+json answer of a refusal whose faults name `field`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    fields = [e.get("field") for e in body.get("errors", [])]
    assert field in fields or field in body["detail"], (field, body)
    return body


def state(c: Client) -> dict[str, Any]:
    """What the service holds, as its reads give it (each read answering 200)."""
    reads = {"orders": "/orders?limit=1000", "factory": "/factory", "events": "/events",
             "jobs": "/schedules"}
    out: dict[str, Any] = {}
    for name, url in reads.items():
        r = c.get(url)
        assert r.status_code == 200, (url, r.text)
        out[name] = r.json()
    assert c.get("/readyz").status_code == 200
    return out


def raw(c: Client, method: str, url: str, body: Any) -> Any:
    """Send `body` as JSON text with every non-ASCII character escaped, so that a lone
    surrogate goes over the wire as `\\ud800` (what a hostile client sends)."""
    return c.request(method, url, content=json.dumps(body).encode("ascii"),
                     headers={"content-type": "application/json"})


@pytest.fixture
def quiet_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """No solve process starts: the jobs a test queues stay queued."""
    monkeypatch.setattr(JobRunner, "start", lambda self: None)
    monkeypatch.setattr(JobRunner, "wake", lambda self: None)
    monkeypatch.setattr(JobRunner, "stop", lambda self, grace=5.0: [])


# ---- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize("due", ["9999-12-31T00:00:00Z", "2500-01-01T00:00:00Z",
                                 "0999-06-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                 "9999-12-31T23:59:59-14:00"])
def test_order_due_out_of_window_is_refused(client: Client, due: str) -> None:
    """A due date far from now is a 422 naming `[1].due`; the batch's good order is not
    written either, and the order reads keep answering."""
    before = state(client)
    body = refused(client.post("/orders", json=[GOOD, {**ORDER, "due": due}]), "[1].due")
    assert "out of range" in body["errors"][0]["message"]
    assert client.get(f"/orders/{GOOD['id']}").status_code == 404
    assert state(client) == before


def test_order_release_out_of_window_is_refused(client: Client) -> None:
    """A release in year 1 is a 422 naming `[0].release`; nothing is written."""
    before = state(client)
    refused(client.post("/orders", json=[{**ORDER, "release": "0001-01-01T00:00:00Z"}]),
            "[0].release")
    assert state(client) == before


@pytest.mark.parametrize(("event", "field"), [
    ({"type": "resource_down", "resource": "HOU-ASM-01", "start": "0001-01-01T00:00:00Z"},
     "[0].start"),
    ({"type": "resource_down", "resource": "HOU-ASM-01", "start": "2026-11-29T00:00:00Z",
      "end": "9999-12-31T00:00:00Z"}, "[0].end"),
    ({"type": "order_released", "order": "SO-1001", "at": "1900-01-01T00:00:00+14:00"},
     "[0].at"),
])
def test_event_time_out_of_window_is_refused(
    client: Client, event: dict[str, Any], field: str
) -> None:
    """A floor event at a time far from now is a 422 naming the field; no event and no
    downtime is stored, and every solve can still be queued."""
    before = state(client)
    refused(client.post("/events", json=[{"event_id": "e-1", **event}]), field)
    assert state(client) == before
    r = client.post("/schedules", json={"time_limit": 1})
    assert r.status_code == 202, r.text


def test_time_window_is_a_setting(make_client: Callable[..., AbstractContextManager[Any]]
                                  ) -> None:
    """`RACKPLAN_TIME_WINDOW_DAYS` narrows the window: at 30 days an order due in 40 is
    refused, one due in 20 is kept."""
    with make_client(time_window_days=30) as c:  # now is 2026-11-30
        before = state(c)
        refused(c.post("/orders", json=[{**ORDER, "due": "2027-01-09T00:00:00Z"}]), "[0].due")
        assert state(c) == before
        assert c.post("/orders", json=[{**ORDER, "due": "2026-12-20T00:00:00Z"}]).status_code \
            == 200


def test_times_are_stored_in_one_form(client: Client) -> None:
    """Times with an offset are stored and read back in UTC, zero-padded, with `Z`."""
    r = client.post("/events", json=[{"event_id": "e-1", "type": "resource_down",
                                      "resource": "HOU-ASM-01",
                                      "start": "2026-11-29T12:00:00-06:00"}])
    assert r.status_code == 200, r.text
    assert client.get("/events").json()["items"][0]["payload"]["start"] == \
        "2026-11-29T18:00:00Z"
    f = client.get("/factory").json()
    factory = {k: f[k] for k in ("sites", "resources", "products")}
    factory["resources"][0]["downtime"] = [{"start": "2026-12-05T00:00:00-06:00",
                                            "end": "2026-12-05T10:00:00+02:00"}]
    assert client.put("/factory", json=factory).status_code == 201
    assert client.get("/factory").json()["resources"][0]["downtime"] == [
        {"start": "2026-12-05T06:00:00Z", "end": "2026-12-05T08:00:00Z"}]


@pytest.mark.parametrize(("where", "value"), [
    ("downtime", [{"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}]),
    ("holidays", ["9999-12-25"]),
])
def test_factory_time_out_of_window_is_refused(client: Client, where: str, value: Any) -> None:
    """Factory downtime in year 1 or a holiday in 9999 is a 422 naming the field; the
    factory version stays."""
    before = state(client)
    f = before["factory"]
    factory = {k: json.loads(json.dumps(f[k])) for k in ("sites", "resources", "products")}
    if where == "downtime":
        factory["resources"][0]["downtime"] = value
        field = "resources[0]"
    else:
        factory["sites"][0]["holidays"] = value
        field = "sites[0]"
    body = refused(client.put("/factory", json=factory), field)
    assert f"{where}[0]" in body["detail"] and "out of range" in body["detail"]
    assert state(client) == before


def test_horizon_start_out_of_window_is_refused(client: Client) -> None:
    """`horizon_start` in year 1 is a 422 naming it; no job is queued."""
    before = state(client)
    refused(client.post("/schedules", json={"horizon_start": "0001-01-01T00:00:00Z"}),
            "horizon_start")
    assert state(client) == before


@pytest.mark.parametrize(("url", "field"), [
    ("/orders?due_before=0001-01-01T00:00:00%2B14:00", "due_before"),
    ("/orders?due_after=9999-12-31T23:59:59-14:00", "due_after"),
    ("/schedules/0/gantt?from=0001-01-01T00:00:00Z", "from"),
    ("/orders?customer=a%00b", "customer"),
    (f"/orders?product={'P' * 201}", "product"),
])
def test_filter_out_of_range_is_refused(client: Client, url: str, field: str) -> None:
    """A time filter far from now, a NUL or an over-long text in a filter is a 422 naming
    the query field."""
    refused(client.get(url), field)
    state(client)


# ---- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [1_001, 2**31 - 1, 10**26])
def test_quantity_above_the_limit_is_refused(client: Client, quantity: int) -> None:
    """More racks than an order may have is a 422 naming `[0].quantity`."""
    before = state(client)
    body = refused(client.post("/orders", json=[{**ORDER, "quantity": quantity}]),
                   "[0].quantity")
    assert "1000 per order" in body["detail"]
    assert state(client) == before


def test_quantity_limit_is_a_setting(make_client: Callable[..., AbstractContextManager[Any]]
                                     ) -> None:
    """`RACKPLAN_MAX_QUANTITY` lowers the limit: 11 racks is refused at 10."""
    with make_client(max_quantity=10) as c:
        before = state(c)
        refused(c.post("/orders", json=[{**ORDER, "quantity": 11}]), "[0].quantity")
        assert state(c) == before
        assert c.post("/orders", json=[{**ORDER, "quantity": 10}]).status_code == 200


@pytest.mark.parametrize(("cell", "column"), [
    ("SO-9001,GB300-NVL72,1001,2026-12-20", "quantity"),
    ("SO-9001,GB300-NVL72,2147483647,2026-12-20", "quantity"),
    ("SO-9001,GB300-NVL72,1,9999-12-31", "due"),
    ("SO-9001,GB300-NVL72,1,0001-01-01T00:00:00+14:00", "due"),
])
def test_order_file_out_of_limits_is_refused(client: Client, cell: str, column: str) -> None:
    """An order file's row out of limits is a 422 naming the row and column; nothing is
    written."""
    before = state(client)
    content = f"id,product,quantity,due\nSO-9000,GB300-NVL72,1,2026-12-20\n{cell}\n"
    r = client.post("/orders/upload", files={"file": ("o.csv", content, "text/csv")})
    assert r.status_code == 422, r.text
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(3, column)]
    assert state(client) == before


def test_workers_above_the_machine_are_refused(
    make_client: Callable[..., AbstractContextManager[Any]]
) -> None:
    """`workers` above `RACKPLAN_MAX_WORKERS` is a 422 naming it, for a solve and a
    reschedule; no job is queued."""
    with make_client(max_workers=2) as c:
        before = state(c)
        refused(c.post("/schedules", json={"workers": 64}), "workers")
        refused(c.post("/reschedule", json={"workers": 3}), "workers")
        assert state(c) == before


@pytest.mark.parametrize("url", ["/schedules?offset=100000000000000000000",
                                 "/orders?offset=100000000000000000000",
                                 "/events?offset=100000000000000000000",
                                 "/schedules?limit=100000000000000000000"])
def test_paging_out_of_range_is_refused(client: Client, url: str) -> None:
    """An offset or limit past what the databases hold is a 422 naming it."""
    refused(client.get(url), url.split("?")[1].split("=")[0])
    state(client)


@pytest.mark.parametrize("url", ["/orders", "/events"])
def test_oversized_batch_is_refused_before_its_items(client: Client, url: str) -> None:
    """A batch of more items than a batch may hold is a 422 on its length alone, however
    bad each item is (the answer stays small); nothing is written."""
    before = state(client)
    body = refused(client.post(url, content=b"[" + b",".join([b"{}"] * 50_001) + b"]",
                               headers={"content-type": "application/json"}), "body")
    assert len(body["errors"]) == 1 and "50000" in body["errors"][0]["message"]
    assert state(client) == before


def test_error_lists_are_capped(client: Client) -> None:
    """A batch with 500 bad orders lists the first 100 faults and counts all 500."""
    before = state(client)
    bad = [{**ORDER, "id": f"SO-{i}", "quantity": 0} for i in range(500)]
    body = refused(client.post("/orders", json=bad), "[0].quantity")
    assert len(body["errors"]) == 100 and body["error_count"] == 500
    assert "500 faults" in body["detail"]
    assert state(client) == before


def test_order_file_fault_lists_are_capped(client: Client) -> None:
    """An order file with 300 bad rows lists the first 100 faults by row and counts all
    300; nothing is written."""
    before = state(client)
    content = "id,product,quantity,due\n" + "".join(
        f"SO-{i},GB300-NVL72,0,2026-12-20\n" for i in range(300))
    r = client.post("/orders/upload", files={"file": ("o.csv", content, "text/csv")})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error_count"] == 300
    assert [e["row"] for e in body["errors"]] == list(range(2, 102))
    assert "300 faults" in body["detail"]
    assert state(client) == before


def test_fault_list_length_is_a_setting(
    make_client: Callable[..., AbstractContextManager[Any]]
) -> None:
    """`RACKPLAN_MAX_FAULTS` sets how many faults an answer lists."""
    with make_client(max_faults=5) as c:
        bad = [{**ORDER, "id": f"SO-{i}", "quantity": 0} for i in range(20)]
        body = refused(c.post("/orders", json=bad), "[0].quantity")
        assert len(body["errors"]) == 5 and body["error_count"] == 20


# ---- strings -------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("customer", "Houston\ud800"), ("customer", "a\x00b"), ("destination", "us-west\udfff"),
    ("customer", "x" * 201), ("id", "SO-\ud800"),
])
def test_order_text_that_cannot_be_stored_is_refused(
    client: Client, field: str, value: str
) -> None:
    """A lone surrogate, a NUL or an over-long text in an order is a 422 naming the field;
    nothing is written and the order reads keep answering."""
    before = state(client)
    refused(raw(client, "POST", "/orders", [{**ORDER, field: value}]), f"[0].{field}")
    assert state(client) == before


@pytest.mark.parametrize("name", ["Houston\ud800", "Hou\nston", "H" * 201])
def test_factory_text_that_cannot_be_stored_is_refused(client: Client, name: str) -> None:
    """A site name with a lone surrogate, a control character or over 200 characters is a
    422 naming `sites[0].name`; `GET /factory` answers as before."""
    before = state(client)
    f = before["factory"]
    factory = {k: json.loads(json.dumps(f[k])) for k in ("sites", "resources", "products")}
    factory["sites"][0]["name"] = name
    refused(raw(client, "PUT", "/factory", factory), "sites[0].name")
    assert state(client) == before


def test_event_and_solve_text_that_cannot_be_stored_is_refused(client: Client) -> None:
    """A lone surrogate in an event's resource or a solve's name and order ids is a 422
    naming the field; nothing is stored or queued."""
    before = state(client)
    refused(raw(client, "POST", "/events", [{
        "event_id": "e-1", "type": "resource_down", "resource": "HOU-ASM-01\ud800",
        "start": "2026-11-29T00:00:00Z"}]), "[0].resource")
    refused(raw(client, "POST", "/schedules", {"name": "plan\ud800"}), "name")
    refused(raw(client, "POST", "/schedules", {"orders": ["SO-1001\ud800"]}), "orders[0]")
    assert state(client) == before


@pytest.mark.parametrize("order_id", ["A/B", "..", ".", "A\\B"])
def test_order_id_that_cannot_be_read_back_is_refused(client: Client, order_id: str) -> None:
    """An order id with '/' or '\\', or a dot segment, cannot be read back at
    `/orders/{id}`: a 422 naming `[0].id`; nothing is written."""
    before = state(client)
    refused(client.post("/orders", json=[{**ORDER, "id": order_id}]), "[0].id")
    assert state(client) == before


def test_order_id_with_url_characters_reads_back(client: Client) -> None:
    """An id with characters a URL escapes (space, ?, #, %, +, non-ASCII) is kept: it
    reads back and cancels at its escaped URL."""
    order_id = "SO 9?#%+é&"
    assert client.post("/orders", json=[{**ORDER, "id": order_id}]).status_code == 200
    url = f"/orders/{quote(order_id, safe='')}"
    assert client.get(url).json()["id"] == order_id
    assert client.delete(url).json()["status"] == "cancelled"


# ---- PostgreSQL's 65,535 parameters --------------------------------------------------------


def test_solve_of_70000_orders_past_the_parameter_limit(
    make_client: Callable[..., AbstractContextManager[Any]], db_url: str, quiet_runner: None
) -> None:
    """A solve naming 70,000 open orders is queued (the order, floor-state and release
    lookups go in slices; the floor-state ones are those of a solve of all open orders)."""
    with make_client(load_sample=False) as c:  # a one-step factory: cheap to check
        assert c.put("/factory", json=TINY_FACTORY).status_code == 201
        ids = [f"X{i:05d}" for i in range(70_000)]
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(insert(Order), [
                {"id": i, "product": "P", "quantity": 1, "due": "2026-12-20T00:00:00Z",
                 "weight": 1.0, "status": "open", "created_at": "2026-11-30T00:00:00Z",
                 "updated_at": "2026-11-30T00:00:00Z"} for i in ids])
        engine.dispose()
        r = c.post("/schedules", json={"orders": ids, "time_limit": 1})
        assert r.status_code == 202, r.text[:500]
        assert len(r.json()["params"]["orders"]) == 70_000
        assert c.get("/readyz").status_code == 200


# ---- the command line ----------------------------------------------------------------------


def _sample(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = json.loads((Path(__file__).parents[1] / "app/sample/sample.json").read_text())
    change(data)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("change", "named"), [
    (lambda d: d["orders"][0].update(due="9999-12-31T00:00:00Z"), "orders[0]"),
    (lambda d: d["orders"][0].update(quantity=2**31 - 1), "quantity"),
    (lambda d: d["orders"][0].update(customer="acme\ud800"), "customer"),
    (lambda d: d["resources"][0].update(
        downtime=[{"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}]),
     "downtime[0].start"),
    (lambda d: d.update(horizon_start="0001-01-01T00:00:00Z"), "horizon_start"),
])
@pytest.mark.parametrize("command", ["solve", "validate"])
def test_cli_refuses_hostile_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, Any]], None],
    named: str, command: str,
) -> None:
    """`rackplan solve` and `validate` answer a due date in 9999, 2^31-1 racks, a lone
    surrogate, downtime in year 1 or a horizon in year 1 with exit 2 and a line naming the
    field, never a traceback."""
    path = _sample(tmp_path, change)
    argv = ["solve", str(path), "--time-limit", "1", "--quiet"] if command == "solve" else [
        "validate", str(path), str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and "rackplan: error:" in err and "Traceback" not in err
