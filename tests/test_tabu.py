"""Tests of `solver.search.tabu`: the critical-path tabu search for flexible job shops.

Random flexible job shops (with releases) check that no move of the neighbourhood can
close a cycle and that the search returns valid schedules no worse than its start; a
hand-made case checks that it finds a known optimum the dispatch misses, and `applies`
is checked against the problem features the disjunctive graph cannot express.
"""

from __future__ import annotations

import logging
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brute import brute_force
from test_sequence import _children

from solver.compiled import Compiled, compile_problem
from solver.dispatch import best_dispatch
from solver.formats.benchmarks import read_fjsp
from solver.problem import Problem, load_problem
from solver.schedule import Status, build_schedule
from solver.search.context import Context
from solver.search.tabu import Tabu, _Graph, _moves, applies
from solver.solution import Assignment
from solver.solve import Progress, SolveParams, solve
from solver.tuning import Tuning
from solver.validate import validate

ROOT = Path(__file__).resolve().parents[1]
PROFILE = settings(
    max_examples=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SEED = 20261201
# three jobs, two machines: the dispatch's best rule ends at 13, the optimum at 11
HAND = "3 2\n1 1 1 6\n2 1 2 4 2 2 6 1 5\n2 1 2 1 2 2 3 1 2\n"


@st.composite
def job_shops(draw: st.DrawFn, max_jobs: int = 5, max_machines: int = 3) -> dict[str, Any]:
    """A random flexible job shop file read as a problem, some jobs with a release."""
    m = draw(st.integers(1, max_machines))
    n = draw(st.integers(1, max_jobs))
    lines = [f"{n} {m}"]
    for _ in range(n):
        k = draw(st.integers(1, 4))
        parts = [str(k)]
        for _ in range(k):
            machines = draw(st.lists(st.integers(1, m), min_size=1, max_size=m, unique=True))
            parts.append(str(len(machines)))
            for x in machines:
                parts += [str(x), str(draw(st.integers(1, 9)))]
        lines.append(" ".join(parts))
    data = read_fjsp("\n".join(lines), "random")
    for o in data["orders"]:
        r = draw(st.integers(0, 12))
        if r:
            o["release"] = f"2026-01-05T00:{r:02d}:00Z"
    return data


def _random_file(jobs: int, machines: int, seed: int) -> str:
    """A flexible job shop file of `jobs` jobs of 5 steps, each on 1-3 of `machines`."""
    rng = random.Random(seed)
    lines = [f"{jobs} {machines}"]
    for _ in range(jobs):
        parts = ["5"]
        for _ in range(5):
            ms = rng.sample(range(1, machines + 1), rng.randint(1, 3))
            parts.append(str(len(ms)))
            for x in ms:
                parts += [str(x), str(rng.randint(1, 20))]
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def _start(data: dict[str, Any]) -> tuple[Problem, Compiled, Assignment]:
    p = load_problem(data)
    c = compile_problem(p)
    return p, c, best_dispatch(c)


def _valid(p: Problem, c: Compiled, a: Assignment) -> list[str]:
    s = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="tabu")
    return validate(p, s)


@PROFILE
@seed(SEED)
@given(job_shops(), st.integers(0, 1000))
def test_no_move_of_the_neighbourhood_closes_a_cycle(data: dict[str, Any], walk: int) -> None:
    """Along a random walk, every candidate move, made on its own, leaves the sequences
    acyclic (the search relies on the moves' tests, not on finding cycles)."""
    p, c, start = _start(data)
    assert applies(c)
    g = _Graph(c, start)
    rng = random.Random(walk)
    for _ in range(15):
        moves = _moves(g)
        if not moves:
            break
        saved = g.r[:], g.q[:]
        for _, v, k, idx in moves:
            k0, i0 = g.move(v, k, idx)
            assert g.times(), f"moving op {v} to resource {k} at {idx} closed a cycle"
            assert _valid(p, c, g.assignment()) == []
            g.move(v, k0, i0)
            g.r[:], g.q[:] = saved
        _, v, k, idx = rng.choice(moves)
        g.move(v, k, idx)
        assert g.times()


@PROFILE
@seed(SEED)
@given(job_shops(max_jobs=6, max_machines=4))
def test_search_returns_a_valid_schedule_no_worse(data: dict[str, Any]) -> None:
    p, c, start = _start(data)
    ctx = Context(c, seed=1, tuning=Tuning(tabu_stall=30))
    a = Tabu(max_iterations=150).run(ctx, start, 5.0)
    assert _valid(p, c, a) == []
    assert max(a.end) <= max(start.end)


def test_finds_the_optimum_the_dispatch_misses() -> None:
    """Three jobs on two machines: the dispatch ends at 13, the optimum (brute force) at
    11; the search, seeded and with an iteration budget, reaches it."""
    p, c, start = _start(read_fjsp(HAND, "hand"))
    best = brute_force(p)
    assert best is not None
    opt = int(best[0])
    assert max(start.end) > opt
    a = Tabu(max_iterations=200).run(Context(c), start, 10.0)
    assert max(a.end) == opt
    assert _valid(p, c, a) == []


def test_solve_runs_the_search_on_flexible_job_shops() -> None:
    """Without the full model (its limit at 0), the tabu search is what improves on the
    dispatch: it reports the optimum (the LNS after it may only tidy the due dates)."""
    p = load_problem(read_fjsp(HAND, "hand"))
    seen: list[Progress] = []
    s = solve(p, SolveParams(time_limit=2.0, workers=1, seed=0, progress=seen.append,
                             tuning=Tuning(full_model_limit_makespan=0)))
    assert [x.objective for x in seen if x.phase == "tabu"][-1:] == [11]
    assert s["kpis"]["makespan_min"] == 11
    assert validate(p, s) == []


def test_applies_only_where_the_graph_is_the_whole_problem() -> None:
    data = read_fjsp("2 2\n2 1 1 3 1 2 2\n1 2 1 1 2 2\n", "hand")
    assert applies(compile_problem(load_problem(data)))
    sample = load_problem((ROOT / "app" / "sample" / "sample.json").read_text())
    assert not applies(compile_problem(sample))  # shifts, power caps, due dates
    capped = dict(data, sites=[dict(data["sites"][0], power_cap_kw=10.0)])
    capped["products"] = [
        dict(pr, routing=[dict(st_, power_kw=5.0) for st_ in pr["routing"]])
        for pr in data["products"]
    ]
    assert not applies(compile_problem(load_problem(capped)))
    tard = dict(data, objective="tardiness")
    assert not applies(compile_problem(load_problem(tard)))


def test_two_workers_search_in_two_processes_and_leave_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With two workers a helper process searches too, sends its best back and ends."""
    p, c, start = _start(read_fjsp(_random_file(10, 5, seed=3), "two"))
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="solver.search.tabu"):
        a = Tabu().run(Context(c, workers=2), start, 1.5)
    assert "in a helper" in caplog.text and "nothing in a helper" not in caplog.text
    assert _children() == before
    assert _valid(p, c, a) == []
    assert max(a.end) <= max(start.end)
