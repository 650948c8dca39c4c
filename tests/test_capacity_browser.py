"""The capacity pages in real headless Chromium, served by the real service (`rackplan
serve`) on an SQLite file holding the sample and a done job (as tests/test_browser.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_browser
from test_browser import CHROMIUM, Served

# the Gantt page tests' fixtures: the served sample with a done job, the browser, a page
solved = test_browser.solved
served = test_browser.served
browser = test_browser.browser
expected_http = test_browser.expected_http
page = test_browser.page

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; CI installs it)")

SHOTS = Path(__file__).resolve().parents[1] / "out"


def _ready(page: Any) -> dict[str, Any]:
    page.wait_for_selector('main.capacity[data-state="ready"]', timeout=60000)
    report: dict[str, Any] = page.evaluate("window.rackCapacity")
    return report


def _rgb(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor"))


def test_plan_capacity_draws_a_heat_map_per_kind_and_power(served: Served, page: Any) -> None:
    """A plan's capacity page: one heat map per resource kind and one for power, a row
    per site group, a cell per bucket coloured by its utilisation, the families' shares
    inside, the bottlenecks outlined and listed."""
    page.goto(f"{served.base}/schedules/{served.job_id}/capacity/view")
    report = _ready(page)
    assert report["plan"] is not None and report["bucket"] == "week"
    kinds = page.eval_on_selector_all(".cap-map", "els => els.map(e => e.dataset.kind)")
    want = sorted({g["kind"] for s in report["sites"] for g in s["groups"]})
    assert sorted(k for k in kinds if k != "power") == want
    assert "power" in kinds
    groups = [g for s in report["sites"] for g in s["groups"]]
    n = len(report["buckets"])
    assert page.locator(".cap-map:not([data-kind=power]) tbody tr").count() == len(groups)
    assert page.locator(".cap-map:not([data-kind=power]) td.cap-cell").count() == (
        len(groups) * n)
    # the busiest cell is the reddest: its colour is the page's own colour of its share
    u, gid, b = max((u, g["id"], b) for g in groups for b, u in enumerate(g["utilisation"])
                    if u is not None)
    cell = f'.cap-map tr[data-row="{gid}"] td[data-bucket="{b}"]'
    want_rgb = page.evaluate("(u) => RackCapacity.colour(u)", u)
    assert _rgb(page, cell) == want_rgb
    title = page.get_attribute(cell, "title") or ""
    assert gid in title and "utilisation" in title
    # the families' shares of a loaded cell add up to its width
    fams = page.eval_on_selector_all(f"{cell} .cap-shares span",
                                     "els => els.map(e => e.dataset.family)")
    assert fams and set(fams) <= set(report["families"])
    if report["bottlenecks"]:
        assert page.locator("td.cap-cell.hot").count() >= 1
        assert page.locator("#cap-bottleneck-list tbody tr").count() == len(
            report["bottlenecks"])
    assert page.get_attribute("#cap-plan", "href") == f"/schedules/{served.job_id}/view"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "capacity-plan.png"), full_page=True)


def test_current_capacity_in_days_and_back_from_the_nav(served: Served, page: Any) -> None:
    """From the front page's navigation: the current factory and open orders; days make
    more buckets, and the URL keeps the choice."""
    page.goto(f"{served.base}/")
    page.click('nav a[href="/ui/capacity"]')
    weeks = _ready(page)
    assert weeks["plan"] is None and weeks["bucket"] == "week"
    page.select_option("#cap-bucket", "day")
    page.wait_for_function("() => window.rackCapacity && window.rackCapacity.bucket === 'day' && "
                           "document.querySelector('main.capacity').dataset.state === 'ready'",
                           timeout=60000)
    days = page.evaluate("window.rackCapacity")
    assert len(days["buckets"]) > len(weeks["buckets"])
    assert "bucket=day" in page.url
    head = page.locator(".cap-map").first.locator("thead th")
    assert head.count() == len(days["buckets"]) + 1
    late = page.locator("#cap-late")
    assert late.inner_text() != ""


def test_the_plan_page_links_to_its_capacity(served: Served, page: Any) -> None:
    """The Gantt page of a plan links to that plan's capacity page."""
    page.goto(f"{served.base}/schedules/{served.job_id}/view")
    page.click("#capacity-link")
    report = _ready(page)
    assert report["job_id"] == served.job_id
