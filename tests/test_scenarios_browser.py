"""The scenario compare page in real headless Chromium, served by the real service on an
SQLite file holding the sample and a scenario whose base and variants have finished
(solved here in-process, stored as the job runner stores them)."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_browser
from test_browser import CHROMIUM, SAMPLE, Served

from app.clock import stamp
from app.db import make_engine, session_factory, transaction
from app.tables import Job, JobKind, JobStatus, Scenario
from solver.problem import load_problem
from solver.resilience import solve_all
from solver.scenario import apply_changes, load_changes

browser = test_browser.browser
expected_http = test_browser.expected_http
page = test_browser.page

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; CI installs it)")

SHOTS = Path(__file__).resolve().parents[1] / "out"
VARIANTS = [
    ("HOU down a week", [{"type": "site_down", "site": "HOU", "start": "2026-12-01T00:00:00Z",
                          "end": "2026-12-08T00:00:00Z"}]),
    ("second CMH test cell", [{"type": "resource_add", "like": "CMH-TST-01"},
                              {"type": "order_cancel", "id": "SO-1002"}]),
]


def _job_id() -> str:
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """The service holding a finished scenario: (served, scenario id)."""
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    base = load_problem(doc)
    changed = [apply_changes(base, load_changes(c, base)) for _, c in VARIANTS]
    schedules = solve_all([base, *changed], time_limit=1, seed=0)
    folder = tmp_path_factory.mktemp("scenario")
    with test_browser._serve(folder, (doc, schedules[0])) as srv:
        # the service reads the database on every request: the rows go straight in
        engine = make_engine(f"sqlite:///{folder / 'rackplan.db'}")
        now = stamp(datetime.now(UTC))
        ids = [_job_id() for _ in schedules]
        sid = _job_id()
        with transaction(session_factory(engine)) as s:
            for jid, problem, schedule in zip(ids, [base, *changed], schedules, strict=True):
                s.add(Job(id=jid, kind=JobKind.SCENARIO, status=JobStatus.DONE,
                          created_at=now, started_at=now, finished_at=now,
                          params={"time_limit": 1, "scenario": sid}, factory_version=1,
                          problem=problem.model_dump(mode="json", exclude_none=True),
                          schedule=schedule, progress=None, error=None, valid=True))
            s.add(Scenario(id=sid, kind="whatif", name="HOU outage", created_at=now,
                           params={"time_limit": 1, "seed": 0, "workers": 1, "days": None},
                           factory_version=1, base_job=ids[0], applied=None,
                           variants=[{"name": n, "job": j, "changes": c}
                                     for (n, c), j in zip(VARIANTS, ids[1:], strict=True)]))
            # a resilience run over the same jobs: the week without HOU as its one loss
            s.add(Scenario(id=f"{sid}r", kind="resilience", name="resilience", created_at=now,
                           params={"time_limit": 1, "seed": 0, "workers": 1, "days": 7},
                           factory_version=1, base_job=ids[0], applied=None,
                           variants=[{"name": "HOU", "job": ids[1], "changes": VARIANTS[0][1]}]))
        engine.dispose()
        yield srv, sid


def test_the_compare_page_shows_the_sides_side_by_side(
        scenario: tuple[Served, str], page: Any) -> None:
    """The base and each variant as a card: KPIs with the change against the base, the
    sites, a heat map cell per site and bucket coloured by utilisation, the orders that
    change, and a link to the side's Gantt that opens it."""
    srv, sid = scenario
    page.goto(f"{srv.base}/ui/scenarios/{sid}")
    page.wait_for_function("() => document.querySelector('main.scenarios')"
                           ".dataset.state === 'ready'", timeout=60000)
    sc = page.evaluate("window.rackScenario")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "scenarios-compare.png"), full_page=True)
    cards = page.query_selector_all("section.sc-side")
    assert [c.get_attribute("data-side") for c in cards] == ["base", "0", "1"]
    assert page.inner_text("#title") == "HOU outage"
    down = page.query_selector('section.sc-side[data-side="0"]')
    assert down is not None
    assert "HOU down a week" in down.inner_text()
    tard = sc["variants"][0]["weighted_tardiness_min"]
    assert f"{round(tard):,}" in down.inner_text()
    cells = down.query_selector_all(".sc-heat td.cap-cell:not(.none)")
    assert len(cells) >= 4
    assert any(c.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(255, 255, 255)"
               for c in cells)
    changed = sc["variants"][0]["order_changes"]
    assert changed
    # the card lists the largest changes first: the largest is there
    top = max(changed, key=lambda r: (r["delivery_change_min"] is None,
                                      abs(r["delivery_change_min"] or 0)))
    assert down.query_selector(f'tr[data-order="{top["order"]}"]') is not None
    grow = page.query_selector('section.sc-side[data-side="1"]')
    assert grow is not None and "cancelled" in grow.inner_text()
    assert page.query_selector("#sc-ranking-card").is_hidden()
    down.query_selector("a.gantt-link").click()
    page.wait_for_url(f"**/schedules/{sc['variants'][0]['job']}/view")
    test_browser.wait_ready(page)


def test_a_resilience_run_shows_the_ranking_of_sites(
        scenario: tuple[Served, str], page: Any) -> None:
    """A resilience scenario's page ranks the sites: rank, site, the weighted tardiness
    its loss adds, the orders that slip."""
    srv, sid = scenario
    page.goto(f"{srv.base}/ui/scenarios/{sid}r")
    page.wait_for_function("() => document.querySelector('main.scenarios')"
                           ".dataset.state === 'ready'", timeout=60000)
    page.screenshot(path=str(SHOTS / "scenarios-resilience.png"), full_page=True)
    sc = page.evaluate("window.rackScenario")
    rows = page.query_selector_all("#sc-ranking table.sc-rank tbody tr")
    assert len(rows) == 1
    cells = [c.inner_text() for c in rows[0].query_selector_all("td")]
    added = sc["ranking"][0]["weighted_tardiness_added_min"]
    assert cells[:3] == ["1", "HOU", f"+{round(added):,}"]
    assert sc["ranking"][0]["slipped"][0]["order"] in cells[4]
