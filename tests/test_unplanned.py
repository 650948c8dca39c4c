"""Orders the factory cannot build never block a plan: they are stored with a warning,
and every solve, reschedule and cron run plans the others and names them in `unplanned`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from jobwait import wait
from test_api_reschedule import LATER, PLANNED
from test_api_uploads import upload

from app.cli import main
from solver.problem import load_problem
from solver.validate import validate

MakeClient = Callable[..., AbstractContextManager[Any]]
# GB300 racks can be built at PHX and HOU only; SJC has no GB300 resource
STRANDED = {"id": "SO-9001", "customer": "acme", "product": "GB300-NVL72", "quantity": 2,
            "due": "2026-12-20T00:00:00Z", "allowed_sites": ["SJC"]}


def planned_without(job: dict[str, Any], problem: dict[str, Any]) -> dict[str, Any]:
    """A done, valid plan of the problem without SO-9001, which `unplanned` names; the
    entry."""
    assert job["status"] == "done" and job["valid"] and job["publishable"], job
    schedule = job["schedule"]
    assert validate(load_problem(problem), schedule) == []
    assert "SO-9001" not in {o["id"] for o in problem["orders"]}
    assert "SO-9001" not in {i["order"] for i in schedule["items"]}
    assert schedule["kpis"]["orders"] == len(problem["orders"])
    (entry,) = schedule["unplanned"]
    return dict(entry)


def test_an_unbuildable_order_is_stored_and_planned_around(
        make_client: MakeClient, db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """POST /orders warns (order, step, sites) and stores it; a solve, a reschedule and
    `rackplan reschedule` each make a valid plan of the rest and name it with its reason;
    the cron run exits 0 and publishes."""
    with make_client(now=PLANNED) as c:
        r = c.post("/orders", json=[STRANDED])
        assert r.status_code == 200, r.text
        assert r.json()["created"] == ["SO-9001"]
        (warning,) = r.json()["warnings"]
        assert warning["order"] == "SO-9001" and warning["code"] == "no_eligible_resource"
        assert warning["sites"] == ["SJC"] and warning["op"] == "assembly"
        assert "SJC" in warning["reason"] and "'assembly'" in warning["reason"]
        assert c.get("/orders/SO-9001").json()["status"] == "open"

        r = c.post("/schedules", json={"time_limit": 1, "workers": 1})
        assert r.status_code == 202, r.text
        job = wait(c, r.json()["id"], timeout=120)
        problem = c.get(f"/schedules/{job['id']}/problem").json()
        entry = planned_without(job, problem)
        assert entry == {"order": "SO-9001", "code": "no_eligible_resource",
                         "reason": warning["reason"], "op": "assembly", "sites": ["SJC"]}
        assert c.post(f"/schedules/{job['id']}/publish").status_code == 200

    with make_client(now=LATER) as c:
        r = c.post("/reschedule", json={"time_limit": 1, "workers": 1})
        assert r.status_code == 202, r.text
        job = wait(c, r.json()["id"], timeout=120)
        problem = c.get(f"/schedules/{job['id']}/problem").json()
        assert planned_without(job, problem)["code"] == "no_eligible_resource"

    monkeypatch.setenv("RACKPLAN_DATABASE_URL", db_url)
    monkeypatch.setenv("RACKPLAN_NOW", LATER)
    monkeypatch.setenv("RACKPLAN_LOG_JSON", "false")
    assert main(["reschedule", "--time-limit", "1", "--workers", "1", "--publish"]) == 0
    out = capsys.readouterr().out
    assert "unplanned orders: 1" in out
    assert f"unplanned: SO-9001 (no_eligible_resource): {warning['reason']}" in out
    assert "published: yes" in out
    with make_client(now=LATER) as c:
        published = c.get("/schedules/published").json()
        assert published["schedule"]["unplanned"][0]["order"] == "SO-9001"


def test_nothing_plannable_fails(make_client: MakeClient) -> None:
    """When no open order can be built the solve is refused (422) naming each order
    with its id."""
    with make_client() as c:
        ids = [o["id"] for o in c.get("/orders", params={"limit": 1000}).json()["items"]]
        for oid in ids:
            assert c.delete(f"/orders/{oid}").status_code == 200
        assert c.post("/orders", json=[STRANDED]).status_code == 200
        r = c.post("/schedules", json={"time_limit": 1})
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert any(e.get("id") == "SO-9001" for e in errors), errors
        assert any("nothing to plan" in e["message"] for e in errors), errors
        assert c.get("/schedules").json()["total"] == 0


def _file_with_stranded(tmp_path: Any) -> Any:
    """The sample's first four orders and SO-9001, as a problem file."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parents[1] / "app/sample/sample.json").read_text())
    data["orders"] = [*data["orders"][:4], STRANDED]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return path


def test_cli_solve_infeasible_by_default_plans_the_rest_when_asked(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """`rackplan solve` keeps SPEC section 4: INFEASIBLE, exit 1, reasons naming the
    order; with --plan-buildable exit 0, a plan of the rest with `unplanned`, which
    `rackplan validate` accepts and refuses once the entry is dropped."""
    import json

    from solver.cli import main as solver_main

    problem = _file_with_stranded(tmp_path)
    out = tmp_path / "s.json"
    assert solver_main(["solve", str(problem), "-o", str(out), "--quiet"]) == 1
    schedule = json.loads(out.read_text())
    assert schedule["status"] == "INFEASIBLE" and not schedule["items"]
    assert any("order 'SO-9001'" in r and "(SJC)" in r for r in schedule["reasons"])
    assert "order 'SO-9001'" in capsys.readouterr().err

    args = ["solve", str(problem), "-o", str(out), "--time-limit", "1", "--workers", "1",
            "--plan-buildable"]
    assert solver_main(args) == 0
    assert "unplanned SO-9001 (no_eligible_resource)" in capsys.readouterr().err
    schedule = json.loads(out.read_text())
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE")
    assert [u["order"] for u in schedule["unplanned"]] == ["SO-9001"]
    assert schedule["kpis"]["orders"] == 4
    assert solver_main(["validate", str(problem), str(out)]) == 0
    assert capsys.readouterr().out == "valid\n"
    schedule.pop("unplanned")
    out.write_text(json.dumps(schedule))
    assert solver_main(["validate", str(problem), str(out)]) == 1
    assert "unplanned: order 'SO-9001' is neither planned nor listed" in capsys.readouterr().out


def test_the_validator_checks_the_unplanned_claims() -> None:
    """A buildable order listed as unplanned is a violation; a malformed entry is a
    format fault."""
    import json
    from pathlib import Path

    from solver.problem import load_plannable
    from solver.solve import SolveParams, solve

    data = json.loads((Path(__file__).parents[1] / "app/sample/sample.json").read_text())
    data["orders"] = data["orders"][:2]
    problem = load_plannable(data).problem
    schedule = solve(problem, SolveParams(time_limit=1, workers=1))
    assert validate(problem, schedule) == []
    first = problem.orders[0].id
    claimed = {**schedule, "unplanned": [{"order": first, "code": "x", "reason": "y"}]}
    assert f"unplanned: order '{first}' can be built, so it must be planned" in validate(
        problem, claimed)
    assert validate(problem, {**schedule, "unplanned": [{"order": 3}]}) == [
        "format: unplanned[0] needs an 'order' id"]


def test_an_upload_warns_of_an_order_it_cannot_build(client: Any) -> None:
    """An order file (dry run, then for real) answers one warning per order the factory
    cannot build, naming the step and sites; the order is stored by the real upload."""
    csv = (b"id,product,quantity,due,allowed_sites\n"
           b"U-1,GB300-NVL72,1,2026-12-20,SJC\nU-2,GB200-NVL72,1,2026-12-20,\n")
    for dry in ("true", "false"):
        r = upload(client, csv, dry_run=dry)
        assert r.status_code == 200, r.text
        (w,) = r.json()["warnings"]
        assert (w["order"], w["code"], w["sites"]) == ("U-1", "no_eligible_resource", ["SJC"])
    assert client.get("/orders/U-1").json()["status"] == "open"
