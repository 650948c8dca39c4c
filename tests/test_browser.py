"""The Gantt page, the front page and the orders page in real headless Chromium, served
by the real service (`rackplan serve`) on an SQLite file holding the sample and a done job."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.clock import stamp
from app.config import Settings
from app.db import transaction
from app.services.seed import SAMPLE
from app.tables import Job, JobStatus
from solver.problem import load_problem
from solver.solve import SolveParams, solve

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NOW = "2026-11-30T00:00:00Z"
VIEWER_KEY = "viewer-key-0123456789"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; CI installs it)")


@dataclass
class Served:
    base: str
    job_id: str
    schedule: dict[str, Any]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def solved() -> tuple[dict[str, Any], dict[str, Any]]:
    """The sample problem and a 2-second schedule of it (made once for the module)."""
    problem = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return problem, solve(load_problem(problem), SolveParams(time_limit=2, workers=1))


def _prepare(db_url: str, problem: dict[str, Any], schedule: dict[str, Any]) -> str:
    """Load the sample (through the app's own start-up) and add a done job holding
    `schedule`; returns the job id."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    # as the job runner records jobs: wall-clock times, ids that sort by creation
    job_id = f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"
    now = stamp(datetime.now(UTC))
    settings = Settings(database_url=db_url, now=NOW, log_json=False,  # type: ignore[arg-type]
                        plan_sample=False)
    with TestClient(create_app(settings)) as client:
        sessions = client.app.state.rackplan.sessions  # type: ignore[attr-defined]
        with transaction(sessions) as s:
            s.add(Job(id=job_id, kind="solve", status=JobStatus.DONE, created_at=now,
                      started_at=now, finished_at=now, params={"time_limit": 2},
                      factory_version=1, problem=problem, schedule=schedule, progress=None,
                      error=None, valid=True))
    return job_id


@contextmanager
def _serve(folder: Path, solved: tuple[dict[str, Any], dict[str, Any]], api_keys: str = ""
           ) -> Iterator[Served]:
    """`rackplan serve` in a subprocess on a free port, on a fresh SQLite file in
    `folder` holding the sample and a done job."""
    db = folder / "rackplan.db"
    db_url = f"sqlite:///{db}"
    job_id = _prepare(db_url, *solved)
    port = _free_port()
    env = {**os.environ, "RACKPLAN_DATABASE_URL": db_url, "RACKPLAN_NOW": NOW,
           "RACKPLAN_API_KEYS": api_keys, "RACKPLAN_LOG_JSON": "false"}
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
                    pytest.fail("the service did not start:\n" +
                                log_path.read_text(errors="replace"))
                time.sleep(0.2)
            yield Served(base, job_id, solved[1])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           solved: tuple[dict[str, Any], dict[str, Any]]) -> Iterator[Served]:
    """The service in local mode (no keys)."""
    with _serve(tmp_path_factory.mktemp("browser"), solved) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's) through playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def expected_http() -> list[tuple[int, str]]:
    """(status, path) error answers a test provokes on purpose."""
    return []


@pytest.fixture
def page(browser: Any, expected_http: list[tuple[int, str]]) -> Iterator[Any]:
    """A fresh tall page; every console error, uncaught exception or unexpected error
    answer fails the test."""
    context = browser.new_context(viewport={"width": 1600, "height": 1500})
    pg = context.new_page()
    problems: list[str] = []
    answers: list[tuple[int, str]] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("response", lambda r: answers.append((r.status, urlsplit(r.url).path))
          if r.status >= 400 else None)
    yield pg
    context.close()
    assert [a for a in answers if a not in expected_http] == []
    # the browser logs each error answer on the console too: those are checked above
    answered = "Failed to load resource: the server responded with a status of"
    assert [p for p in problems if answered not in p] == []


def wait_ready(page: Any) -> None:
    page.wait_for_selector('#gantt[data-ready="1"]', timeout=20000)


def attr(page: Any, name: str) -> int:
    return int(page.get_attribute("#gantt", f"data-{name}"))


def all_rows_in_view(page: Any) -> bool:
    return bool(page.evaluate("rackGantt.contentH <= rackGantt.chartH"))


def pixel_at(page: Any, x: float, y: float) -> list[int]:
    """The canvas pixel under page point (x, y)."""
    return list(page.evaluate("""([x, y]) => {
        const c = document.querySelector('#gantt canvas');
        const r = c.getBoundingClientRect();
        const k = c.width / r.width;
        return Array.from(c.getContext('2d').getImageData(
            Math.floor((x - r.left) * k), Math.floor((y - r.top) * k), 1, 1).data);
    }""", [x, y]))


def css_rgb(page: Any, color: str) -> list[int]:
    """A CSS colour as the canvas stores it."""
    return list(page.evaluate("""(col) => {
        const c = document.createElement('canvas'); c.width = c.height = 1;
        const g = c.getContext('2d'); g.fillStyle = col; g.fillRect(0, 0, 1, 1);
        return Array.from(g.getImageData(0, 0, 1, 1).data);
    }""", color))


def test_view_draws_every_bar_in_its_order_colour(served: Served, page: Any) -> None:
    """The Gantt page draws one bar per item (all rows fit the tall window), in the
    order's colour, with every resource as a row."""
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    wait_ready(page)
    items = served.schedule["items"]
    assert attr(page, "items") == len(items)
    assert attr(page, "rows") == len(served.schedule["groups"])
    assert all_rows_in_view(page)
    # predicates as functions, not expressions: the pages' CSP allows no eval
    page.wait_for_function(
        "() => " f"document.querySelector('#gantt').dataset.drawn == {len(items)}")
    late = {o["id"] for o in served.schedule["orders"] if o["tardiness_min"] > 0}
    on_time = [i for i in items if i["order"] not in late]
    # the widest on-time bar: its left edge (clear of the label text) has the order colour
    bar = max(on_time, key=lambda i: i["end_min"] - i["start_min"])
    box = page.evaluate("(id) => rackGantt.barBox(id)", bar["id"])
    assert box is not None and box["width"] >= 3
    colour = page.evaluate("(b) => rackGantt.colorOf(b)", bar)
    assert pixel_at(page, box["x"] - box["width"] / 2 + 1, box["y"]) == css_rgb(page, colour)
    assert "Schedule" in page.title()


def test_tooltip_names_order_unit_step_and_times(served: Served, page: Any) -> None:
    """Hovering a bar shows its order, unit, step, resource and start/end times."""
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    wait_ready(page)
    late = next(o for o in served.schedule["orders"] if o["tardiness_min"] > 0)
    bar = max((i for i in served.schedule["items"] if i["order"] == late["id"]),
              key=lambda i: i["end_min"] - i["start_min"])
    box = page.evaluate("(id) => rackGantt.barBox(id)", bar["id"])
    assert box is not None
    assert page.is_hidden(".gantt-tip")
    page.mouse.move(box["x"], box["y"])
    tip = page.wait_for_selector(".gantt-tip", state="visible", timeout=5000)
    assert tip.get_attribute("data-item") == bar["id"]
    text = tip.inner_text()
    assert f"{bar['order']} · unit {bar['unit']} · {bar['op']}" in text
    assert bar["group"] in text and "LATE" in text and "late by" in text
    # end time in UTC, as the tooltip writes it (e.g. "Tue 01 Dec 06:00 UTC")
    hhmm = bar["end"][11:16]
    assert f"{hhmm} UTC" in text
    page.mouse.move(5, 5)
    page.wait_for_selector(".gantt-tip", state="hidden", timeout=5000)


def test_site_filter_reduces_rows_and_bars(served: Served, page: Any) -> None:
    """Picking a site keeps only its resources and its bars; the URL keeps the filter."""
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    wait_ready(page)
    rows_before = attr(page, "rows")
    page.select_option("#site-filter", "PHX")
    page.wait_for_function("() => " "document.querySelector('#gantt').dataset.ready === '1' && "
                           "document.querySelector('#site-filter').value === 'PHX' && "
                           f"document.querySelector('#gantt').dataset.rows != {rows_before}")
    phx_groups = [g for g in served.schedule["groups"] if g["site"] == "PHX"]
    phx_items = [i for i in served.schedule["items"] if i["site"] == "PHX"]
    assert attr(page, "rows") == len(phx_groups) < rows_before
    assert attr(page, "items") == len(phx_items)
    page.wait_for_function(
        "() => " f"document.querySelector('#gantt').dataset.drawn == {len(phx_items)}")
    assert page.url.endswith("?site=PHX")
    # reopening that address shows the same filter
    page.goto(page.url)
    wait_ready(page)
    assert attr(page, "rows") == len(phx_groups)
    assert page.input_value("#site-filter") == "PHX"


def test_order_filter_and_late_only(served: Served, page: Any) -> None:
    """Typing an order id shows only its bars (and rows that hold them); 'late only' shows
    the late orders' bars."""
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    wait_ready(page)
    order = served.schedule["items"][0]["order"]
    mine = [i for i in served.schedule["items"] if i["order"] == order]
    page.fill("#order-filter", order)
    page.press("#order-filter", "Enter")
    page.wait_for_function(
        "() => " f"document.querySelector('#gantt').dataset.items == {len(mine)} && "
        "document.querySelector('#gantt').dataset.ready === '1'")
    assert attr(page, "rows") == len({i["group"] for i in mine})
    page.fill("#order-filter", "")
    page.press("#order-filter", "Enter")
    page.check("#late-only")
    late = {o["id"] for o in served.schedule["orders"] if o["tardiness_min"] > 0}
    n_late = sum(i["order"] in late for i in served.schedule["items"])
    page.wait_for_function(
        "() => " f"document.querySelector('#gantt').dataset.items == {n_late} && "
                           "document.querySelector('#gantt').dataset.ready === '1'")
    assert n_late > 0


def test_zoom_draws_only_what_is_in_view(served: Served, page: Any) -> None:
    """Zoomed to one day, only that day's bars are drawn; Fit draws them all again."""
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    wait_ready(page)
    total = len(served.schedule["items"])
    page.wait_for_function("() => " f"document.querySelector('#gantt').dataset.drawn == {total}")
    page.click("#zoom-day")
    page.wait_for_function("() => " f"document.querySelector('#gantt').dataset.drawn < {total}")
    t0, t1 = page.evaluate("[rackGantt.t0, rackGantt.t0 + rackGantt.chartW / rackGantt.scale]")
    assert 1439 < t1 - t0 < 1441
    in_view = sum(i["start_min"] < t1 and i["end_min"] > t0 for i in served.schedule["items"])
    assert attr(page, "drawn") == in_view
    page.click("#zoom-fit")
    page.wait_for_function("() => " f"document.querySelector('#gantt').dataset.drawn == {total}")


def test_front_page_shows_latest_plan_and_actions(served: Served, page: Any) -> None:
    """With nothing published the front page draws the newest plan, says it is not
    published, and offers its view, publish, exports, a new plan and the order upload,
    with no URL or JSON to type."""
    page.goto(f"{served.base}/")
    wait_ready(page)
    assert attr(page, "items") == len(served.schedule["items"])
    assert page.get_attribute("#plan-title", "title") == served.job_id
    assert "not published yet" in page.inner_text("#plan-title")
    href = page.get_attribute("#plan-actions a", "href")
    assert href == f"/schedules/{served.job_id}/view"
    assert page.is_enabled("#publish")
    for sel in ("#export-csv", "#export-xlsx", "#solve-start", "#upload-file", "#recent-table"):
        assert page.query_selector(sel) is not None, sel
    assert page.query_selector(f'#recent-table tr[data-job="{served.job_id}"]') is not None


def test_front_page_explains_a_late_order(served: Served, page: Any, tmp_path: Path) -> None:
    """The front page's chart has the same explanation panel as a plan's page: a late
    order's chip opens it with the order's causes."""
    late = sorted((o for o in served.schedule["orders"] if o["tardiness_min"] > 0),
                  key=lambda o: -o["tardiness_min"])
    assert late, "the sample's 2-second plan has a late order"
    order = late[0]["id"]
    page.goto(f"{served.base}/")
    wait_ready(page)
    assert page.is_hidden("#explain-panel")
    page.click(f'.gantt-late button.chip[data-order="{order}"]')
    page.wait_for_selector('#explain-panel[data-ready="1"]', timeout=20000)
    text = page.text_content("#explain-panel") or ""
    assert order in text and "What held it" in text
    page.screenshot(path=str(tmp_path / "front-explain.png"))
    page.keyboard.press("Escape")
    assert page.is_hidden("#explain-panel")


def test_orders_page_lists_orders(served: Served, page: Any) -> None:
    """The orders page lists the open orders from GET /orders, each with its status."""
    page.goto(f"{served.base}/ui/orders")
    page.wait_for_selector("#orders-table")
    rows = page.query_selector_all("#orders-table tbody tr")
    n_orders = len(json.loads(SAMPLE.read_text())["orders"])
    assert len(rows) == n_orders
    assert all(r.query_selector("td:nth-child(10)").inner_text() == "open" for r in rows)
    assert f"1\u2013{n_orders} of {n_orders}" in page.inner_text("#order-count")


def test_upload_form_lists_bad_rows_and_checks_good_files(
    served: Served, page: Any, tmp_path: Path, expected_http: list[tuple[int, str]]
) -> None:
    """The upload form posts the planner's file: a bad row comes back listed by row and
    column; a good file checked with 'only check' is reported valid (nothing written)."""
    bad = tmp_path / "bad.csv"
    bad.write_text("id,product,quantity,due\nSO-9001,NO-SUCH-PRODUCT,2,2026-12-20\n")
    good = tmp_path / "good.csv"
    good.write_text("id,product,quantity,due\nSO-9002,GB200-NVL72,2,2026-12-20\n")
    expected_http.append((422, "/orders/upload"))
    page.goto(f"{served.base}/ui/orders")
    page.wait_for_selector("#orders-table")
    page.set_input_files("#upload-file", str(bad))
    page.click("#upload-form button[type=submit]")
    err = page.wait_for_selector(".upload-result .msg.error table", timeout=10000)
    cells = [c.inner_text() for c in err.query_selector_all("tbody tr:first-child td")]
    heads = [c.inner_text() for c in err.query_selector_all("thead th")]
    row = dict(zip(heads, cells, strict=True))
    assert row["row"] == "2" and row["column"] == "product"
    assert row["value"] == "NO-SUCH-PRODUCT"
    page.set_input_files("#upload-file", str(good))
    page.check("#upload-dry")
    page.click("#upload-form button[type=submit]")
    ok = page.wait_for_selector(".upload-result .msg.ok", timeout=10000)
    assert "valid" in ok.inner_text() and "1 created" in ok.inner_text()


def test_front_page_exports_and_publishes(served: Served, page: Any) -> None:
    """Export CSV downloads the plan's steps (one line per bar plus the header); Publish
    makes it the published plan and the button then says so."""
    page.goto(f"{served.base}/")
    wait_ready(page)
    with page.expect_download() as dl:
        page.click("#export-csv")
    download = dl.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert len(text.strip().splitlines()) == len(served.schedule["items"]) + 1
    page.click("#publish")
    page.wait_for_selector("#plan-msg .msg.ok", timeout=10000)
    page.wait_for_function(
        "() => " "document.querySelector('#publish').textContent === 'Published'")
    assert page.is_disabled("#publish")
    with urllib.request.urlopen(f"{served.base}/schedules/published") as r:
        assert json.load(r)["publication"]["job_id"] == served.job_id


def test_new_plan_button_solves_and_shows_the_new_plan(served: Served, page: Any) -> None:
    """'New plan' starts a solve with the chosen time limit and name; when it is done the
    front page offers it beside the published plan, which it still draws (run last: it
    adds a job; the publish test ran before)."""
    page.goto(f"{served.base}/")
    wait_ready(page)
    page.fill("#solve-limit", "2")
    page.fill("#solve-name", "second try")
    page.click("#solve-start")
    msg = page.wait_for_selector("#solve-msg .msg.ok", timeout=10000).inner_text()
    new_id = msg.split()[1]
    assert new_id != served.job_id
    page.wait_for_function(
        "() => " f"document.querySelector('#next-plan').dataset.job === '{new_id}'",
        timeout=90000)
    assert "second try" in page.inner_text("#next-plan h2")
    assert page.get_attribute("#plan-title", "title") == served.job_id  # the published one
    assert attr(page, "items") == len(served.schedule["items"])  # every unit, every step
    row = page.query_selector(f'#recent-table tr[data-job="{new_id}"]')
    assert row is not None and "second try" in row.inner_text()


def test_with_keys_the_page_asks_for_one_and_keeps_it(
    tmp_path: Path, solved: tuple[dict[str, Any], dict[str, Any]], page: Any,
    expected_http: list[tuple[int, str]],
) -> None:
    """With API keys set, the page itself loads, the data answers 401 and the key input
    opens; the key typed there is kept (localStorage) and sent, and the bars appear."""
    with _serve(tmp_path, solved, api_keys=f"{VIEWER_KEY}:viewer") as srv:
        expected_http.append((401, f"/schedules/{srv.job_id}/gantt"))
        page.goto(f"{srv.base}/schedules/{srv.job_id}/view")
        page.wait_for_selector('#gantt[data-ready="error"]')
        assert page.get_attribute("#gantt", "data-error") == "401"
        page.wait_for_selector("#api-key", state="visible")
        page.fill("#api-key", VIEWER_KEY)
        page.click("#api-key-save")
        wait_ready(page)
        assert attr(page, "items") == len(srv.schedule["items"])
        assert page.evaluate("localStorage.getItem('rackplan.apiKey')") == VIEWER_KEY


@pytest.fixture(scope="module")
def served_windows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The service holding a schedule of the sample with two power windows at HOU: a
    demand-response evening (300 kW, below its 800) and a new hall (1,200 kW) from day 3."""
    problem = json.loads(SAMPLE.read_text(encoding="utf-8"))
    hou = next(s for s in problem["sites"] if s["id"] == "HOU")
    hou["power_windows"] = [
        {"start": "2026-12-02T12:00:00Z", "end": "2026-12-03T00:00:00Z", "power_cap_kw": 300},
        {"start": "2026-12-04T00:00:00Z", "end": "2026-12-06T00:00:00Z",
         "power_cap_kw": 1200}]
    schedule = solve(load_problem(problem), SolveParams(time_limit=2, workers=1))
    with _serve(tmp_path_factory.mktemp("windows"), (problem, schedule)) as srv:
        yield srv


def test_power_windows_are_shaded_in_the_site_band(served_windows: Served, page: Any) -> None:
    """The site's band shows the evening in amber and the new hall in green; the rest of
    the band keeps the site colour."""
    page.goto(f"{served_windows.base}/schedules/{served_windows.job_id}/view")
    wait_ready(page)
    low = page.evaluate("rackGantt.powerWindowBox('HOU', 0)")
    high = page.evaluate("rackGantt.powerWindowBox('HOU', 1)")
    assert low is not None and high is not None and low["width"] >= 4
    edge = low["x"] + low["width"] / 2 - 2  # clear of the label at the window's left
    assert pixel_at(page, edge, low["y"]) == css_rgb(page, "#f2c879")
    assert pixel_at(page, high["x"] + high["width"] / 2 - 2, high["y"]) == css_rgb(
        page, "#a8dbb4")
    before = low["x"] - low["width"] / 2 - 3
    assert pixel_at(page, before, low["y"]) == css_rgb(page, "#eef2f7")
def test_clicking_a_late_order_explains_it(served: Served, page: Any, tmp_path: Path) -> None:
    """Clicking a late order's chip opens the side panel with its causes in sentences and
    highlights its bars and the bars that held it; clicking one of its bars on the chart
    opens the same panel; Escape closes it and clears the highlight."""
    late = sorted((o for o in served.schedule["orders"] if o["tardiness_min"] > 0),
                  key=lambda o: -o["tardiness_min"])
    assert late, "the sample's 2-second plan has a late order"
    order = late[0]["id"]
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    wait_ready(page)
    assert page.is_hidden("#explain-panel")
    page.click(f'.gantt-late button.chip[data-order="{order}"]')
    page.wait_for_selector('#explain-panel[data-ready="1"]', timeout=20000)
    panel = page.text_content("#explain-panel") or ""
    assert order in panel and "late" in panel
    assert "What held it" in panel and "step by step" in panel
    causes = page.eval_on_selector_all("#explain-panel .xp-causes li",
                                       "els => els.map(e => e.dataset.cause)")
    assert causes, "the panel lists the order's causes"
    marked = attr(page, "marked")
    mine = sum(i["order"] == order for i in served.schedule["items"])
    assert marked >= mine
    page.screenshot(path=str(tmp_path / "explain-panel.png"))
    # what would make it on time: each answer re-solved by the service
    page.click("#what-if")
    page.wait_for_selector('#explain-panel .xp-whatif-out[data-ready="1"]', timeout=90000)
    answers = page.text_content("#explain-panel .xp-whatif-out") or ""
    kinds = page.eval_on_selector_all("#explain-panel .xp-whatif-out li",
                                      "els => els.map(e => e.dataset.kind)")
    assert kinds or "None of these changes" in answers
    assert set(kinds) <= {"priority", "site", "resource", "shift", "power"}
    page.screenshot(path=str(tmp_path / "explain-what-if.png"))
    # pressing Escape closes the panel; a click on one of its bars opens it again
    page.keyboard.press("Escape")
    assert page.is_hidden("#explain-panel") and attr(page, "marked") == 0
    page.click("#zoom-fit")
    item = next(i for i in served.schedule["items"] if i["order"] == order)
    box = page.evaluate(f"rackGantt.barBox({json.dumps(item['id'])})")
    assert box is not None
    page.mouse.click(box["x"], box["y"])
    page.wait_for_selector(f'#explain-panel[data-order="{order}"][data-ready="1"]')
    assert "What held it" in (page.text_content("#explain-panel") or "")
