"""Every fault at once: the problem model, the API and the CLI name the faults of every
layer (shape, references, calendars and limits) in one answer; an events batch names
every bad event and writes nothing; a fast MES clock within the skew tolerance is now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_api_events import start
from test_api_factory import factory

from solver.cli import main as solver_main

SAMPLE = Path(__file__).parents[1] / "app/sample/sample.json"


def three_layers(data: dict[str, Any]) -> dict[str, Any]:
    """A shift at 25:00 (shape), a resource at an unknown site (references), a downtime
    ending before it starts (calendars) and a holiday a century away (limits)."""
    data["sites"][0]["shifts"] = [{"days": ["mon"], "start": "25:00", "end": "06:00"}]
    data["resources"][0]["site"] = "ATLANTIS"
    data["resources"][1]["downtime"] = [{"start": "2026-12-03T08:00:00Z",
                                         "end": "2026-12-03T00:00:00Z"}]
    data["sites"][1]["holidays"] = ["2126-12-25"]
    return data


def _layers(messages: list[str]) -> None:
    for words in ("is not a time of day", "site 'ATLANTIS' is not a site",
                  "downtime ends at or before it starts", "2126-12-25 is out of range"):
        assert any(words in m for m in messages), (words, messages)


def test_cli_names_every_layer_at_once(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`rackplan solve` on a problem with faults in every layer: exit 2, all of them."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps(three_layers(json.loads(SAMPLE.read_text()))))
    assert solver_main(["solve", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    _layers(err.splitlines())
    assert "Traceback" not in err


def test_api_names_every_layer_at_once(client: Any) -> None:
    """PUT /factory with faults in every layer: one 422 naming all, each with its field
    (and id where there is one); nothing written."""
    before = client.get("/factory").json()["version"]
    r = client.put("/factory", json=three_layers(factory(client)))
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    _layers([e["message"] for e in errors])
    assert all("field" in e for e in errors), errors
    assert {"id": "HOU", "field": "sites[0].shifts[0].start"}.items() <= next(
        e for e in errors if "time of day" in e["message"]).items()
    assert client.get("/factory").json()["version"] == before


def test_an_order_batch_names_every_layer_at_once(client: Any) -> None:
    """POST /orders with a bad quantity (shape), a due date far away (limits) and an
    unknown product and site (the factory): one 422 naming all four; nothing stored."""
    batch = [
        {"id": "N-1", "product": "GB200-NVL72", "quantity": 0, "due": "2026-12-20T00:00:00Z"},
        {"id": "N-2", "product": "GB200-NVL72", "quantity": 1, "due": "2099-12-20T00:00:00Z"},
        {"id": "N-3", "product": "NOPE", "quantity": 1, "due": "2026-12-20T00:00:00Z",
         "allowed_sites": ["MARS"]},
    ]
    r = client.post("/orders", json=batch)
    assert r.status_code == 422, r.text
    got = {(e.get("id"), e["field"]) for e in r.json()["errors"]}
    assert got == {("N-1", "[0].quantity"), ("N-2", "[1].due"), ("N-3", "[2].product"),
                   ("N-3", "[2].allowed_sites")}, got
    assert all(client.get(f"/orders/{o['id']}").status_code == 404 for o in batch)


def test_an_events_batch_names_every_bad_event(client: Any) -> None:
    """Three bad events among good ones: 422 with three faults (index, event id, field),
    and nothing written, not even the good ones."""
    batch = [
        start("g1", 1, "assembly", "HOU-ASM-01", "2026-11-29T08:00:00Z"),
        start("b1", 1, "assembly", "NOPE-1", "2026-11-29T08:00:00Z", order="SO-1003"),
        start("b2", 9, "assembly", "HOU-ASM-02", "2026-11-29T08:00:00Z"),
        start("g2", 2, "assembly", "HOU-ASM-02", "2026-11-29T08:00:00Z"),
        start("b3", 3, "assembly", "HOU-ASM-03", "2036-11-29T08:00:00Z"),
    ]
    r = client.post("/events", json=batch)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["index"], e["event_id"]) for e in errors] == [(1, "b1"), (2, "b2"), (4, "b3")]
    assert [e["field"] for e in errors] == ["[1].resource", "[2].unit", "[4].at"], errors
    assert client.get("/events").json()["total"] == 0
    assert "(and 2 more)" in r.json()["detail"]


def test_clock_skew_tolerance(make_client: Any) -> None:
    """A time within RACKPLAN_CLOCK_SKEW_SECONDS ahead of now is taken as now; beyond it
    is refused as in the future."""
    with make_client(clock_skew_seconds=60) as c:
        ahead = start("s1", 1, "assembly", "HOU-ASM-01", "2026-11-30T00:00:30Z")
        r = c.post("/events", json=[ahead])
        assert r.status_code == 200, r.text
        unit = c.get("/orders/SO-1002").json()["progress"][0]["steps"][0]
        assert unit["started_at"] == "2026-11-30T00:00:00Z"
        late = start("s2", 2, "assembly", "HOU-ASM-02", "2026-11-30T00:01:01Z")
        r = c.post("/events", json=[late])
        assert r.status_code == 422
        assert "in the future" in r.json()["errors"][0]["message"]
