"""`app.services.pins.apply_pins`: the pins a problem keeps, and why each other one cannot
hold (no database: pins as rows not yet stored)."""

from __future__ import annotations

import json
from typing import Any

from app.services.pins import apply_pins
from app.services.seed import SAMPLE
from app.tables import Pin, PinKind
from solver.problem import load_problem

T0 = "2026-12-01T00:00:00Z"  # the sample's horizon start


def sample(*orders: str) -> dict[str, Any]:
    problem: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    problem["orders"] = [o for o in problem["orders"] if o["id"] in orders]
    return problem


def step(pid: int, order: str, unit: int, op: str, resource: str, start: str) -> Pin:
    return Pin(id=pid, kind=PinKind.STEP, order_id=order, unit=unit, op=op,
               resource=resource, start=start)


def site(pid: int, order: str, at: str) -> Pin:
    return Pin(id=pid, kind=PinKind.SITE, order_id=order, site=at)


def test_kept_pins_are_fixed_steps_and_allowed_sites() -> None:
    problem = sample("SO-1006", "SO-1008")
    out, report = apply_pins(problem, [
        site(1, "SO-1006", "CMH"),
        step(2, "SO-1006", 1, "burn_in", "CMH-BIL-01", "2026-12-03T12:00:00Z"),
    ])
    assert report == {"kept": [1, 2], "floor": [], "dropped": []}
    assert next(o for o in out["orders"] if o["id"] == "SO-1006")["allowed_sites"] == ["CMH"]
    assert out["fixed"] == [{"order": "SO-1006", "unit": 1, "op": "burn_in",
                             "resource": "CMH-BIL-01", "start": "2026-12-03T12:00:00Z",
                             "end": "2026-12-04T18:00:00Z"}]  # 1,800 min of burn-in
    load_problem(out)
    assert "fixed" not in problem  # the input is left as it was


def test_each_pin_that_cannot_hold_says_why() -> None:
    problem = sample("SO-1006", "SO-1008", "SO-1013")
    problem["fixed"] = [{"order": "SO-1013", "unit": 1, "op": "assembly",
                         "resource": "HOU-ASM-01", "start": T0,
                         "end": "2026-12-01T06:00:00Z"}]  # the floor's fact
    out, report = apply_pins(problem, [
        step(1, "SO-1013", 1, "assembly", "HOU-ASM-01", T0),  # what the floor did
        step(2, "SO-1008", 1, "assembly", "HOU-ASM-01", "2026-12-01T02:00:00Z"),
        step(3, "SO-1008", 2, "assembly", "HOU-ASM-09", "2026-12-02T00:00:00Z"),
        step(4, "SO-1008", 2, "burn_in", "HOU-BIL-01", "2026-12-01T01:00:00Z"),
        step(5, "SO-1006", 1, "test", "HOU-TST-01", "2026-11-30T00:00:00Z"),
        site(6, "SO-1006", "SJC"),
        step(7, "SO-9999", 1, "test", "HOU-TST-01", "2026-12-02T00:00:00Z"),
        step(8, "SO-1008", 3, "test", "HOU-TST-01", "2026-12-02T00:00:00Z"),
    ])
    why = {d["pin"]: d["reason"] for d in report["dropped"]}
    assert report["floor"] == [1] and report["kept"] == []
    assert why[2].startswith("rule 7: resource 'HOU-ASM-01' runs 2 steps"), why[2]
    assert why[3] == "resource 'HOU-ASM-09' does not exist"
    assert why[4] == (
        "rule 2: SO-1008/2/burn_in cannot start at 2026-12-01T01:00:00Z: from the plan's "
        "start at 2026-12-01T00:00:00Z, the steps before it need until 2026-12-01T13:00:00Z "
        "at the earliest")
    assert why[5].startswith("rule 3: 2026-11-30T00:00:00Z is before the plan's start")
    assert why[6] == "rule 5: no resource at site 'SJC' can run step 'assembly' of GB300-NVL72"
    assert why[7] == "order 'SO-9999' is not open (cancelled, or unknown)"
    assert why[8] == "order 'SO-1008' has 2 units, not 3"
    assert out["fixed"] == problem["fixed"]


def test_a_plan_of_some_orders_applies_only_their_pins() -> None:
    problem = sample("SO-1006", "SO-1008")
    _, report = apply_pins(problem, [site(1, "SO-1006", "CMH"), site(2, "SO-1013", "HOU")],
                           scope=["SO-1006", "SO-1008"])
    assert report == {"kept": [1], "floor": [], "dropped": []}
