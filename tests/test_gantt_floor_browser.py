"""The floor's truth on the Gantt page in real headless Chromium, served by `rackplan
serve`: the now line and the frozen window, running, done and fixed steps drawn apart,
colour by customer and slack with its legend, the per-site power rows, the utilisation
in the row labels, weighted tardiness in weighted minutes, and another plan's bars as
ghosts. The database holds the sample planned and published at 00:00, floor events up to
06:00 (steps done and running) and a reschedule made at 06:00; the page's clock is 09:00."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import test_browser
from fastapi.testclient import TestClient
from jobwait import wait
from test_browser import CHROMIUM, ROOT, _free_port, attr, css_rgb, pixel_at, wait_ready

from app.config import Settings
from app.main import create_app

PLANNED = "2026-12-01T00:00:00Z"
LATER = "2026-12-01T06:00:00Z"
NOW = "2026-12-01T09:00:00Z"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")

# the Gantt page tests' headless Chromium and their checked page (no console error, no
# unexpected error answer)
browser = test_browser.browser
expected_http = test_browser.expected_http
page = test_browser.page


@dataclass
class Floor:
    base: str
    published: dict[str, Any]
    reschedule: dict[str, Any]


def _client(url: str, now: str) -> TestClient:
    return TestClient(create_app(Settings(  # type: ignore[arg-type]
        database_url=url, now=now, log_json=False, plan_sample=False)))


def _prepare(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan and publish at 00:00; by 06:00 the first three steps started are done (at
    04:00) and the others that started run; a reschedule at 06:00."""
    with _client(url, PLANNED) as c:
        r = c.post("/schedules", json={"time_limit": 1, "workers": 1})
        published = wait(c, r.json()["id"], timeout=120)
        assert c.post(f"/schedules/{published['id']}/publish").status_code == 200
    events: list[dict[str, Any]] = []
    started = sorted((i for i in published["schedule"]["items"] if i["start_min"] < 300),
                     key=lambda i: (i["start_min"], i["id"]))
    for n, it in enumerate(started):
        key = {"order": it["order"], "unit": it["unit"], "op": it["op"]}
        events.append({"event_id": f"s{n}", "type": "step_started", **key,
                       "resource": it["group"], "at": it["start"]})
        if n < 3:
            events.append({"event_id": f"c{n}", "type": "step_completed", **key,
                           "at": "2026-12-01T04:00:00Z"})
    with _client(url, LATER) as c:
        r = c.post("/events", json=events)
        assert r.status_code == 200, r.text
        r = c.post("/reschedule", json={"time_limit": 1, "workers": 1, "seed": 1})
        job = wait(c, r.json()["id"], timeout=120)
        assert job["status"] == "done" and job["valid"], job
    return published, job


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floor]:
    folder = tmp_path_factory.mktemp("floor")
    url = f"sqlite:///{folder / 'rackplan.db'}"
    published, job = _prepare(url)
    port = _free_port()
    env = {**os.environ, "RACKPLAN_DATABASE_URL": url, "RACKPLAN_NOW": NOW,
           "RACKPLAN_API_KEYS": "", "RACKPLAN_LOG_JSON": "false",
           "RACKPLAN_PLAN_SAMPLE": "false"}
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
             "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("the service did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield Floor(base, published, job)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def open_view(page: Any, floor: Floor, job: dict[str, Any]) -> None:
    page.goto(f"{floor.base}/schedules/{job['id']}/view")
    wait_ready(page)


def show(page: Any, a: float, b: float) -> None:
    """Show minutes [a, b) of the chart and wait for the frame."""
    page.evaluate("([a, b]) => { rackGantt.scale = rackGantt.chartW / (b - a); "
                  "rackGantt.t0 = a; rackGantt.clamp(); rackGantt.draw(); }", [a, b])
    page.wait_for_function("() => rackGantt.frame === 0")


def blend(page: Any, under: str, over: str) -> list[int]:
    """`over` painted on `under`, as the canvas stores it."""
    return list(page.evaluate("""([a, b]) => {
        const c = document.createElement('canvas'); c.width = c.height = 1;
        const g = c.getContext('2d'); g.fillStyle = a; g.fillRect(0, 0, 1, 1);
        g.fillStyle = b; g.fillRect(0, 0, 1, 1);
        return Array.from(g.getImageData(0, 0, 1, 1).data);
    }""", [under, over]))


def clear_spot(box: dict[str, float]) -> tuple[float, float]:
    """A point inside a bar's box clear of its label and outline: near its bottom right."""
    return box["x"] + box["width"] / 2 - 4, box["y"] + box["height"] / 2 - 3


def test_now_line_and_frozen_window(floor: Floor, page: Any, tmp_path: Path) -> None:
    """The now line stands at the service's 09:00 in every row; the frozen window (the
    default 24 hours) is the strip along the axis from now on and its far edge is
    dashed; the page says how long the window is."""
    open_view(page, floor, floor.published)
    data = page.evaluate("({ now: rackGantt.data.now_min, f: rackGantt.data.frozen })")
    assert data["now"] == 540 and data["f"]["end_min"] - data["f"]["start_min"] == 1440
    show(page, 0, 3 * 1440)
    page.screenshot(path=str(tmp_path / "now-frozen.png"))
    box = page.evaluate("rackGantt.nowBox()")
    assert box is not None
    x_now = page.evaluate("rackGantt.xOf(rackGantt.nowMin())")
    assert abs(box["x"] - page.evaluate(
        "rackGantt.canvas.getBoundingClientRect().left") - x_now) <= 1
    purple = css_rgb(page, "#8250df")
    for y in (box["top"] + 30, (box["top"] + box["bottom"]) / 2, box["bottom"] - 5):
        assert pixel_at(page, box["x"] - 0.5, y) == purple
    x0, x1 = page.evaluate("rackGantt.painted.frozen")
    left = page.evaluate("rackGantt.canvas.getBoundingClientRect().top")
    edge = page.evaluate("rackGantt.canvas.getBoundingClientRect().left")
    assert abs((x1 - x0) - 1440 * page.evaluate("rackGantt.scale")) <= 1
    strip = css_rgb(page, "#9fb1e3")
    assert pixel_at(page, edge + (x0 + x1) / 2, left + 1) == strip
    assert pixel_at(page, edge + x1 + 20, left + 1) != strip
    assert "frozen 24 h" in page.inner_text("#gantt-legend")


def test_running_done_and_fixed_steps_are_drawn_apart(floor: Floor, page: Any) -> None:
    """On the published plan a done step is its colour faded, a running one striped; on
    the reschedule a frozen step carries the dark band of a fixed step, and a planned
    bar does not."""
    open_view(page, floor, floor.published)
    items = page.evaluate("rackGantt.data.items")
    done = next(i for i in items if i["state"] == "done")
    running = max((i for i in items if i["state"] == "running"),
                  key=lambda i: i["end_min"] - i["start_min"])
    show(page, 0, 1440)
    for bar in (done, running):
        box = page.evaluate("(id) => rackGantt.barBox(id)", bar["id"])
        assert box is not None and box["width"] > 30, bar
    colour = page.evaluate("(b) => rackGantt.colorOf(b)", done)
    box = page.evaluate("(id) => rackGantt.barBox(id)", done["id"])
    faded = blend(page, colour, "rgba(255, 255, 255, 0.62)")
    assert pixel_at(page, *clear_spot(box)) == faded
    box = page.evaluate("(id) => rackGantt.barBox(id)", running["id"])
    plain = css_rgb(page, page.evaluate("(b) => rackGantt.colorOf(b)", running))
    x, y = clear_spot(box)
    seen = {tuple(pixel_at(page, x - k, y)) for k in range(0, 28)}
    assert tuple(plain) in seen and len(seen) > 1  # its colour, and stripes across it

    open_view(page, floor, floor.reschedule)
    items = page.evaluate("rackGantt.data.items")
    kept = set(floor.reschedule["schedule"]["reschedule"]["kept"])
    frozen = max((i for i in items if i["id"] in kept and i["start_min"] >= 180),
                 key=lambda i: i["end_min"] - i["start_min"])
    free = max((i for i in items if not i["fixed"] and i["start_min"] > 1440),
               key=lambda i: i["end_min"] - i["start_min"])
    assert frozen["fixed"] and frozen["state"] == "planned"
    dark = css_rgb(page, "#24292f")
    for bar, want in ((frozen, True), (free, False)):
        show(page, bar["start_min"] - 60, bar["start_min"] + 1440)
        box = page.evaluate("(id) => rackGantt.barBox(id)", bar["id"])
        top = box["y"] - box["height"] / 2
        assert (pixel_at(page, box["x"], top + 0.5) == dark) is want, bar


def test_colour_by_customer_and_slack_with_a_legend(floor: Floor, page: Any) -> None:
    """Colour by customer: one legend entry per customer, each bar in its customer's
    colour, two orders of one customer alike; hovering an entry spotlights its bars while
    over it, a click until the next.
    Colour by slack: the legend's bands, the late order in a late band."""
    open_view(page, floor, floor.published)
    orders = page.evaluate("rackGantt.data.orders")
    customers = sorted({o["customer"] for o in orders})
    page.select_option("#color-by", "customer")
    page.wait_for_function("() => document.querySelector('#gantt-legend').dataset.by "
                           "=== 'customer'")
    chips = page.eval_on_selector_all("#gantt-legend .legend-chip",
                                      "els => els.map(e => e.textContent)")
    assert chips == customers
    page.click("#zoom-fit")
    page.wait_for_function("() => rackGantt.frame === 0")
    items = page.evaluate("rackGantt.data.items")
    by_customer: dict[str, list[str]] = {}
    for o in orders:
        by_customer.setdefault(o["customer"], []).append(o["id"])
    name, ids = next((c, ids) for c, ids in by_customer.items() if len(ids) >= 2)
    colours = set()
    for oid in ids[:2]:
        bar = max((i for i in items if i["order"] == oid and i["state"] == "planned"),
                  key=lambda i: i["end_min"] - i["start_min"])
        colours.add(page.evaluate("(b) => rackGantt.colorOf(b)", bar))
        show(page, bar["start_min"] - 60, bar["end_min"] + 60)
        box = page.evaluate("(id) => rackGantt.barBox(id)", bar["id"])
        want = css_rgb(page, colours.copy().pop())
        assert pixel_at(page, *clear_spot(box)) == want
    assert len(colours) == 1
    chip = f'#gantt-legend .legend-chip[data-key="{name}"]'
    focus = "() => document.querySelector('#gantt').dataset.focus === "
    page.hover(chip)
    page.wait_for_function(focus + f"'{name}'")
    page.mouse.move(5, 5)  # a hover's spotlight ends with it, a click's stays
    page.wait_for_function(focus + "''")
    page.click(chip)
    page.mouse.move(5, 5)
    page.wait_for_function(focus + f"'{name}'")
    page.click(chip)
    page.wait_for_function(focus + "''")
    page.select_option("#color-by", "slack")
    page.wait_for_function("() => document.querySelector('#gantt-legend').dataset.by "
                           "=== 'slack'")
    labels = page.eval_on_selector_all("#gantt-legend .legend-chip",
                                       "els => els.map(e => e.textContent)")
    assert labels and all(re.match(r"(late|slack) ", t) for t in labels)
    late = next(o for o in orders if o["late"])
    bar = next(i for i in items if i["order"] == late["id"])
    assert page.evaluate("(b) => rackGantt.keyOf(b)", bar).startswith("late")


def test_power_rows_and_utilisation_labels(floor: Floor, page: Any, tmp_path: Path) -> None:
    """Each site has a power row: at the site's peak the load's bar reaches up from the
    row's base in the load colour (amber at the cap), the cap in force is the red line,
    the label gives the peak against the cap, and hovering it tells the kW and the cap.
    Each resource label carries its utilisation."""
    open_view(page, floor, floor.published)
    sites = page.evaluate("rackGantt.data.sites")
    hou = next(s for s in sites if s["id"] == "HOU")
    peak_at = next(t for t, kw in hou["power"]["load"] if kw == hou["power"]["peak_kw"])
    show(page, peak_at - 120, peak_at + 1440)
    page.screenshot(path=str(tmp_path / "power.png"))
    pt = page.evaluate("([s, t]) => rackGantt.powerPoint(s, t)", ["HOU", peak_at + 30])
    assert pt is not None and pt["kw"] == hou["power"]["peak_kw"] and pt["cap"] == 800
    fill = css_rgb(page, "#e0952a" if pt["atCap"] else "#7ea7d8")
    assert pixel_at(page, pt["x"], pt["yBase"] - 2) == fill
    assert pixel_at(page, pt["x"], pt["yCapLine"]) == css_rgb(page, "#b42318")
    label = page.evaluate("rackGantt.painted.labels['power:HOU']")
    assert f"peak {round(hou['power']['peak_kw'])} of 800 kW" in label
    page.mouse.move(pt["x"], pt["yBase"] - 4)
    tip = page.wait_for_selector(".gantt-tip", state="visible", timeout=5000)
    assert tip.get_attribute("data-item") == "power:HOU"
    assert "Cap in force" in tip.inner_text() and "kW" in tip.inner_text()
    groups = page.evaluate("rackGantt.data.groups")
    drawn = page.evaluate("rackGantt.painted.labels")
    shown = [g for g in groups if g["id"] in drawn]
    assert shown
    for g in shown:
        assert drawn[g["id"]] == f"{g['id']} {round(g['utilisation'] * 100)}%"


def test_weighted_tardiness_reads_in_weighted_minutes(floor: Floor, page: Any) -> None:
    """The plan's facts give weighted tardiness as weighted minutes, not as a duration."""
    open_view(page, floor, floor.published)
    facts = page.inner_text("#plan-facts")
    wt = floor.published["schedule"]["kpis"]["total_weighted_tardiness_min"]
    assert f"weighted tardiness {round(wt):,} weighted min" in facts
    assert not re.search(r"weighted tardiness \d+d", facts)


def test_ghosts_of_another_plan(floor: Floor, page: Any) -> None:
    """The published plan's bars given as ghosts to the reschedule's chart are laid on
    their resources' rows and drawn where no bar of the reschedule covers them (the chart
    shows one order: the other orders' ghosts lie bare on its rows)."""
    order = floor.reschedule["schedule"]["items"][-1]["order"]
    page.goto(f"{floor.base}/schedules/{floor.reschedule['id']}/view?order={order}")
    wait_ready(page)
    rows = {g["id"] for g in page.evaluate("rackGantt.rows.filter((r) => r.group)"
                                           ".map((r) => r.group)")}
    pub = [i for i in floor.published["schedule"]["items"] if i["group"] in rows]
    page.evaluate("(items) => rackGantt.setGhosts(items)", pub)
    assert attr(page, "ghosts") == len(pub)
    assert "other plan" in page.inner_text("#gantt-legend")
    # a ghost on a one-lane row at a minute where the reschedule has no bar there
    spot = page.evaluate("""() => {
        const g = rackGantt;
        for (const row of g.rows) {
            if (!row.group || row.lanes !== 1 || !row.ghosts) continue;
            for (const gh of row.ghosts) {
                const t = (gh.a + gh.b) / 2;
                if (t < 60 || gh.b - gh.a < 60) continue;
                const f = g.frozenSpan();  // clear of the now line and the window's edge
                if (Math.abs(t - f[0]) < 90 || Math.abs(t - f[1]) < 90) continue;
                if (row.bars.some((b) => b.start_min <= t + 30 && b.end_min >= t - 30)) continue;
                return { t, y: row.y + row.h / 2 };
            }
        }
        return null;
    }""")
    assert spot is not None
    show(page, spot["t"] - 720, spot["t"] + 720)
    page.evaluate("(y) => { rackGantt.scrollY = y - 200; rackGantt.clamp(); "
                  "rackGantt.draw(); }", spot["y"])
    page.wait_for_function("() => rackGantt.frame === 0")
    where = page.evaluate("""(s) => { const g = rackGantt, r = g.canvas.getBoundingClientRect();
        return [r.left + g.xOf(s.t), r.top + 46 + s.y - g.scrollY]; }""", spot)
    with_ghosts = pixel_at(page, *where)
    page.evaluate("rackGantt.setGhosts(null)")
    page.wait_for_function("() => rackGantt.frame === 0")
    assert attr(page, "ghosts") == 0
    assert pixel_at(page, *where) != with_ghosts
