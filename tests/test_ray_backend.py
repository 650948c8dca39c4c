"""The Ray backend (`solver.execution.RayBackend`) on a Ray of this machine started once
for the module: scenario variants, site-loss runs and a decomposed solve give validated
schedules of the same shape as the local backend's; a worker that dies fails only its
own part (a decomposed solve keeps that site's dispatch schedule). Tiny problems, 1 s
limits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed (pip install 'rackplan[distributed]')")

from _ray_calls import DOOMED, double_or_die, solve_or_die  # noqa: E402

from bench.instances import generate  # noqa: E402
from solver.cli import main  # noqa: E402
from solver.execution import Failed, LocalBackend, RayBackend, backend_for  # noqa: E402
from solver.problem import Problem, load_problem  # noqa: E402
from solver.resilience import site_losses, solve_all  # noqa: E402
from solver.scenario import apply_changes  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.tuning import Tuning  # noqa: E402
from solver.validate import validate  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "app" / "sample" / "sample.json"


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """A Ray of this machine; its workers and the local backend's child processes find
    the tests' calls (tests/_ray_calls.py) on their PYTHONPATH."""
    here = str(Path(__file__).resolve().parent)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join(
            p for p in (here, os.environ.get("PYTHONPATH")) if p))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield
        ray.shutdown()


@pytest.fixture(scope="module")
def small() -> Problem:
    doc: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    doc["orders"] = doc["orders"][:6]
    return load_problem(doc)


def _shape(schedule: dict[str, Any]) -> tuple[Any, ...]:
    return (schedule["status"], sorted(schedule),
            sorted((i["order"], i["unit"], i["op"]) for i in schedule["items"]))


@pytest.mark.parametrize("backend", [RayBackend("local"), LocalBackend(2)],
                         ids=["ray", "local"])
def test_a_dead_worker_fails_its_call_only(backend: Any) -> None:
    got = backend.map(double_or_die, [(1,), (-1,), (4,)])
    assert got[0] == 2 and got[2] == 8
    assert isinstance(got[1], Failed) and got[1].reason
    with pytest.raises(ValueError, match="zero"):  # an exception of the call is raised
        backend.map(double_or_die, [(2,), (0,)])
    # more CPUs than the machine has: as many as it has
    assert backend.map(double_or_die, [(5,), (6,)], cpus=64) == [10, 12]


def test_site_losses_on_ray_are_valid_and_shaped_as_local(small: Problem) -> None:
    problems = [small, *(apply_changes(small, v.changes) for v in site_losses(small, 3))]
    on_ray = solve_all(problems, time_limit=1, seed=1, backend=RayBackend("local"))
    local = solve_all(problems, time_limit=1, seed=1, processes=1)
    assert len(on_ray) == len(local) == len(problems) == 5
    for p, a, b in zip(problems, on_ray, local, strict=True):
        assert a["status"] in ("OPTIMAL", "FEASIBLE")
        assert validate(p, a) == []
        assert _shape(a) == _shape(b)


def test_cli_resilience_on_ray(small: Problem, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(small.model_dump(mode="json", exclude_none=True)))
    out = tmp_path / "r.json"
    assert main(["resilience", str(path), "--days", "3", "--time-limit", "1",
                 "--ray", "local", "-o", str(out)]) == 0
    answer = json.loads(out.read_text())
    assert sorted(r["site"] for r in answer["sites"]) == sorted(s.id for s in small.sites)
    assert all(r["status"] in ("OPTIMAL", "FEASIBLE") for r in answer["sites"])
    assert "rank" in capsys.readouterr().out


def test_cli_without_ray_says_so(monkeypatch: pytest.MonkeyPatch, small: Problem,
                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import solver.execution as ex

    def missing(address: str) -> Any:
        raise ex.BackendError(f"the Ray address '{address}' is set but Ray is not installed")

    monkeypatch.setattr(ex, "_ray", missing)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(small.model_dump(mode="json", exclude_none=True)))
    assert main(["resilience", str(path), "--ray", "auto"]) == 2
    assert "--ray: the Ray address 'auto' is set but Ray is not installed" in (
        capsys.readouterr().err)
    assert isinstance(backend_for(None, 3), LocalBackend)


def _decomposed(backend: Any, solve_part: Any = solve) -> tuple[Problem, dict[str, Any]]:
    from solver import decompose as dec

    p = load_problem(generate(30, 0, steps=4, n_sites=3))
    params = SolveParams(time_limit=4, workers=2, seed=1, decompose=True, backend=backend,
                         tuning=Tuning(decompose_process_min_seconds=0.5,
                                       decompose_repair_rounds=0))
    return p, dec.decompose(p, params, solve_part)


def test_cli_decomposed_solve_on_ray(tmp_path: Path) -> None:
    """``rackplan solve --decompose --ray local``: the site parts as Ray tasks."""
    p = load_problem(generate(30, 0, steps=4, n_sites=3))
    path, out, tuning = tmp_path / "p.json", tmp_path / "s.json", tmp_path / "t.toml"
    path.write_text(json.dumps(p.model_dump(mode="json", exclude_none=True)))
    tuning.write_text("decompose_process_min_seconds = 0.5\ndecompose_repair_rounds = 0\n")
    assert main(["solve", str(path), "-o", str(out), "--decompose", "--workers", "2",
                 "--time-limit", "4", "--seed", "1", "--tuning", str(tuning), "--quiet",
                 "--ray", "local"]) == 0
    schedule = json.loads(out.read_text())
    assert schedule["source"] == "decompose", schedule["notes"]
    assert schedule["status"] in ("OPTIMAL", "FEASIBLE")
    assert validate(p, schedule) == []
    sites = [e for e in schedule["solve_log"] if e["phase"].startswith("site ")]
    assert len(sites) >= 2 and not any("failed" in e for e in sites)


@pytest.mark.parametrize("backend", [RayBackend("local"), LocalBackend(2)],
                         ids=["ray", "local"])
def test_a_dead_part_keeps_its_sites_dispatch_schedule(backend: Any) -> None:
    p, out = _decomposed(backend, solve_or_die)
    assert out["source"] == "decompose", out["notes"]
    assert validate(p, out) == []
    failed = {e["phase"] for e in out["solve_log"] if "failed" in e}
    assert f"site {DOOMED}" in failed
    assert any(n.startswith(f"site {DOOMED}: its part was not solved") for n in out["notes"])


class _LosesSecond(LocalBackend):
    """The local backend in this process, except that the second call's worker is lost."""

    def map(self, fn: Any, calls: Any, *, cpus: int = 1) -> list[Any]:
        got = super().map(fn, calls, cpus=cpus)
        return [Failed("the worker was lost") if i == 1 else g for i, g in enumerate(got)]


def test_a_lost_variant_is_unknown_with_the_reason_and_the_others_compare(
        small: Problem) -> None:
    from solver.resilience import resilience

    answer = resilience(small, 3, time_limit=0.5, seed=1, backend=_LosesSecond(1))
    lost = small.sites[0].id  # the first site loss is the second solve
    rows = {r["site"]: r for r in answer["sites"]}
    assert rows[lost]["status"] == "UNKNOWN" and rows[lost]["rank"] == len(rows)
    assert all(r["status"] in ("OPTIMAL", "FEASIBLE") for s, r in rows.items() if s != lost)
    side = next(v for v in answer["comparison"]["variants"] if v["name"] == lost)
    assert "not solved: the worker was lost" in json.dumps(side)
