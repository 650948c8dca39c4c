"""A simulated day on the sample factory: plan and publish at midnight; by 10:00 the floor
has started a step late, completed others, a line goes down for four hours, an urgent
order arrives and an order is cancelled; the reschedule keeps every fact and every frozen
step, works around the downtime, plans the urgent order, drops the cancelled one and
says what moved."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from jobwait import wait
from test_api_reschedule import check_against_published, solve_and_publish

from app.clock import parse_stamp, stamp

MakeClient = Callable[..., AbstractContextManager[Any]]
MIDNIGHT = "2026-12-01T00:00:00Z"  # a Tuesday; the first sample orders are released then
TEN = "2026-12-01T10:00:00Z"
DOWN_UNTIL = "2026-12-01T14:00:00Z"
LATE_MIN = 90


def _t(text: str, minutes: int = 0) -> str:
    return stamp(parse_stamp(text) + timedelta(minutes=minutes))


def _first_ops(schedule: dict[str, Any], lo: str, hi: str) -> list[dict[str, Any]]:
    """Steps that open their unit's routing and start in [lo, hi), by start."""
    first: dict[tuple[str, int], dict[str, Any]] = {}
    for item in schedule["items"]:
        unit = (item["order"], item["unit"])
        if unit not in first or item["start"] < first[unit]["start"]:
            first[unit] = item
    return sorted((i for i in first.values() if lo <= i["start"] < hi),
                  key=lambda i: (i["start"], i["id"]))


def _floor_day(published: dict[str, Any]) -> dict[str, Any]:
    """What happens by 10:00, chosen from the published plan (it differs run to run)."""
    early = _first_ops(published, MIDNIGHT, _t(TEN, -4 * 60))
    done = next(i for i in early if i["end"] <= TEN)
    late = next(i for i in early if i["order"] != done["order"]
                and i["group"] != done["group"])
    busy = {done["group"], late["group"], done["order"], late["order"]}
    # a line with a step that would open a unit during the downtime
    hit = next(i for i in _first_ops(published, TEN, DOWN_UNTIL)
               if i["group"] not in busy and i["order"] not in busy)
    busy |= {hit["group"], hit["order"]}
    frozen_window = [i for i in published["items"] if TEN <= i["start"] < _t(TEN, 24 * 60)]
    cancelled = next(i["order"] for i in frozen_window if i["order"] not in busy)
    late_at = _t(late["start"], LATE_MIN)
    events = [
        {"event_id": "d1", "type": "step_started", "order": done["order"],
         "unit": done["unit"], "op": done["op"], "resource": done["group"],
         "at": done["start"]},
        {"event_id": "d2", "type": "step_completed", "order": done["order"],
         "unit": done["unit"], "op": done["op"], "at": done["end"]},
        {"event_id": "d3", "type": "step_started", "order": late["order"],
         "unit": late["unit"], "op": late["op"], "resource": late["group"], "at": late_at},
        {"event_id": "d4", "type": "resource_down", "resource": hit["group"],
         "start": TEN, "end": DOWN_UNTIL},
    ]
    return {"done": done, "late": late, "late_at": late_at, "down": hit["group"],
            "down_step": hit, "cancelled": cancelled, "events": events}


URGENT = {"id": "SO-URGENT", "customer": "Stratus AI", "product": "GB200-NVL72",
          "quantity": 1, "due": "2026-12-03T12:00:00Z", "weight": 5,
          "destination": "us-central"}


def test_a_day_on_the_floor(make_client: MakeClient) -> None:
    with make_client(now=MIDNIGHT) as c:
        published = solve_and_publish(c, limit=3)["schedule"]
    day = _floor_day(published)

    with make_client(now=TEN) as c:
        r = c.post("/events", json=day["events"])
        assert r.status_code == 200, r.text
        r = c.post("/orders", json=[URGENT])
        assert r.status_code == 200, r.text
        assert c.delete(f"/orders/{day['cancelled']}").status_code == 200
        r = c.post("/reschedule", json={"time_limit": 3})
        assert r.status_code == 202, r.text
        job = wait(c, r.json()["id"], timeout=120)
        assert job["status"] == "done" and job["valid"], job
        problem = c.get(f"/schedules/{job['id']}/problem").json()

    schedule = job["schedule"]
    section = schedule["reschedule"]
    # valid against the problem solved; frozen steps where published; nothing free before now
    fixed = check_against_published(job, problem, published, TEN)
    items = {i["id"]: i for i in schedule["items"]}

    # the floor's facts, exactly
    done, late = day["done"], day["late"]
    d = items[done["id"]]
    assert (d["group"], d["start"], d["end"]) == (done["group"], done["start"], done["end"])
    running = items[late["id"]]
    assert (running["group"], running["start"]) == (late["group"], day["late_at"])
    # running: fixed until start + duration (until now when it overran)
    assert running["end"] == max(
        _t(day["late_at"], _minutes(late["start"], late["end"])), TEN)
    assert {done["id"], late["id"]} <= fixed
    assert done["id"] not in section["kept"] and late["id"] not in section["kept"]

    # the down line runs nothing during its downtime
    on_down = [i for i in schedule["items"] if i["group"] == day["down"]]
    for i in on_down:
        assert i["end"] <= TEN or i["start"] >= DOWN_UNTIL, i
    reasons = {x["step"]: x["reason"] for x in section["released"]}
    why = reasons[day["down_step"]["id"]]
    assert why.startswith("rule 6:") and f"'{day['down']}'" in why and "downtime" in why, reasons

    # the cancelled order is gone, the urgent one planned in full
    assert not [i for i in schedule["items"] if i["order"] == day["cancelled"]]
    assert day["cancelled"] not in {o["id"] for o in schedule["orders"]}
    urgent = [i for i in schedule["items"] if i["order"] == "SO-URGENT"]
    assert sorted(i["op"] for i in urgent) == ["assembly", "burn_in", "test"]

    # the diff says what moved
    changes = {s["id"]: s for s in section["diff"]["steps"]}
    assert changes[late["id"]]["change"] == "time"
    assert changes[late["id"]]["shift_min"] == LATE_MIN
    assert changes[day["down_step"]["id"]]["change"] in ("time", "resource", "site")
    assert {changes[i["id"]]["change"] for i in urgent} == {"added"}
    gone = [s for s in changes.values() if s["order"] == day["cancelled"]]
    assert gone and {s["change"] for s in gone} == {"removed"}
    summary = section["diff"]["summary"]
    assert summary["steps_moved"] >= 2 and summary["steps_added"] == 3
    assert summary["steps_removed"] == len(gone)
    assert done["id"] not in changes  # it ran where and when it was planned


def _minutes(a: str, b: str) -> int:
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60)
