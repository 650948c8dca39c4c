"""`solve(problem, params)`: the one entry point the CLI, the service and the benchmarks use.

1. compile the problem and build a dispatch schedule (the hint and the answer of last
   resort), growing the horizon while the plan does not fit in it; with a reference
   schedule, the best of that and the reference repaired to the problem's facts;
2. run the phase plan (`solver.search.plan`): per-order bounds on due dates, the
   order-sequence search on large due-date problems, the full CP-SAT model on small
   ones, the tabu search on flexible job shops, and large-neighbourhood search for the
   rest of the time;
3. finalise: the status, the notes and the solve log in a SPEC section 3 schedule;
4. validate it with the independent validator before it is returned (the dispatch
   schedule instead when the optimised one fails).
"""

from __future__ import annotations

import time
from typing import Any

from solver import decompose
from solver.compiled import Compiled, Stopped, compile_problem, default_horizon
from solver.dispatch import (
    DispatchFailed,
    HorizonTooShort,
    best_dispatch,
    dispatch_rules,
    repair,
)
from solver.params import Progress, SolveParams
from solver.problem import Problem, ProblemError
from solver.schedule import Status, build_schedule, empty_schedule
from solver.search.bounds import lower_bound
from solver.search.context import Context
from solver.search.full import FullModel, full_model
from solver.search.plan import plan, run_plan
from solver.solution import Assignment, score
from solver.validate import validate


def solve(problem: Problem, params: SolveParams | None = None) -> dict[str, Any]:
    """Solve a checked problem and return a validated SPEC section 3 schedule.

    Parameters
    ----------
    problem
        A checked problem (`solver.problem.load_problem`).
    params
        What the caller decides: time limit, workers, seed, objective, progress and
        stop callbacks, a reference schedule and move costs, the tuning.

    Returns
    -------
    dict
        The schedule (``status`` OPTIMAL or FEASIBLE with items, else INFEASIBLE or
        UNKNOWN with ``reasons``), with its ``solve_log``: the phases that ran.

    Raises
    ------
    ProblemError
        When a step fits no window of any eligible resource however far the horizon
        grows.
    """
    params = params or SolveParams()
    t0 = time.monotonic()
    if params.objective is not None and params.objective != problem.objective:
        problem = problem.model_copy(update={"objective": params.objective})
    if decompose.wanted(problem, params):  # large: site by site, each part solved here
        return decompose.decompose(problem, params, solve)
    got = _dispatch(problem, params, t0)
    if isinstance(got, dict):
        return got
    ctx, start, plain_start, source = got
    best, source = run_plan(ctx, plan(ctx.c, params), start, source)
    return _finalise(problem, ctx, best, source, start, plain_start)


def _context(c: Compiled, params: SolveParams, t0: float) -> Context:
    return Context(
        c, tuning=params.tuning, workers=params.workers, seed=params.seed, stop=params.stop,
        progress=params.progress, cp_sat_log=params.log, time_limit=params.time_limit, t0=t0,
    )


def _dispatch(
    problem: Problem, params: SolveParams, t0: float
) -> tuple[Context, Assignment, Assignment | None, str] | dict[str, Any]:
    """Compile and dispatch, doubling the horizon while the plan overruns it: the context,
    the start schedule, the best priority rule's schedule (None: CP-SAT's) and where the
    start came from (dispatch, or cp-sat when the heuristic got stuck); or the
    INFEASIBLE / UNKNOWN schedule when there is none."""
    t = params.tuning

    def elapsed() -> float:
        return time.monotonic() - t0

    horizon = default_horizon(problem)
    c: Compiled | None = None
    start: Assignment | None = None
    plain_start: Assignment | None = None  # the best priority rule's schedule
    failed: DispatchFailed | None = None
    tried = horizon
    halt = params.halt
    for attempt in range(t.horizon_tries):
        try:
            c = compile_problem(problem, horizon, params.reference, params.move_costs, halt)
        except Stopped:
            return _halted(problem, "compiling the problem", elapsed())
        except ProblemError:
            if attempt == t.horizon_tries - 1:
                raise  # a step longer than every window however far we look
            horizon *= 2
            continue
        conflicts = fixed_conflicts(c)
        if conflicts:
            return empty_schedule(problem, Status.INFEASIBLE, conflicts, elapsed())
        tried = horizon
        try:
            rules = dispatch_rules(c, t)
            start = plain_start = best_dispatch(c, rules, seed=params.seed, halt=halt)
            if c.reference is not None:
                start = min(repair(c, rules, t, halt), start, key=lambda a: score(c, a))
            break
        except Stopped:
            return _halted(problem, "building the first schedule", elapsed())
        except HorizonTooShort:
            horizon *= 2
        except DispatchFailed as exc:
            if exc.proven:
                return empty_schedule(problem, Status.INFEASIBLE, exc.reasons, elapsed(),
                                      solve_log=[_entry("dispatch", elapsed())])
            failed = exc
            break
    assert c is not None
    ctx = _context(c, params, t0)
    phase = "dispatch"
    if start is None and failed is not None:
        # the greedy heuristic got stuck (e.g. before a fixed step): ask CP-SAT alone
        alone = full_model(ctx, None, params.time_limit - elapsed(), report=False)
        if alone.assignment is None:
            status = Status.INFEASIBLE if alone.infeasible else Status.UNKNOWN
            why = (
                "CP-SAT proved that no schedule keeps the fixed steps" if alone.infeasible
                else "CP-SAT found no schedule within the time limit either"
            )
            return empty_schedule(problem, status, [*failed.reasons, why], elapsed(),
                                  solve_log=[_entry(FullModel.name, elapsed())])
        start, phase = alone.assignment, FullModel.name
    if start is None:
        return empty_schedule(
            problem, Status.UNKNOWN,
            [f"no schedule fits within {tried // 1440} days of horizon_start: "
             "the orders need more capacity than the calendars offer"],
            elapsed(), solve_log=[_entry("dispatch", elapsed())],
        )
    ctx.bound = lower_bound(c)
    ctx.record(phase, 0.0, start)
    ctx.report(start, "dispatch")
    return ctx, start, plain_start, phase


HALTED = "the solve was stopped before it had a first schedule"


def _halted(problem: Problem, step: str, seconds: float) -> dict[str, Any]:
    """The UNKNOWN schedule of a start that `halt` stopped (`SolveParams.halt`)."""
    why = f"{HALTED} (while {step}, after {seconds:.1f} s)"
    return empty_schedule(problem, Status.UNKNOWN, [why], seconds,
                          solve_log=[_entry("dispatch", seconds)])


def _entry(phase: str, seconds: float) -> dict[str, Any]:
    """A solve-log entry of a phase that left no schedule."""
    return {"phase": phase, "seconds": round(seconds, 3), "objective": None, "bound": None}


def _finalise(
    problem: Problem, ctx: Context, best: Assignment, source: str, start: Assignment,
    plain_start: Assignment | None,
) -> dict[str, Any]:
    """The validated schedule of `best`: status, notes, solve log (the start schedule
    instead when `best` fails the validator)."""
    c, scorer = ctx.c, ctx.scorer
    notes: list[str] = []
    if not scorer.plain and source == "dispatch" and best is not plain_start:
        source = "repair"
        notes.append(
            "no better trade-off between due dates and moves was found: this is the "
            "reference schedule repaired to the problem's facts."
        )
    elif source == "dispatch":
        notes.append(
            "CP-SAT found no better schedule within the time limit: this is the dispatch "
            "heuristic's schedule."
        )
    if ctx.stopped():
        notes.append("the solve was stopped on request: this is the best schedule found so far")
    at_bound = c.exact and scorer.at_bound(best, ctx.bound, both=True)
    status = Status.OPTIMAL if (ctx.proven and scorer.plain) or at_bound else Status.FEASIBLE
    out = build_schedule(
        c, best, status=status, lower_bound=ctx.bound, solve_seconds=ctx.elapsed(),
        source=source, notes=notes, solve_log=ctx.log,
    )
    faults = validate(problem, out)
    if faults and best is not start:
        out = build_schedule(
            c, start, status=Status.FEASIBLE, lower_bound=ctx.bound,
            solve_seconds=ctx.elapsed(), source="dispatch",
            notes=["the optimised schedule failed validation; the dispatch schedule is returned"],
            solve_log=ctx.log,
        )
        faults = validate(problem, out)
    if faults:
        return empty_schedule(
            problem, Status.UNKNOWN,
            ["internal error: no schedule passed the validator", *faults[:20]], ctx.elapsed(),
            solve_log=ctx.log,
        )
    ctx.report(best, "done")
    return out


def fixed_conflicts(c: Compiled) -> list[str]:
    """Proven contradictions of the fixed steps: routing order (rule 2) or a unit pinned to
    a site where some of its other steps cannot run (rule 4)."""
    out: list[str] = []
    for u, ops in enumerate(c.unit_ops):
        label = f"{c.order_ids[c.unit_order[u]]}/{c.unit_no[u]}"
        last: tuple[int, str] | None = None
        for o in ops:
            f = c.op_fixed[o]
            if f is None:
                if not c.op_modes[o]:
                    out.append(
                        f"{label}: its fixed steps pin it to site "
                        f"'{c.site_ids[c.unit_sites[u][0]]}', where step '{c.op_name[o]}' "
                        "cannot run"
                    )
                continue
            if last is not None and f[1] < last[0]:
                out.append(
                    f"{label}: fixed step '{c.op_name[o]}' starts before fixed step "
                    f"'{last[1]}' ends (routing order)"
                )
            last = (f[2], c.op_name[o])
    return out


__all__ = ["HALTED", "Progress", "SolveParams", "fixed_conflicts", "solve"]
