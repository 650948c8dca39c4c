"""Pins and drag-to-move on the Gantt page in real headless Chromium, served by the real
service (`rackplan serve`, which runs the repair jobs) on an SQLite file holding the sample
and a done plan of two of its orders (as tests/test_browser.py)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_browser
from test_browser import CHROMIUM, Served, wait_ready

from app.services.seed import SAMPLE
from solver.problem import load_problem
from solver.solve import SolveParams, solve
from solver.validate import validate

served = test_browser.served
browser = test_browser.browser
expected_http = test_browser.expected_http
page = test_browser.page

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; CI installs it)")

SHOTS = Path(__file__).resolve().parents[1] / "out"
STEP = "SO-1006/1/burn_in"  # GB300: burn-in chambers HOU-BIL-0x, PHX-BIL-01, CMH-BIL-01


@pytest.fixture(scope="module")
def solved() -> tuple[dict[str, Any], dict[str, Any]]:
    """The sample factory with two of its orders, and a 1-second plan of them."""
    problem = json.loads(SAMPLE.read_text(encoding="utf-8"))
    problem["orders"] = [o for o in problem["orders"] if o["id"] in ("SO-1006", "SO-1013")]
    return problem, solve(load_problem(problem), SolveParams(time_limit=1, workers=1))


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _bar(page: Any, item: str) -> dict[str, Any]:
    bar: dict[str, Any] = page.evaluate(
        "(id) => { const b = rackGantt.data.items.find((x) => x.id === id);"
        " return b && {group: b.group, start_min: b.start_min, end_min: b.end_min,"
        " box: rackGantt.barBox(id)}; }", item)
    assert bar and bar["box"], item
    return bar


def _drag(page: Any, bar: dict[str, Any], group: str, minutes: int,
          shot: str | None = None) -> list[Any]:
    """Drag `bar` onto `group`'s row, `minutes` later; where the ghost showed it would land
    (with `shot`, a screenshot of the drag before the drop)."""
    slot = page.evaluate(
        "([g, a, b]) => { const s = rackGantt.slotBox(g, a, b);"
        " const r = rackGantt.canvas.getBoundingClientRect();"
        " return s && {y: r.top + s.y + s.h / 2}; }", [group, bar["start_min"], bar["end_min"]])
    assert slot, group
    scale = page.evaluate("rackGantt.scale")
    x, y = bar["box"]["x"], bar["box"]["y"]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + minutes * scale, slot["y"], steps=6)
    landed: list[Any] = page.evaluate(
        "rackGantt.ghost && [rackGantt.ghost.group, rackGantt.ghost.start_min]")
    if shot is not None:
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / shot))
    page.mouse.up()
    return landed


def _open(page: Any, srv: Served, job: str) -> None:
    page.goto(f"{srv.base}/schedules/{job}/view")
    wait_ready(page)
    page.wait_for_selector('#pins-bar[data-ready="1"]', timeout=10000)


def test_a_refused_drag_names_the_rule(served: Served, page: Any,
                                       expected_http: list[tuple[int, str]]) -> None:
    """Alt+drag onto a chamber not qualified for the product: refused, the message says
    why; the plan on the page stays as it was."""
    expected_http.append((422, f"/schedules/{served.job_id}/moves"))
    _open(page, served, served.job_id)
    bar = _bar(page, STEP)
    page.keyboard.down("Alt")
    assert _drag(page, bar, "HOU-BIA-01", 0)[0] == "HOU-BIA-01"
    page.keyboard.up("Alt")
    msg = page.wait_for_selector("#move-refusal", timeout=20000)
    assert "rule 5: HOU-BIA-01 is not qualified for GB300-NVL72" in msg.inner_text()
    assert page.url.endswith(f"/schedules/{served.job_id}/view")
    assert _bar(page, STEP)["group"] == bar["group"]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "move-refused.png"))


def test_pin_then_an_accepted_drag(served: Served, page: Any) -> None:
    """Pin a step from its bar (the marker shows); in move mode drag it to another chamber
    a few hours later: the repaired plan opens with the bar where it was dropped, it passes
    the validator, and the pin followed the step."""
    _open(page, served, served.job_id)
    bar = _bar(page, STEP)
    page.mouse.click(bar["box"]["x"], bar["box"]["y"])
    page.wait_for_selector(f'#pin-panel[data-item="{STEP}"]', timeout=5000)
    page.fill("#pin-reason", "witness test")
    page.click("#pin-step")
    page.wait_for_selector('#pins-bar[data-pins="1"]', timeout=10000)
    page.wait_for_selector("#unpin-step", timeout=10000)
    pins = _get(f"{served.base}/pins")["items"]
    assert [(p["order"], p["op"], p["resource"], p["reason"]) for p in pins] == [
        ("SO-1006", "burn_in", bar["group"], "witness test")]
    target = next(g for g in ("HOU-BIL-01", "HOU-BIL-02") if g != bar["group"])
    page.click("#move-mode")
    bar = _bar(page, STEP)  # the step's panel above the chart moved it down
    group, start = _drag(page, bar, target, 240, shot="move-dragging.png")
    assert group == target
    page.wait_for_url(lambda u: served.job_id not in u, timeout=60000)
    wait_ready(page)
    page.wait_for_selector("#move-origin:not([hidden])", timeout=10000)
    new_id = page.url.rstrip("/").split("/")[-2]
    moved = _bar(page, STEP)
    assert (moved["group"], moved["start_min"]) == (target, start)
    job = _get(f"{served.base}/schedules/{new_id}")
    assert job["valid"] and job["params"]["move"]["from"] == served.job_id
    problem = _get(f"{served.base}/schedules/{new_id}/problem")
    assert validate(load_problem(problem), job["schedule"]) == []
    (pin,) = _get(f"{served.base}/pins")["items"]
    assert (pin["resource"], pin["reason"]) == (target, "witness test")
    page.mouse.click(moved["box"]["x"], moved["box"]["y"])
    page.wait_for_selector("#unpin-step", timeout=10000)
    page.click("#pin-count")
    item = page.wait_for_selector(f'#pin-list li[data-pin="{pin["id"]}"]', timeout=5000)
    assert f"{STEP} on {target}" in item.inner_text() and "witness test" in item.inner_text()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "move-accepted.png"))
