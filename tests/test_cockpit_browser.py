"""The planner's cockpit pages in real headless Chromium, served by the real service
(`rackplan serve`, as tests/test_browser.py): the front page following the published plan
with a newer reschedule beside it, the compare page, the exceptions page, the orders
page's plan columns, and the API docs with the network off."""

from __future__ import annotations

import copy
import json
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_browser
from test_browser import CHROMIUM, Served

from app.clock import stamp
from app.db import make_engine, session_factory, transaction
from app.tables import Job, JobStatus
from solver.problem import load_problem
from solver.reschedule import reschedule
from solver.solve import SolveParams
from solver.validate import validate

solved = test_browser.solved
browser = test_browser.browser
expected_http = test_browser.expected_http
page = test_browser.page

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; CI installs it)")

# an order the plan left out, as the schedule's `unplanned` section names it
UNPLANNED = {"order": "SO-2004", "code": "no_eligible_resource", "op": "assembly",
             "sites": ["SJC"], "reason": "no resource at SJC can do GB300-NVL72's assembly"}


class Cockpit(Served):
    """The served sample: plan `job_id` published, reschedule `new_id` made after it."""

    new_id: str
    new_schedule: dict[str, Any]


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory: pytest.TempPathFactory,
            solved: tuple[dict[str, Any], dict[str, Any]]) -> Iterator[Any]:
    """The service holding the sample's plan (published, with one order left out) and a
    real reschedule of it a day later, with a resource down in its frozen window (so that
    it keeps some frozen steps and releases others, with the validator's reasons)."""
    problem, schedule = solved
    published = {**copy.deepcopy(schedule), "unplanned": [UNPLANNED]}
    folder = tmp_path_factory.mktemp("cockpit")
    later = copy.deepcopy(problem)
    later["horizon_start"] = "2026-12-02T00:00:00Z"
    busy = next(it for it in schedule["items"]
                if "2026-12-02T02" <= it["start"] < "2026-12-02T12")
    down = next(r for r in later["resources"] if r["id"] == busy["group"])
    down["downtime"] = [*down.get("downtime", []),
                        {"start": "2026-12-02T00:00:00Z", "end": "2026-12-02T12:00:00Z"}]
    out = reschedule(load_problem(later), schedule, SolveParams(time_limit=1, workers=1),
                     frozen_hours=24)
    assert validate(out.problem, out.schedule) == []
    section = out.schedule["reschedule"]
    assert section["kept"] and section["released"]
    with test_browser._serve(folder, (problem, published)) as srv:
        engine = make_engine(f"sqlite:///{folder / 'rackplan.db'}")
        new_id = f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"
        now = stamp(datetime.now(UTC))
        with transaction(session_factory(engine)) as s:
            s.add(Job(id=new_id, kind="reschedule", status=JobStatus.DONE, created_at=now,
                      started_at=now, finished_at=now,
                      params={"reference": srv.job_id, "frozen_hours": 24},
                      factory_version=1, problem=later, schedule=out.schedule,
                      progress=None, error=None, valid=True))
        engine.dispose()
        req = urllib.request.Request(f"{srv.base}/schedules/{srv.job_id}/publish",
                                     method="POST")
        with urllib.request.urlopen(req) as r:
            assert r.status == 200
        ck = Cockpit(srv.base, srv.job_id, published)
        ck.new_id, ck.new_schedule = new_id, out.schedule
        yield ck


def _ready(page: Any) -> None:
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=30000)


def test_front_page_follows_the_published_plan(cockpit: Any, page: Any) -> None:
    """The front page draws the published plan, not the newer reschedule; the reschedule
    is offered beside it with its figures and a compare link; the plans list shows kind,
    name, on-time orders and weighted tardiness in weighted minutes."""
    page.goto(f"{cockpit.base}/")
    test_browser.wait_ready(page)
    assert page.get_attribute("#plan-title", "title") == cockpit.job_id
    assert page.inner_text("#plan-title").startswith("Published plan")
    assert test_browser.attr(page, "items") == len(cockpit.schedule["items"])
    page.wait_for_selector("#next-plan:not([hidden])")
    assert page.get_attribute("#next-plan", "data-job") == cockpit.new_id
    assert "reschedule" in page.inner_text("#next-plan h2")
    assert page.get_attribute("#next-compare", "href") == (
        f"/ui/compare?a={cockpit.job_id}&b={cockpit.new_id}")
    kpis = cockpit.schedule["kpis"]
    facts = page.inner_text("#plan-facts")
    assert f"{kpis['total_weighted_tardiness_min']:,} weighted min" in facts
    rows = {r.get_attribute("data-job"): [c.inner_text() for c in r.query_selector_all("td")]
            for r in page.query_selector_all("#recent-table tbody tr")}
    old, new = rows[cockpit.job_id], rows[cockpit.new_id]
    assert old[1:3] == ["plan", cockpit.schedule["problem"]] and old[8] == "published"
    assert new[1] == "reschedule" and new[8] == ""
    assert old[6] == f"{kpis['on_time']}/{kpis['orders']}"
    assert old[7] == f"{round(kpis['total_weighted_tardiness_min']):,}"  # never "4d 4h"
    assert "compare with published" in new[9]
    # tick two plans: the compare button opens them, older first
    assert page.is_disabled("#compare-selected")
    page.check(f'input.tick[data-job="{cockpit.new_id}"]')
    page.check(f'input.tick[data-job="{cockpit.job_id}"]')
    page.click("#compare-selected")
    page.wait_for_url(f"**/ui/compare?a={cockpit.job_id}&b={cockpit.new_id}")


def test_compare_page_shows_figures_changes_and_the_reschedule(
    cockpit: Any, page: Any, tmp_path: Path
) -> None:
    """Both plans' figures side by side, the orders delivered at another time (better or
    worse, by how much), the moved steps by kind as the diff counts them, the
    reschedule's kept and released steps with reasons, and the new plan's Gantt given the
    old plan's bars as ghosts."""
    page.goto(f"{cockpit.base}/ui/compare?b={cockpit.new_id}")  # a: its reference
    _ready(page)
    test_browser.wait_ready(page)
    with urllib.request.urlopen(
            f"{cockpit.base}/schedules/{cockpit.job_id}/diff/{cockpit.new_id}") as r:
        diff = json.load(r)
    s = diff["summary"]
    for kind in ("site", "resource", "time"):
        n = s["site_changes" if kind == "site" else
              "resource_changes" if kind == "resource" else "time_shifts"]
        assert page.inner_text(f"#moved-{kind}") == f"{n:,}"
        if n:
            assert page.locator(f'details[data-change="{kind}"] summary').inner_text() \
                .endswith(f"({n})")
    changed = [o for o in diff["orders"] if o["change"] == "delivery"]
    rows = page.query_selector_all("#orders-changed tbody tr")
    assert len(rows) == len(changed)
    for o in changed:
        row = page.query_selector(f'#orders-changed tr[data-order="{o["id"]}"]')
        ta, tb = o["tardiness_before"] or 0, o["tardiness_after"] or 0
        want = ("better" if tb < ta else "worse") if tb != ta else (
            "better" if o["change_min"] < 0 else "worse")
        assert row.get_attribute("class") == f"verdict-{want}"
        assert ("later" if o["change_min"] > 0 else "earlier") in row.inner_text()
    kpi = page.inner_text("#kpi-table")
    assert "reschedule" in kpi and "Orders on time" in kpi
    section = cockpit.new_schedule["reschedule"]
    released = page.query_selector_all("#released-steps tbody tr")
    assert [[c.inner_text() for c in r.query_selector_all("td")] for r in released] == [
        [x["step"], x["reason"]] for x in section["released"]]
    assert page.locator("#kept-steps summary").inner_text() == f"Kept ({len(section['kept'])})"
    assert test_browser.attr(page, "items") == len(cockpit.new_schedule["items"])
    assert page.evaluate("window.rackCompare.ghosts") == len(cockpit.schedule["items"])
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=False)


def test_compare_page_without_plans_offers_a_choice(cockpit: Any, page: Any) -> None:
    """Without `a` and `b` the page lists the finished plans to choose from."""
    page.goto(f"{cockpit.base}/ui/compare")
    page.wait_for_function("() => document.querySelectorAll('#pick-a option').length === 3")
    page.select_option("#pick-a", cockpit.job_id)
    page.select_option("#pick-b", cockpit.new_id)
    page.click("#pick-go")
    page.wait_for_url(f"**/ui/compare?a={cockpit.job_id}&b={cockpit.new_id}")
    _ready(page)


def test_exceptions_page_lists_each_kind_with_links(cockpit: Any, page: Any) -> None:
    """The exceptions page shows one section per kind with the entries `GET /exceptions`
    gives, each linking to the order or the plan's Gantt."""
    with urllib.request.urlopen(f"{cockpit.base}/exceptions") as r:
        body = json.load(r)
    page.goto(f"{cockpit.base}/ui/exceptions")
    _ready(page)
    assert cockpit.schedule["problem"] in page.inner_text("#title")
    for kind in ("late", "unplanned", "at_risk", "released", "idle"):
        rows = page.query_selector_all(f'#exc-{kind} tbody tr[data-kind="{kind}"]')
        assert len(rows) == body["counts"][kind], kind
        assert page.inner_text(f"#exc-{kind} h2 .badge") == str(body["counts"][kind])
    assert body["counts"]["late"] > 0 and body["counts"]["released"] > 0
    unplanned = page.inner_text("#exc-unplanned tbody")
    assert "SO-2004" in unplanned and UNPLANNED["reason"] in unplanned
    late = body["items"][0]
    assert late["kind"] == "late"
    first = page.query_selector("#exc-late tbody tr")
    assert first.query_selector("td").inner_text() == late["order"]
    assert first.query_selector("a.link-gantt").get_attribute("href") == late["links"]["gantt"]
    first.query_selector("a.link-gantt").click()
    test_browser.wait_ready(page)
    assert page.input_value("#order-filter") == late["order"]


def test_orders_page_shows_the_published_plan(cockpit: Any, page: Any) -> None:
    """Each order's planned delivery, lateness and sites come from the published plan;
    the order left out of it says why."""
    page.goto(f"{cockpit.base}/ui/orders")
    page.wait_for_selector("#orders-table")
    late = {o["id"]: o for o in cockpit.schedule["orders"] if o["tardiness_min"] > 0}
    for o in cockpit.schedule["orders"]:
        cells = page.query_selector_all(f'#orders-table tr[data-order="{o["id"]}"] td')
        assert cells[11].inner_text().startswith("late" if o["id"] in late else "on time")
        assert cells[12].inner_text() == ", ".join(o["sites"])
        assert cells[10].get_attribute("title") == o["delivery"]


def test_api_docs_render_with_the_network_off(cockpit: Any, browser: Any) -> None:
    """/docs (Swagger UI) and /redoc draw every operation from the service's own files:
    no request leaves localhost, no script is refused by the page's policy."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    left: list[str] = []

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    with urllib.request.urlopen(f"{cockpit.base}/openapi.json") as r:
        ops = sum(len(v) for v in json.load(r)["paths"].values())
    try:
        for path, count in (("/docs", ".opblock"), ("/redoc", "[data-section-id^='operation']")):
            pg = context.new_page()
            problems: list[str] = []
            pg.on("console", lambda m, p=problems: p.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e, p=problems: p.append(str(e)))
            pg.goto(f"{cockpit.base}{path}")
            _ready(pg)
            pg.wait_for_function(
                f"() => document.querySelectorAll(\"{count}\").length >= {ops}", timeout=30000)
            # ReDoc's footer logo points at its CDN: the policy refuses it, nothing else
            assert [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p] == []
            pg.close()
    finally:
        context.close()
    assert left == []
