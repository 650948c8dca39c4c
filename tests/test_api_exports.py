"""`GET /schedules/{id}/export.csv` and `.xlsx`, read back with polars."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from sqlalchemy import func, select

from app.db import transaction
from app.services.exports import STEP_COLUMNS, neutralise_formulas
from app.services.seed import SAMPLE
from app.tables import FactoryVersion, Job, JobStatus
from solver.problem import Problem
from solver.solve import SolveParams, solve

EVIL_ID = '=HYPERLINK("http://example.invalid/x","click")'
EVIL_CUSTOMER = "@SUM(A1:A9)"
LATE_ID = "SO-LATE"
VIEWER_KEY = "viewer-key-0123456789"


@pytest.fixture(scope="module")
def solved() -> tuple[dict[str, Any], dict[str, Any]]:
    """The sample restricted to three one-rack orders (sites HOU and PHX, neither in UTC):
    one with a formula as its id, one with a formula as its customer, one due too early to
    be on time; solved once for the module."""
    data = json.loads(SAMPLE.read_text())
    orders = [o for o in data["orders"] if o["product"] != "NVSW-SPINE"][:3]
    for o in orders:
        o["quantity"] = 1
    orders[0]["id"] = EVIL_ID
    orders[1]["customer"] = EVIL_CUSTOMER
    orders[2]["id"] = LATE_ID
    orders[2]["due"] = "2026-12-01T06:00:00Z"
    data["orders"] = orders
    schedule = solve(Problem.model_validate(data), SolveParams(time_limit=2, workers=1))
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE")
    assert {i["site"] for i in schedule["items"]} >= {"PHX"}
    return data, schedule


def insert_job(c: Any, job_id: str, problem: dict[str, Any], schedule: dict[str, Any] | None,
               status: str = JobStatus.DONE) -> None:
    """A job row as the job runner leaves it (a queued one stops the runner: its poll would
    claim it)."""
    state = c.app.state.rackplan
    if status == JobStatus.QUEUED:
        state.runner.stop()
    with transaction(state.sessions) as s:
        version = s.scalar(select(func.max(FactoryVersion.version)))
        assert version is not None
        s.add(Job(id=job_id, status=status, created_at="2026-11-30T00:00:00Z",
                  params={"time_limit": 2}, factory_version=version, problem=problem,
                  schedule=schedule, valid=schedule is not None))


@pytest.fixture
def api(client: Any, solved: tuple[dict[str, Any], dict[str, Any]]) -> Iterator[Any]:
    """A client whose database holds job `j1` with the module's schedule."""
    insert_job(client, "j1", *solved)
    yield client


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_csv_has_one_row_per_step(api: Any, solved: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The CSV has the documented columns and exactly one row per scheduled step."""
    r = api.get("/schedules/j1/export.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    df = pl.read_csv(io.BytesIO(r.content), infer_schema=False)
    assert tuple(df.columns) == STEP_COLUMNS
    items = solved[1]["items"]
    assert df.height == len(items)
    got = {(o.lstrip("'"), int(u), s) for o, u, s in df.select("order", "unit", "step").rows()}
    assert got == {(i["order"], i["unit"], i["op"]) for i in items}


def test_csv_local_times_carry_the_site_offset(
    api: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Local times are the UTC times in the site's zone (HOU -06:00, PHX -07:00 in
    December), with the zone named; UTC times equal the schedule's."""
    df = pl.read_csv(io.BytesIO(api.get("/schedules/j1/export.csv").content),
                     infer_schema=False)
    zones = {s["id"]: s["timezone"] for s in solved[0]["sites"]}
    by_key = {(i["order"], i["unit"], i["op"]): i for i in solved[1]["items"]}
    offsets = set()
    for row in df.iter_rows(named=True):
        item = by_key[(row["order"].lstrip("'"), int(row["unit"]), row["step"])]
        assert row["timezone"] == zones[item["site"]]
        assert row["resource"] == item["group"]
        assert (row["start_utc"], row["end_utc"]) == (item["start"], item["end"])
        local = datetime.fromisoformat(row["start_local"])
        assert local == utc(item["start"])
        assert local.utcoffset() == utc(item["start"]).astimezone(
            ZoneInfo(row["timezone"])).utcoffset()
        assert int(row["duration_min"]) == item["end_min"] - item["start_min"]
        offsets.add((row["site"], row["start_local"][-6:]))
    assert ("PHX", "-07:00") in offsets
    assert any(site == "HOU" and off == "-06:00" for site, off in offsets)


def test_csv_neutralises_formulas(api: Any) -> None:
    """An order id that a spreadsheet would run as a formula is written with a leading
    quote, and no cell of the CSV starts with a formula character."""
    df = pl.read_csv(io.BytesIO(api.get("/schedules/j1/export.csv").content),
                     infer_schema=False)
    assert ("'" + EVIL_ID) in df["order"].to_list()
    for column in df.columns:
        assert not any(v[:1] in "=+-@\t\r" for v in df[column].to_list() if v)


def test_xlsx_steps_and_orders_sheets(
    api: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """The workbook has sheet `steps` (one row per step, local and UTC date-times) and
    sheet `orders` (due, delivery, tardiness, on time, sites) matching the schedule."""
    r = api.get("/schedules/j1/export.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheets = pl.read_excel(io.BytesIO(r.content), sheet_id=0)
    assert isinstance(sheets, dict)
    assert list(sheets) == ["steps", "orders"]
    steps, orders = sheets["steps"], sheets["orders"]
    problem, schedule = solved
    assert tuple(steps.columns) == STEP_COLUMNS
    assert steps.height == len(schedule["items"])
    zones = {s["id"]: s["timezone"] for s in problem["sites"]}
    for row in steps.iter_rows(named=True):
        start = row["start_utc"].replace(tzinfo=UTC)
        wall = start.astimezone(ZoneInfo(zones[row["site"]])).replace(tzinfo=None)
        assert row["start_local"] == wall
        assert row["start_local"] != row["start_utc"]
    assert orders.height == len(schedule["orders"])
    assert set(orders.columns) >= {"order", "due_utc", "delivery_utc", "tardiness_min",
                                   "on_time", "sites"}
    for want in schedule["orders"]:
        row = orders.filter(pl.col("order").str.strip_prefix("'") == want["id"]).row(
            0, named=True)
        assert row["tardiness_min"] == want["tardiness_min"]
        assert row["on_time"] == (want["tardiness_min"] == 0)
        assert row["delivery_utc"].replace(tzinfo=UTC) == utc(want["delivery"])
        assert row["sites"] == ";".join(want["sites"])
    late = orders.filter(pl.col("order") == LATE_ID).row(0, named=True)
    assert late["tardiness_min"] > 0 and late["on_time"] is False


def test_xlsx_neutralises_formulas_and_has_none(api: Any) -> None:
    """Formula-like ids and customers are quoted in both sheets and the workbook stores no
    formula at all (no `<f>` element in any sheet)."""
    content = api.get("/schedules/j1/export.xlsx").content
    sheets = pl.read_excel(io.BytesIO(content), sheet_id=0)
    assert isinstance(sheets, dict)
    assert ("'" + EVIL_ID) in sheets["steps"]["order"].to_list()
    assert ("'" + EVIL_ID) in sheets["orders"]["order"].to_list()
    assert ("'" + EVIL_CUSTOMER) in sheets["orders"]["customer"].to_list()
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name), name


def test_exports_name_a_download_file(api: Any) -> None:
    """Both exports are attachments named after the job."""
    for ext in ("csv", "xlsx"):
        r = api.get(f"/schedules/j1/export.{ext}")
        assert r.headers["content-disposition"] == f'attachment; filename="rackplan-j1.{ext}"'


def test_unknown_job_is_404_and_unfinished_job_409(
    api: Any, solved: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """An unknown job is 404 and a queued job (no schedule yet) is 409, both problem+json
    naming the job."""
    insert_job(api, "queued1", solved[0], None, status=JobStatus.QUEUED)
    for ext in ("csv", "xlsx"):
        r = api.get(f"/schedules/nope/export.{ext}")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert "nope" in r.json()["detail"]
        r = api.get(f"/schedules/queued1/export.{ext}")
        assert r.status_code == 409
        assert r.json()["errors"][0]["id"] == "queued1"
        assert "queued" in r.json()["detail"]


def test_job_id_with_nul_is_404(api: Any) -> None:
    """A job id holding a NUL character (which PostgreSQL cannot even compare) is 404."""
    r = api.get("/schedules/a%00b/export.csv")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_infeasible_result_is_409(api: Any, solved: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """A finished job whose result has no steps (INFEASIBLE) has nothing to export: 409."""
    empty = {**solved[1], "status": "INFEASIBLE", "items": [], "reasons": ["no site"]}
    insert_job(api, "inf1", solved[0], empty)
    r = api.get("/schedules/inf1/export.csv")
    assert r.status_code == 409
    assert "INFEASIBLE" in r.json()["detail"]


def test_viewer_may_export_and_no_key_may_not(
    make_client: Callable[..., AbstractContextManager[Any]],
    solved: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """With keys configured a viewer key may export; a request without a key gets 401."""
    with make_client(api_keys=f"{VIEWER_KEY}:viewer") as c:
        insert_job(c, "j1", *solved)
        assert c.get("/schedules/j1/export.csv").status_code == 401
        r = c.get("/schedules/j1/export.xlsx", headers={"X-API-Key": VIEWER_KEY})
        assert r.status_code == 200
        assert r.content[:2] == b"PK"


def test_neutralise_formulas_covers_every_trigger() -> None:
    """Text starting with =, +, -, @, tab or CR gets a leading quote; other text and
    non-text columns are left alone."""
    df = pl.DataFrame({
        "text": ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "SO-1", "a=b", None],
        "number": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
    })
    out = neutralise_formulas(df)
    assert out["text"].to_list() == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "SO-1", "a=b", None]
    assert out["number"].to_list() == df["number"].to_list()
