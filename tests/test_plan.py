"""Tests of `solver.search.plan`: which phases a problem gets, and how the plan runs them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_solve import make, order

from bench.instances import generate
from solver.compiled import Compiled, compile_problem
from solver.dispatch import best_dispatch
from solver.formats.benchmarks import read_fjsp
from solver.params import SolveParams
from solver.problem import Objective, Problem, load_problem
from solver.schedule import Status, build_schedule
from solver.search.bounds import Bounds, PlanningBound
from solver.search.context import Context
from solver.search.full import FullModel
from solver.search.lns import Lns, RelaxedLns
from solver.search.plan import Step, describe, plan, run_plan
from solver.search.sequence import Sequence
from solver.search.tabu import Tabu
from solver.search.twt import Twt
from solver.solution import Assignment
from solver.tuning import Tuning

MK01 = Path("/work/shared/bench/fjsp/brandimarte/mk01.fjs")
SAMPLE = Path(__file__).resolve().parents[1] / "app" / "sample" / "sample.json"
# a flexible job shop by hand (two jobs, two machines): no shared bench needed
HAND = "2 2\n2 1 1 3 1 2 2\n1 2 1 1 2 2\n"


def steps(c: Compiled, **tuning: Any) -> list[tuple[type, float, bool | None]]:
    """The plan as (phase class, share, after_give_up)."""
    got = plan(c, SolveParams(tuning=Tuning(**tuning)))
    return [(type(s.phase), s.share, s.after_give_up) for s in got]


def with_reference(p: Problem) -> Compiled:
    """`p` compiled with its dispatch schedule as the reference (a reschedule)."""
    c = compile_problem(p)
    ref = build_schedule(c, best_dispatch(c), status=Status.FEASIBLE, lower_bound=0.0,
                         solve_seconds=0.0, source="dispatch")
    return compile_problem(p, None, ref)


def test_a_small_due_date_problem_gets_bounds_the_full_model_and_relaxed_lns() -> None:
    """Due dates within the full model's limit (228 pairs <= 600): per-order bounds (10 %
    of the limit), the full model (30 % of the time left), relaxed LNS for the rest."""
    c = compile_problem(load_problem(generate(20, 1)))
    assert steps(c) == [(Bounds, 0.1, None), (FullModel, 0.3, None), (RelaxedLns, 1.0, None)]
    got = plan(c, SolveParams())
    assert got[0].of_limit and not got[0].until_done and not got[1].until_done
    assert got[2].phase == RelaxedLns(0.5)


def test_due_dates_beyond_the_full_model_get_the_sequence_search() -> None:
    """Due dates beyond the full model's limit (990 pairs > 600): bounds, the planning
    bound (10 % of the time limit), the order-sequence search (85 %, never giving up
    without a reference), LNS with 2 s sub-models."""
    c = compile_problem(load_problem(generate(100, 1)))
    assert steps(c) == [(Bounds, 0.1, None), (PlanningBound, 0.1, None),
                        (Sequence, 0.85, None), (Lns, 1.0, None)]
    got = plan(c, SolveParams())
    assert got[1].of_limit and got[1].until_done
    assert got[2].phase == Sequence(give_up=None)
    assert got[3].phase == Lns(2.0)


def test_a_reschedule_gives_up_the_sequence_search_and_enlarges_the_lns() -> None:
    """With a reference: no per-order bounds (moves count); the sequence search gives up
    after 20 % of its time without beating the repaired plan; then LNS with 0.5 s
    sub-models from 40 units, else with 0.05 s ones."""
    c = with_reference(load_problem(generate(100, 1)))
    assert steps(c) == [(Sequence, 0.85, None), (Lns, 1.0, False), (Lns, 1.0, True)]
    got = plan(c, SolveParams())
    assert got[0].phase == Sequence(give_up=0.2)
    assert got[1].phase == Lns(0.05) and got[2].phase == Lns(0.5, 40)


def test_a_small_reschedule_gets_the_full_model_without_bounds() -> None:
    """A small reschedule: the full model and relaxed LNS, no per-order bounds."""
    c = with_reference(load_problem(generate(20, 1)))
    assert steps(c) == [(FullModel, 0.3, None), (RelaxedLns, 1.0, None)]


def test_a_flexible_job_shop_gets_the_tabu_search() -> None:
    """Makespan on a flexible job shop: the full model (25 %) when small, the tabu search
    (70 % of the time left), LNS for the rest; beyond the limit tabu then 2 s LNS."""
    c = compile_problem(load_problem(read_fjsp(HAND, "hand")))
    assert steps(c) == [(FullModel, 0.25, None), (Tabu, 0.7, None), (RelaxedLns, 1.0, None)]
    assert steps(c, full_model_limit_makespan=0) == [(Tabu, 0.7, None), (Lns, 1.0, None)]


@pytest.mark.skipif(not MK01.exists(), reason="the shared bench is not here")
def test_brandimarte_mk01_is_a_small_flexible_job_shop() -> None:
    """mk01 (115 pairs): the full model, the tabu search, relaxed LNS."""
    c = compile_problem(load_problem(read_fjsp(MK01.read_text(), "mk01")))
    assert [type(s.phase) for s in plan(c, SolveParams())] == [FullModel, Tabu, RelaxedLns]


def test_no_tabu_search_where_the_graph_is_not_the_whole_problem() -> None:
    """Makespan with shifts and power caps (the sample) or with a reference: no tabu."""
    sample = load_problem(SAMPLE.read_text())
    mk = compile_problem(sample.model_copy(update={"objective": Objective.MAKESPAN}))
    assert steps(mk) == [(Lns, 1.0, None)]  # 7,708 pairs > 3,000: LNS alone
    fjsp = with_reference(load_problem(read_fjsp(HAND, "hand")))
    assert Tabu not in [t for t, _, _ in steps(fjsp)]


def _job_shop_with_due_dates() -> Compiled:
    """The hand-made shop as a job shop with due dates (each step on one machine)."""
    data = read_fjsp("2 2\n2 1 1 3 1 2 2\n1 1 2 2\n", "hand")
    orders = [dict(o, due="2026-01-05T00:04:00Z") for o in data["orders"]]
    return compile_problem(load_problem(dict(data, orders=orders, objective="tardiness")))


def test_a_job_shop_with_due_dates_gets_the_weighted_tardiness_search() -> None:
    """Due dates on a job shop (the graph is the whole problem): bounds, the
    weighted-tardiness search (30 % of the time left), then the full model hinted with
    its result for the rest, on weighted tardiness alone; a share of 0: the plan of any
    small due-date problem; beyond the full model's limit the sequence search and LNS
    follow it as on any large due-date problem."""
    c = _job_shop_with_due_dates()
    assert steps(c) == [(Bounds, 0.1, None), (Twt, 0.3, None), (FullModel, 1.0, None),
                        (RelaxedLns, 1.0, None)]
    assert steps(c, twt_share=0.5, twt_full_model_share=0.6)[1:3] == [
        (Twt, 0.5, None), (FullModel, 0.6, None)]
    assert steps(c, full_model_limit_tardiness=0) == [
        (Bounds, 0.1, None), (Twt, 0.3, None), (Sequence, 0.85, None), (Lns, 1.0, None)]
    assert steps(c, twt_share=0) == [(Bounds, 0.1, None), (FullModel, 0.3, None),
                                     (RelaxedLns, 1.0, None)]
    assert plan(c, SolveParams())[2].phase == FullModel(tie_break=False)
    assert Twt not in [t for t, _, _ in steps(with_reference(load_problem(
        dict(read_fjsp("1 1\n1 1 1 3\n", "one"), objective="tardiness"))))]


def test_the_tuning_moves_the_limits_and_shares() -> None:
    """The limits and shares come from the tuning: a limit of 10**6 makes the large
    problem small; other shares change the steps' shares."""
    c = compile_problem(load_problem(generate(100, 1)))
    got = steps(c, full_model_limit_tardiness=10**6, full_model_share_tardiness=0.5,
                bounds_share=0.2, planning_share=0.3)
    assert got == [(Bounds, 0.2, None), (PlanningBound, 0.3, None), (FullModel, 0.5, None),
                   (RelaxedLns, 1.0, None)]
    assert PlanningBound not in [t for t, _, _ in steps(c, planning_min_pairs=10**6)]


def test_the_plan_reads_as_one_step_a_line() -> None:
    """`describe`: numbered lines with each phase, its share and when it runs."""
    text = describe(plan(with_reference(load_problem(generate(100, 1))), SolveParams()))
    assert text.splitlines() == [
        "1. sequence (the order-sequence search), gives up after 20% of its time without "
        "beating the repaired plan: 85% of the time left",
        "2. lns (sub-models of 0.05 s): the rest, unless a search gave up",
        "3. lns (sub-models of 0.5 s from 40 units): the rest, if a search gave up",
    ]


# ---- running a plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fake:
    """A stand-in phase: records its budget, answers `answer(ctx, start)`."""

    name: str
    answer: Callable[[Context, Assignment], Assignment] = lambda ctx, a: a
    ties: bool = False
    budgets: list[float] = field(default_factory=list)

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        self.budgets.append(budget)
        return self.answer(ctx, start)

    def describe(self) -> str:
        return self.name


def small() -> tuple[Context, Assignment]:
    """Two orders on one line, 100 minutes each, both due at 100: dispatch gives 100."""
    p = make(orders=[order("A", 100), order("B", 100)])
    c = compile_problem(p)
    return Context(c, time_limit=100.0), best_dispatch(c)


def worse(ctx: Context, a: Assignment) -> Assignment:
    b = a.copy()
    b.start, b.end = [x + 50 for x in a.start], [x + 50 for x in a.end]
    return b


def swapped(ctx: Context, a: Assignment) -> Assignment:
    """The two orders swapped: the same score, another schedule."""
    b = a.copy()
    b.start, b.end = a.start[::-1], a.end[::-1]
    return b


def test_each_step_gets_its_share_and_only_a_better_answer_is_kept() -> None:
    """Budgets are the share of the time left (of the limit for `of_limit`, less
    `min_phase_seconds`); a worse answer, or an equal one from a phase without ties,
    leaves the incumbent; an equal one from a phase with ties replaces it; each phase
    that ran is logged in order with the objective and bound after it."""
    ctx, start = small()
    a, b, t, c = (Fake("a", worse), Fake("b", swapped), Fake("t", swapped, ties=True),
                  Fake("c"))
    best, source = run_plan(ctx, [Step(a, 0.1, of_limit=True, until_done=False),
                                  Step(b, 0.5), Step(t, 0.5), Step(c, 1.0)], start)
    assert a.budgets[0] == pytest.approx(10.0, abs=0.1)
    assert b.budgets[0] == pytest.approx(50.0, abs=0.2)
    assert t.budgets[0] == pytest.approx(50.0, abs=0.2)
    assert c.budgets[0] == pytest.approx(100.0, abs=0.2)
    assert source == "t" and best.start == start.start[::-1]
    assert [e["phase"] for e in ctx.log] == ["a", "b", "t", "c"]
    assert all(e["objective"] == 100 and e["bound"] == 0 and e["seconds"] >= 0
               for e in ctx.log)


def test_no_phase_starts_without_time_or_after_a_stop_request() -> None:
    """The one guard: nothing runs with `min_phase_seconds` or less left, or once the
    caller asked to stop."""
    ctx, start = small()
    ctx.time_limit = 0.5
    f = Fake("f")
    assert run_plan(ctx, [Step(f, 1.0, until_done=False)], start) == (start, "dispatch")
    ctx, start = small()
    ctx.stop = lambda: True
    assert run_plan(ctx, [Step(f, 1.0, until_done=False)], start) == (start, "dispatch")
    assert f.budgets == [] and ctx.log == []


def test_once_at_the_bound_only_the_steps_that_need_not_gain_run() -> None:
    """With the incumbent at the proven bound, steps `until_done` are skipped; a step
    that is not (the full model, the bounds) still runs."""
    ctx, start = small()
    ctx.bound = 100.0
    skipped, runs = Fake("skipped"), Fake("runs")
    run_plan(ctx, [Step(skipped, 1.0), Step(runs, 1.0, until_done=False)], start)
    assert (skipped.budgets, len(runs.budgets)) == ([], 1)


def test_a_give_up_picks_the_steps_that_follow_it() -> None:
    """A phase that gives up (`ctx.gave_up`) runs the steps for after a give-up and
    skips those for when none happened."""
    def give_up(ctx: Context, a: Assignment) -> Assignment:
        ctx.gave_up = True
        return a

    ctx, start = small()
    unless, after = Fake("unless"), Fake("after")
    run_plan(ctx, [Step(Fake("g", give_up), 0.5), Step(unless, 1.0, after_give_up=False),
                   Step(after, 1.0, after_give_up=True)], start)
    assert (unless.budgets, len(after.budgets)) == ([], 1)
