"""The phase plan: which searches a solve runs after dispatch, in order, and their time.

`plan(c, params)` reads the problem's shape (objective, size, a reference schedule, a
flexible job shop) and returns the steps; `run_plan` runs them from the dispatch
schedule. Each step gets a share of the time left when it starts (the bounds phases: of
the whole time limit); a step starts only while more than `Tuning.min_phase_seconds` are
left and no stop was asked for, and most are skipped once nothing is left to gain (the
incumbent proven optimal, or at the proven bound). A phase's answer replaces the
incumbent when it scores better, and the solve log records every phase that ran.

=========================  ===========================================================
problem                    steps (shares of the time left)
=========================  ===========================================================
due dates, small           bounds, cp-sat 30 %, relaxed lns
due dates, job shop        bounds, twt 30 %, cp-sat (the rest; hinted with twt's result)
                           (beyond the full model: then sequence 85 %, lns)
due dates, large           bounds, planning bound 10 % (of the time limit, at most
                           30 s), sequence 85 %, lns (2 s sub-models)
due dates, reschedule      sequence 85 % (gives up after 20 % without beating the
                           repaired plan), lns 0.05 s, or 0.5 s from 40 units after a
                           give-up
makespan, small            cp-sat 25 %, tabu 70 % (flexible job shops), relaxed lns
makespan, large            tabu 70 % (flexible job shops), lns (2 s sub-models)
=========================  ===========================================================

"Small" is at most `full_model_limit_*` (op, mode) pairs (600 on due dates, 3,000 on
makespan); the shares are the defaults of `solver.tuning.Tuning`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solver.compiled import Compiled
from solver.params import SolveParams
from solver.problem import Objective
from solver.search.bounds import Bounds, PlanningBound
from solver.search.context import Context, Phase
from solver.search.full import FullModel
from solver.search.lns import Lns, RelaxedLns
from solver.search.sequence import Sequence as SequenceSearch
from solver.search.tabu import Tabu, applies
from solver.search.twt import Twt
from solver.search.twt import applies as twt_applies
from solver.solution import Assignment


@dataclass(frozen=True)
class Step:
    """One phase of the plan and the time it gets."""

    phase: Phase
    # the share of the time left when it starts (of the whole time limit: `of_limit`)
    share: float
    # `share` is of the whole time limit, and the step leaves `min_phase_seconds`
    of_limit: bool = False
    # skipped once nothing is left to gain (`Context.done`)
    until_done: bool = True
    # None: always; True: only after a search gave up (`Context.gave_up`); False: only if
    # none did
    after_give_up: bool | None = None

    def describe(self) -> str:
        """The step in a line: its phase, its share and when it runs."""
        whole = "of the time limit" if self.of_limit else "of the time left"
        share = "the rest" if self.share >= 1 and not self.of_limit else f"{self.share:.0%} {whole}"
        when = {None: "", True: ", if a search gave up", False: ", unless a search gave up"}
        return f"{self.phase.describe()}: {share}{when[self.after_give_up]}"


def full_model_limit(c: Compiled, params: SolveParams) -> int:
    """The most (op, mode) pairs for which the full model runs, for `c`'s objective."""
    t = params.tuning
    tardiness = c.objective == Objective.TARDINESS
    return t.full_model_limit_tardiness if tardiness else t.full_model_limit_makespan


def plan(c: Compiled, params: SolveParams) -> list[Step]:
    """The steps a solve of `c` runs after dispatch, in order (module docstring).

    Parameters
    ----------
    c
        The compiled problem (with its reference schedule, if any).
    params
        The solve's parameters; only their `tuning` matters here.

    Returns
    -------
    list[Step]
        The phases in the order they run, each with its share of the time.
    """
    t = params.tuning
    tardiness = c.objective == Objective.TARDINESS
    rescheduling = c.reference is not None  # moves cost: bounds and proofs say less
    small = sum(len(ms) for ms in c.op_modes) <= full_model_limit(c, params)
    steps: list[Step] = []
    if tardiness and not rescheduling:
        # proven per-order bounds: a gap the planner can trust, and a solve that stops
        # once it reaches them
        steps.append(Step(Bounds(), t.bounds_share, of_limit=True, until_done=False))
        if sum(len(ms) for ms in c.op_modes) > t.planning_min_pairs:
            # the orders competing for capacity: the planning model's LP bound
            steps.append(Step(PlanningBound(), t.planning_share, of_limit=True))
    # due dates on a job shop: the graph is the whole problem (a share of 0: no twt)
    job_shop = twt_applies(c) and t.twt_share > 0
    if job_shop:
        # the late orders' critical trees: close to the optimum in seconds, and a hint
        # from which the full model goes on
        steps.append(Step(Twt(), t.twt_share))
    if tardiness and not small:
        # due dates: the order in which dispatch places the orders is where the gain is
        give_up = t.reference_give_up if rescheduling else None
        steps.append(Step(SequenceSearch(give_up=give_up), t.sequence_share))
    if small:
        share = t.full_model_share_tardiness if tardiness else t.full_model_share_makespan
        if job_shop:
            share = t.twt_full_model_share
        # on job shops with due dates, weighted tardiness alone: the makespan as a
        # tie-break held CP-SAT back there (`solver.search.full.full_model`)
        steps.append(Step(FullModel(tie_break=not job_shop), share, until_done=False))
    if applies(c) and not rescheduling:
        steps.append(Step(Tabu(), t.tabu_share))
    if small:
        steps.append(Step(RelaxedLns(t.lns_sub_time_small), 1.0))
    elif rescheduling and tardiness:
        steps.append(Step(Lns(t.lns_sub_time_reference), 1.0, after_give_up=False))
        steps.append(Step(Lns(t.lns_sub_time_given_up, t.lns_start_units_given_up), 1.0,
                          after_give_up=True))
    else:
        sub_time = t.lns_sub_time_reference if rescheduling else t.lns_sub_time_large
        steps.append(Step(Lns(sub_time), 1.0))
    return steps


def describe(steps: Sequence[Step]) -> str:
    """The plan, one step a line."""
    return "\n".join(f"{i}. {s.describe()}" for i, s in enumerate(steps, 1))


def run_plan(
    ctx: Context, steps: Sequence[Step], start: Assignment, source: str = "dispatch"
) -> tuple[Assignment, str]:
    """Run the steps from `start`: the best schedule, and the phase that found it
    (`source` when none improved on `start`). Each phase that runs goes to the log."""
    t = ctx.tuning
    best = start
    for step in steps:
        left = ctx.left()
        if left <= t.min_phase_seconds or ctx.stopped():
            continue
        if step.until_done and ctx.done(best):
            continue
        if step.after_give_up is not None and step.after_give_up != ctx.gave_up:
            continue
        if step.of_limit:
            budget = min(step.share * ctx.time_limit, left - t.min_phase_seconds)
        else:
            budget = step.share * left
        since = ctx.elapsed()
        phase = step.phase
        got = phase.run(ctx, best, budget)
        if got is not best:
            old, new = ctx.scorer(best), ctx.scorer(got)
            if new < old or (phase.ties and new == old):
                best, source = got, phase.name
        ctx.record(phase.name, since, best)
    return best, source


__all__ = ["Step", "describe", "full_model_limit", "plan", "run_plan"]
