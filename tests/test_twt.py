"""Tests of `solver.search.twt`: the weighted-tardiness tabu search on the disjunctive graph.

Random (flexible) job shops with weighted due dates, releases and transit times check that
no move of the neighbourhood can close a cycle, that the per-unit tails are the longest
paths, and that the search returns valid schedules no worse than its start; tiny ones
that it reaches the brute-force optimum; `applies` is checked against the problem features
the disjunctive graph cannot express, and the stop callback and the helper process.
"""

from __future__ import annotations

import functools
import logging
import random
import sys
import time
from dataclasses import replace
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
from solver.formats.benchmarks import read_fjsp, read_jssp
from solver.params import SolveParams
from solver.problem import Problem, load_problem
from solver.schedule import Status, build_schedule
from solver.search.context import Context
from solver.search.twt import (
    NEG,
    SearchStats,
    Twt,
    TwtParams,
    _Graph,
    _moves,
    applies,
    search,
)
from solver.solution import Assignment, evaluate, score
from solver.solve import dispatch_rules, solve
from solver.tuning import Tuning
from solver.validate import validate

ROOT = Path(__file__).resolve().parents[1]
PROFILE = settings(
    max_examples=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SEED = 20261203


def _with_due_dates(
    data: dict[str, Any], dues: list[int], weights: list[float],
    releases: list[int] | None = None,
) -> dict[str, Any]:
    """A benchmark problem dict with objective tardiness: per job its due date and
    release (minutes after horizon_start, 0: none) and its weight."""
    orders = []
    for i, o in enumerate(data["orders"]):
        o = dict(o, due=_minute(dues[i]), weight=weights[i])
        if releases is not None and releases[i]:
            o["release"] = _minute(releases[i])
        orders.append(o)
    return dict(data, orders=orders, objective="tardiness")


def _minute(m: int) -> str:
    return f"2026-01-{5 + m // 1440:02d}T{m % 1440 // 60:02d}:{m % 60:02d}:00Z"


@st.composite
def job_shops(draw: st.DrawFn, max_jobs: int = 5, max_machines: int = 3) -> dict[str, Any]:
    """A random flexible job shop with weighted due dates, some jobs with a release."""
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
    dues = [draw(st.integers(0, 30)) for _ in range(n)]
    weights = [draw(st.sampled_from([1.0, 2.0, 4.0])) for _ in range(n)]
    releases = [draw(st.integers(0, 8)) for _ in range(n)]
    return _with_due_dates(data, dues, weights, releases)


def _random_jssp(jobs: int, machines: int, seed: int) -> str:
    """A job shop file: every job visits every machine once, 1-20 minutes each."""
    rng = random.Random(seed)
    lines = [f"{jobs} {machines}"]
    for _ in range(jobs):
        order = list(range(machines))
        rng.shuffle(order)
        lines.append(" ".join(f"{x} {rng.randint(1, 20)}" for x in order))
    return "\n".join(lines) + "\n"


def _tight(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """Due dates at `factor` times each job's total processing time, weights 4/2/1."""
    n = len(data["orders"])
    products = {p["id"]: p for p in data["products"]}
    dues = [int(factor * sum(min(a["duration_min"] for a in s["alternatives"])
                             for s in products[o["product"]]["routing"]))
            for o in data["orders"]]
    weights = [4.0 if j < n // 5 else 2.0 if j < n - n // 5 else 1.0 for j in range(n)]
    return _with_due_dates(data, dues, weights)


def _start(data: dict[str, Any]) -> tuple[Problem, Compiled, Assignment]:
    p = load_problem(data)
    c = compile_problem(p)
    return p, c, best_dispatch(c)


def _valid(p: Problem, c: Compiled, a: Assignment) -> list[str]:
    s = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="twt")
    return validate(p, s)


def _longest_tails(g: _Graph) -> list[list[int]]:
    """Per op and unit, the longest path from the op's start to the unit's completion,
    by plain recursion over the graph (NEG: no path)."""

    def succ(x: int) -> list[int]:
        out = [g.js[x]] if g.js[x] >= 0 else []
        s = g.seq[g.mach[x]]
        if g.pos[x] + 1 < len(s):
            out.append(s[g.pos[x] + 1])
        return out

    @functools.cache
    def longest(x: int, u: int) -> int:
        best = g.p[x] if g.last[u] == x else NEG
        for y in succ(x):
            v = longest(y, u)
            if v > 0:
                best = max(best, g.p[x] + v)
        return best

    return [[longest(x, u) for u in range(g.n_units)] for x in range(g.n)]


@PROFILE
@seed(SEED)
@given(job_shops(), st.integers(0, 1000))
def test_no_move_of_the_neighbourhood_closes_a_cycle(data: dict[str, Any], walk: int) -> None:
    """Along a random walk, every candidate move, made on its own, leaves the sequences
    acyclic and the schedule valid, and the tails stay the longest paths."""
    p, c, start = _start(data)
    assert applies(c)
    g = _Graph(c, start)
    rng = random.Random(walk)
    for _ in range(10):
        tails = [[t if t > 0 else NEG for t in row] for row in g.tails]
        assert tails == _longest_tails(g)
        moves = _moves(g)
        if not moves:
            break
        for _, _, v, k, idx in moves:
            k0, i0 = g.move(v, k, idx)
            got = g.heads()
            assert got is not None, f"moving op {v} to resource {k} at {idx} closed a cycle"
            g.move(v, k0, i0)
        _, _, v, k, idx = rng.choice(moves)
        g.move(v, k, idx)
        got = g.heads()
        assert got is not None
        g.commit(*got)
        assert _valid(p, c, g.assignment()) == []
        assert g.key[0] == evaluate(c, g.assignment())[0]


@PROFILE
@seed(SEED)
@given(job_shops(max_jobs=6, max_machines=4))
def test_search_returns_a_valid_schedule_no_worse(data: dict[str, Any]) -> None:
    """Whatever the instance, the result passes the validator and scores no worse."""
    p, c, start = _start(data)
    a = search(c, start, TwtParams(time_limit=5.0, seed=1, stall=30, max_iterations=120))
    assert _valid(p, c, a) == []
    assert score(c, a) <= score(c, start)


@pytest.mark.parametrize("case", range(6))
def test_reaches_the_brute_force_optimum_on_tiny_job_shops(case: int) -> None:
    """Three jobs on two or three machines with tight weighted due dates: the search
    (seeded, with an iteration budget) ends at the brute-force optimum."""
    jobs, machines = (3, 2) if case < 3 else (3, 3)
    data = _tight(read_jssp(_random_jssp(jobs, machines, case), "tiny"), 1.2)
    p, c, start = _start(data)
    best = brute_force(p)
    assert best is not None
    a = search(c, start, TwtParams(time_limit=20.0, seed=0, stall=50, max_iterations=600))
    assert _valid(p, c, a) == []
    assert evaluate(c, a)[0] == best[0] * c.weight_scale


def _flexible(case: int) -> dict[str, Any]:
    """Three jobs of one to three steps on two machines, most steps on either, weighted
    due dates, a release on the second job and a transit time for the third."""
    rng = random.Random(case)
    lines = ["3 2"]
    for _ in range(3):
        k = rng.randint(1, 3)
        parts = [str(k)]
        for _ in range(k):
            ms = rng.sample([1, 2], rng.randint(1, 2))
            parts.append(str(len(ms)))
            for x in ms:
                parts += [str(x), str(rng.randint(1, 7))]
        lines.append(" ".join(parts))
    dues = [rng.randint(3, 10) for _ in range(3)]
    data = _with_due_dates(read_fjsp("\n".join(lines), "flex"), dues, [2.0, 1.0, 4.0],
                           [0, rng.randint(0, 3), 0])
    data["sites"] = [dict(data["sites"][0], transit_min={"east": 1})]
    data["orders"][2]["destination"] = "east"
    return data


@pytest.mark.parametrize("case", [12, 16, 33, 65])
def test_reaches_the_brute_force_optimum_of_flexible_shops_with_releases(case: int) -> None:
    """Machines to choose, a release and a transit time: the search ends at the optimum
    that the dispatch misses."""
    p, c, start = _start(_flexible(case))
    assert applies(c)
    best = brute_force(p)
    assert best is not None
    assert evaluate(c, start)[0] > best[0] * c.weight_scale
    a = search(c, start, TwtParams(time_limit=20.0, seed=0, max_iterations=400))
    assert _valid(p, c, a) == []
    assert evaluate(c, a)[0] == best[0] * c.weight_scale


def test_applies_only_where_the_graph_is_the_whole_problem() -> None:
    """Due dates, releases and transit are in; makespan, shifts, capacity above one,
    power caps, fixed steps and a reference schedule are out."""
    base = _with_due_dates(read_fjsp("2 2\n2 1 1 3 1 2 2\n1 2 1 1 2 2\n", "hand"),
                           [2, 3], [1.0, 2.0], [0, 1])
    assert applies(compile_problem(load_problem(base)))
    transit = dict(base, sites=[dict(base["sites"][0], transit_min={"east": 30})])
    transit["orders"] = [dict(base["orders"][0], destination="east"), base["orders"][1]]
    assert applies(compile_problem(load_problem(transit)))
    assert not applies(compile_problem(load_problem(dict(base, objective="makespan"))))
    shifts = dict(base, sites=[dict(base["sites"][0], shifts=[
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "14:00"}])])
    assert not applies(compile_problem(load_problem(shifts)))
    wide = dict(base, resources=[dict(base["resources"][0], capacity=2),
                                 base["resources"][1]])
    assert not applies(compile_problem(load_problem(wide)))
    capped = dict(base, sites=[dict(base["sites"][0], power_cap_kw=10.0)])
    capped["products"] = [
        dict(pr, routing=[dict(st_, power_kw=5.0) for st_ in pr["routing"]])
        for pr in base["products"]
    ]
    assert not applies(compile_problem(load_problem(capped)))
    fixed = dict(base, fixed=[{"order": "J1", "unit": 1, "op": "o1", "resource": "M1",
                               "start": "2026-01-05T00:00:00Z",
                               "end": "2026-01-05T00:03:00Z"}])
    assert not applies(compile_problem(load_problem(fixed)))
    sample = load_problem((ROOT / "app" / "sample" / "sample.json").read_text())
    assert not applies(compile_problem(sample))  # shifts, capacity, power caps
    c = compile_problem(load_problem(base))
    c.reference = object()  # type: ignore[assignment]
    assert not applies(c)


def test_stop_ends_the_search_at_once_with_its_best() -> None:
    """A stop callback that says stop: the search returns within moments, and what it
    returns is valid and no worse than the start."""
    data = _tight(read_jssp(_random_jssp(10, 5, seed=7), "stop"), 1.3)
    p, c, start = _start(data)
    calls: list[float] = []

    def stop() -> bool:
        calls.append(time.monotonic())
        return len(calls) > 1

    t0 = time.monotonic()
    a = search(c, start, TwtParams(time_limit=30.0, seed=0, stop=stop), workers=2)
    assert time.monotonic() - t0 < 5.0
    assert len(calls) >= 2
    assert _valid(p, c, a) == []
    assert score(c, a) <= score(c, start)


def test_improves_on_the_dispatch_and_reports_each_best() -> None:
    """On a 10 x 5 job shop with tight due dates the search beats the dispatch, and
    `on_improve` sees every new best, the last being the result."""
    data = _tight(read_jssp(_random_jssp(10, 5, seed=3), "ten"), 1.3)
    p, c, start = _start(data)
    seen: list[Assignment] = []
    a = search(c, start, TwtParams(time_limit=20.0, seed=0, max_iterations=300),
               on_improve=seen.append)
    assert score(c, a) < score(c, start)
    assert seen and seen[-1] == a
    assert [score(c, x) for x in seen] == sorted((score(c, x) for x in seen), reverse=True)
    assert _valid(p, c, a) == []


def test_two_workers_search_in_two_processes_and_leave_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With two workers a helper process searches too, sends its best back and ends."""
    data = _tight(read_jssp(_random_jssp(10, 5, seed=5), "two"), 1.3)
    p, c, start = _start(data)
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="solver.search.twt"):
        a = search(c, start, TwtParams(time_limit=1.5, seed=0), workers=2)
    assert "in a helper" in caplog.text and "nothing in a helper" not in caplog.text
    assert _children() == before
    assert _valid(p, c, a) == []
    assert score(c, a) <= score(c, start)


def test_the_phase_searches_from_the_incumbent_with_the_tuning() -> None:
    """`Twt` as a phase: from the dispatch schedule, at a fixed iteration budget, the
    same result as the search with the tuning's parameters, better than the start, and
    each new best reported as the phase's."""
    data = _tight(read_jssp(_random_jssp(10, 5, seed=3), "phase"), 1.3)
    p, c, start = _start(data)
    seen: list[str] = []
    ctx = Context(c, tuning=Tuning(twt_stall=50), seed=2,
                  progress=lambda pr: seen.append(pr.phase))
    a = Twt(max_iterations=300).run(ctx, start, 20.0)
    b = search(c, start, TwtParams(20.0, seed=2, stall=50, max_iterations=300))
    assert (a.res, a.start) == (b.res, b.start)
    assert score(c, a) < score(c, start)
    assert seen and set(seen) == {"twt"}
    assert _valid(p, c, a) == []


def test_a_solve_of_a_job_shop_with_due_dates_runs_it_before_the_full_model() -> None:
    """`solve` on a 10 x 5 job shop with due dates: the solve log holds the search
    between the bounds and the full model, and the schedule is valid and no later than
    the dispatch's."""
    data = _tight(read_jssp(_random_jssp(10, 5, seed=4), "solve"), 1.3)
    p, c, start = _start(data)
    s = solve(p, SolveParams(time_limit=4.0, workers=1, seed=0))
    phases = [e["phase"] for e in s["solve_log"]]
    assert phases[:4] == ["dispatch", "bounds", "twt", "cp-sat"]
    assert s["status"] in ("OPTIMAL", "FEASIBLE")
    assert validate(p, s) == []
    assert s["kpis"]["total_weighted_tardiness_min"] * c.weight_scale <= evaluate(c, start)[0]


@PROFILE
@seed(SEED)
@given(job_shops(max_jobs=6, max_machines=4), st.integers(0, 1000))
def test_its_figure_is_the_validators_weighted_tardiness(data: dict[str, Any], s: int) -> None:
    """The weighted tardiness the search works with is the one the validator computes
    from the schedule it decodes to (the schedule's claimed KPIs are checked by it)."""
    p, c, start = _start(data)
    a = search(c, start, TwtParams(time_limit=5.0, seed=s, stall=20, max_iterations=40))
    sched = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                           source="twt")
    assert validate(p, sched) == []
    got = _Graph(c, a).key[0]
    assert got == round(sched["kpis"]["total_weighted_tardiness_min"] * c.weight_scale)


def test_stats_count_the_iterations() -> None:
    """`stats` holds the iterations made (the budget, on an instance it cannot finish)
    and their seconds."""
    data = _tight(read_jssp(_random_jssp(10, 5, seed=3), "stats"), 1.3)
    _, c, start = _start(data)
    stats = SearchStats()
    search(c, start, TwtParams(time_limit=20.0, seed=0, max_iterations=60), stats=stats)
    assert stats.iterations == 60
    assert stats.seconds > 0 and stats.per_second > 0


def test_a_solve_with_it_is_no_worse_than_without() -> None:
    """On a tiny job shop where CP-SAT proves its optimum, the solve with the search
    and the one without (`twt_share = 0`) both end at the brute-force optimum."""
    data = _tight(read_jssp(_random_jssp(3, 3, seed=11), "tiny"), 1.2)
    p = load_problem(data)
    best = brute_force(p)
    assert best is not None and best[0] > 0
    params = SolveParams(time_limit=3.0, workers=1, seed=0)
    with_it = solve(p, params)
    without = solve(p, replace(params, tuning=Tuning(twt_share=0.0)))
    for s in (with_it, without):
        assert validate(p, s) == []
        assert s["kpis"]["total_weighted_tardiness_min"] == best[0]
    assert "twt" in [e["phase"] for e in with_it["solve_log"]]
    assert "twt" not in [e["phase"] for e in without["solve_log"]]


def test_the_benchmark_runs_the_search_alone_at_fixed_iterations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`bench/twt.py --search N`: the search alone from the dispatch schedule, the same
    figure as the search called directly, and its speed."""
    from bench import twt as bench_twt

    assert bench_twt.main(["--search", "30", "--only", "g10x10-1", "--factors", "1.3",
                           "--search-seeds", "0"]) == 0
    out = capsys.readouterr().out
    c = compile_problem(bench_twt.load("g10x10-1", 1.3))
    a = search(c, best_dispatch(c, dispatch_rules(c, Tuning())),
               TwtParams(1e9, seed=0, max_iterations=30))
    value = round(evaluate(c, a)[0] / c.weight_scale)
    row = next(line for line in out.splitlines() if line.startswith("g10x10-1"))
    assert f"{value:,}" in row.split()
    assert "iterations per CPU second" in out
