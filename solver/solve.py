"""`solve(problem, params)`: the one entry point the CLI, the service and the benchmarks use.

1. compile the problem and build a dispatch schedule (the hint and the answer of last resort);
2. on due dates, beyond the full model's size: search the order sequence the dispatch
   heuristic places orders in (`solver.search.sequence`), for up to 85 % of the time;
3. small problems: the full CP-SAT model with that hint (gives a proven bound);
4. flexible job shops (makespan, no calendars or power caps: `solver.search.tabu.applies`): a
   tabu search along the critical path for 70 % of the time left;
5. then, and for large problems from the start: large-neighbourhood search, each step a
   CP-SAT sub-model over a few units with everything else fixed at the incumbent;
6. the result is checked by the independent validator before it is returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from solver.compiled import Compiled, MoveCosts, compile_problem, default_horizon
from solver.cpsat.model import ModelBuilder, set_objective
from solver.cpsat.runner import run_model
from solver.dispatch import (
    DispatchFailed,
    HorizonTooShort,
    best_dispatch,
    dispatch,
    repair_keys,
    rule_keys,
)
from solver.problem import Objective, Problem, ProblemError
from solver.schedule import Status, build_schedule, empty_schedule
from solver.search.bounds import lower_bound, order_bounds
from solver.search.lns import LnsParams, lns, relaxed_lns
from solver.search.sequence import SequenceParams, sequence_search
from solver.search.tabu import TabuParams, applies, tabu_search
from solver.solution import Assignment, evaluate, order_tardiness, score
from solver.timeline import INF
from solver.validate import validate

MAX_HORIZON_GROWTH = 5
# CP-SAT's time limit per LNS sub-model, seconds: for problems small enough for the full
# model (the relaxed LNS after it), for large problems, and for those with a reference
# schedule. There the move costs make a sub-model's optimum quick to find and
# slow to prove, so many short steps do far better (bench/reschedule.py, 1,000 racks,
# 30 s: about 280 steps moved with 0.05 s against 490 with 1 s, at lower tardiness).
SUB_TIME_SMALL = 0.5
SUB_TIME_LARGE = 2.0
SUB_TIME_REFERENCE = 0.05
# how long (minutes) a step that lost its place waits for the reference's later steps in
# the repairs tried (None: not at all, a right shift; INF: until they are all placed)
PATIENCE: tuple[int | None, ...] = (INF, None)
# the most of the time left that the order-sequence search may take on a tardiness
# objective (it ends sooner when it stops finding better sequences); the rest goes to
# CP-SAT, which polishes the placements it decodes
SEQUENCE_SHARE = 0.85
# With a reference (a reschedule), the sequence search stops once it has spent this share
# of its time without beating the repaired plan, and the LNS gets the rest with larger
# sub-models (`SUB_TIME_GIVEN_UP` seconds each, from `START_UNITS_GIVEN_UP` units). The
# nightly reschedule is such a case: the plan is a local optimum of that search (none of
# its decodes improves it), and on four saved nightly problems (bench/reschedule.py, 1,000
# racks, 30 s, two seeds each) the LNS given the time gave 11,640 and 11,760 instead of
# 11,820 on one and 1,920 instead of 2,040 once on another, the same on the other two,
# with fewer moves (214 against 243 in all); 0.05 s sub-models for 25 s found nothing.
# After a week off plan the search beats the repaired plan within 2 s and runs on as
# before.
REFERENCE_GIVE_UP = 0.2
SUB_TIME_GIVEN_UP = 0.5
START_UNITS_GIVEN_UP = 40
# the share of the time left after the full model that the tabu search takes on a flexible
# job shop; the LNS polishes its result in the rest. Measured at 60 s: the LNS's 30 %
# found ta03 1,218 and ta08 1,217 where the tabu search alone stopped at 1,223 and 1,236,
# and Brandimarte mk05-mk10 came out the same within a unit either way
TABU_SHARE = 0.7


@dataclass
class Progress:
    """A progress report during a solve (objective figures as in the schedule)."""

    elapsed: float
    objective: float | None
    bound: float | None
    phase: str


@dataclass
class SolveParams:
    """What the caller decides about a solve."""

    time_limit: float = 30.0
    workers: int = 2
    seed: int = 0
    objective: Objective | None = None
    progress: Callable[[Progress], None] | None = None
    # the full CP-SAT model runs first when the number of (op, mode) pairs is at most
    # this (None: 3000 for makespan, 600 for tardiness, where LNS does better sooner) ...
    full_model_limit: int | None = None
    # ... for this share of the time left (None: 25 % for makespan, 30 % for tardiness;
    # the tabu search on flexible job shops and the large-neighbourhood search have the rest)
    full_model_share: float | None = None
    log: bool = False
    # polled about every 0.2 s: True stops the search and returns the best schedule so far
    stop: Callable[[], bool] | None = None
    # a schedule to stay close to (SPEC section 3, e.g. the published one): it is the
    # starting point, and moving a step away from it costs `move_costs`
    reference: Mapping[str, Any] | None = None
    move_costs: MoveCosts = field(default_factory=MoveCosts)

    def stopped(self) -> bool:
        """Whether the caller has asked the search to stop."""
        return self.stop is not None and self.stop()


def solve(problem: Problem, params: SolveParams | None = None) -> dict[str, Any]:
    """Solve a checked problem and return a validated SPEC section 3 schedule."""
    params = params or SolveParams()
    t0 = time.monotonic()
    if params.objective is not None and params.objective != problem.objective:
        problem = problem.model_copy(update={"objective": params.objective})

    def elapsed() -> float:
        return time.monotonic() - t0

    # 1. dispatch, growing the horizon when the plan does not fit in it
    horizon = default_horizon(problem)
    c: Compiled | None = None
    start: Assignment | None = None
    start_plain: Assignment | None = None  # the best priority rule's schedule
    failed: DispatchFailed | None = None
    tried = horizon
    for attempt in range(MAX_HORIZON_GROWTH):
        try:
            c = compile_problem(problem, horizon, params.reference, params.move_costs)
        except ProblemError:
            if attempt == MAX_HORIZON_GROWTH - 1:
                raise  # a step longer than every window however far we look
            horizon *= 2
            continue
        conflicts = fixed_conflicts(c)
        if conflicts:
            return empty_schedule(problem, Status.INFEASIBLE, conflicts, elapsed())
        tried = horizon
        try:
            rules = dispatch_rules(c)
            start = start_plain = best_dispatch(c, rules, seed=params.seed)
            if c.reference is not None:
                start = min(_repair(c, rules), start, key=lambda a: score(c, a))
            break
        except HorizonTooShort:
            horizon *= 2
        except DispatchFailed as exc:
            if exc.proven:
                return empty_schedule(problem, Status.INFEASIBLE, exc.reasons, elapsed())
            failed = exc
            break
    assert c is not None
    if start is None and failed is not None:
        # the greedy heuristic got stuck (e.g. before a fixed step): ask CP-SAT alone
        got, _, _, infeasible = _full_model(
            c, None, params.time_limit - elapsed(), params, lambda *_: None
        )
        if got is None:
            status = Status.INFEASIBLE if infeasible else Status.UNKNOWN
            why = (
                "CP-SAT proved that no schedule keeps the fixed steps" if infeasible
                else "CP-SAT found no schedule within the time limit either"
            )
            return empty_schedule(problem, status, [*failed.reasons, why], elapsed())
        start = got
    if start is None:
        return empty_schedule(
            problem, Status.UNKNOWN,
            [f"no schedule fits within {tried // 1440} days of horizon_start: "
             "the orders need more capacity than the calendars offer"],
            elapsed(),
        )
    def report(a: Assignment | None, bound: float, phase: str) -> None:
        if params.progress is not None:
            params.progress(Progress(elapsed(), _figure(c, a) if a else None, bound, phase))

    order_lb: dict[int, int] = {}
    lb = lower_bound(c, order_lb)
    report(start, lb, "dispatch")
    # with a reference the search trades due dates for moves: its time goes there
    if c.objective == Objective.TARDINESS and c.reference is None:
        late = sorted(
            (oi for oi in range(len(c.order_ids)) if order_tardiness(c, start, oi) > 0),
            key=lambda oi: -c.order_weight[oi] * order_tardiness(c, start, oi),
        )
        budget = min(0.1 * params.time_limit, params.time_limit - elapsed() - 0.5)
        if late and budget > 0.1 and not params.stopped():
            order_lb = order_bounds(c, late, budget, params.workers, params.seed,
                                    stop=params.stop)
    if order_lb:
        lb = lower_bound(c, order_lb)
        report(start, lb, "bounds")
    best, source, notes = start, "dispatch", []
    proven = False
    n_pairs = sum(len(ms) for ms in c.op_modes)
    remaining = params.time_limit - elapsed()

    tardiness = c.objective == Objective.TARDINESS
    limit = params.full_model_limit
    if limit is None:
        limit = 600 if tardiness else 3000
    # with a reference, CP-SAT's objective includes the moves: its bound and its proof of
    # optimality say nothing about the primary figure alone
    plain = c.reference is None

    # 2. the order-sequence search (due dates: the dispatch order is where the gain is);
    # small problems go to the full model at once, which often proves its optimum soon
    # with a reference, a search that has found nothing better than the repaired plan
    # after a share of its time gives the rest to the LNS (`REFERENCE_GIVE_UP`)
    given_up = False
    if (tardiness and n_pairs > limit and remaining > 0.5 and not params.stopped()
            and not (plain and _at_bound(c, best, lb))):
        budget = remaining * SEQUENCE_SHARE
        give_up_at = elapsed() + REFERENCE_GIVE_UP * budget
        improved_seq = False

        def seq_improved(a: Assignment) -> None:
            nonlocal improved_seq
            improved_seq = True
            report(a, lb, "sequence")

        def seq_stop() -> bool:
            nonlocal given_up
            given_up = not plain and not improved_seq and elapsed() > give_up_at
            return given_up or params.stopped()

        got = sequence_search(
            c, best,
            SequenceParams(budget, seed=params.seed, stop=seq_stop, workers=params.workers),
            on_improve=seq_improved,
        )
        if score(c, got) < score(c, best):
            best, source = got, "sequence"
        remaining = params.time_limit - elapsed()

    # 3. the full model for small problems
    share = params.full_model_share
    if share is None:
        share = 0.3 if tardiness else 0.25
    if n_pairs <= limit and remaining > 0.5 and not params.stopped():
        got, bound, optimal, _ = _full_model(c, best, remaining * share, params, report)
        if c.exact and plain:  # CP-SAT's bound is on the scaled figures: only exact ones
            lb = max(lb, bound)
        if got is not None and score(c, got) <= score(c, best):
            best, source = got, "cp-sat"
        proven = optimal and c.exact

    # 4. flexible job shops: the tabu search along the critical path, for most of the time
    # left (on Brandimarte it goes well below where the LNS levels off)
    remaining = params.time_limit - elapsed()
    done = proven or (plain and _at_bound(c, best, lb))
    if not done and remaining > 0.5 and applies(c) and not params.stopped():
        got = tabu_search(c, best, TabuParams(remaining * TABU_SHARE, seed=params.seed,
                                              stop=params.stop),
                          on_improve=lambda a: report(a, lb, "tabu"), workers=params.workers)
        if score(c, got) < score(c, best):
            best, source = got, "tabu"

    # 5. large-neighbourhood search for the rest of the time
    remaining = params.time_limit - elapsed()
    done = proven or (plain and _at_bound(c, best, lb))
    if not done and remaining > 0.5 and not params.stopped():
        small = n_pairs <= limit
        search = relaxed_lns if small else lns
        lp = LnsParams(time_limit=remaining, workers=params.workers, seed=params.seed,
                       sub_time=(SUB_TIME_SMALL if small else SUB_TIME_GIVEN_UP if given_up
                                 else SUB_TIME_REFERENCE if c.reference else SUB_TIME_LARGE),
                       stop=params.stop)
        if given_up:
            lp.start_units = START_UNITS_GIVEN_UP
        improved = search(c, best, lp, on_improve=lambda a: report(a, lb, "lns"))
        if score(c, improved) < score(c, best):
            best, source = improved, "lns"

    if c.reference is not None and source == "dispatch" and best is not start_plain:
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
    if params.stopped():
        notes.append("the solve was stopped on request: this is the best schedule found so far")
    at_bound = c.exact and _at_bound(c, best, lb, both=True)
    status = Status.OPTIMAL if (proven and plain) or at_bound else Status.FEASIBLE
    out = build_schedule(
        c, best, status=status, lower_bound=lb, solve_seconds=elapsed(), source=source,
        notes=notes,
    )
    faults = validate(problem, out)
    if faults and best is not start:
        out = build_schedule(
            c, start, status=Status.FEASIBLE, lower_bound=lb, solve_seconds=elapsed(),
            source="dispatch",
            notes=["the optimised schedule failed validation; the dispatch schedule is returned"],
        )
        faults = validate(problem, out)
    if faults:
        return empty_schedule(
            problem, Status.UNKNOWN,
            ["internal error: no schedule passed the validator", *faults[:20]], elapsed(),
        )
    report(best, lb, "done")
    return out


def dispatch_rules(c: Compiled) -> tuple[str, ...]:
    """The priority rules whose dispatch schedules a solve starts from (the best of them):
    one pass costs seconds at thousands of racks, so every rule only when small."""
    return ("edd", "slack", "mwkr") if c.n_ops <= 6000 else ("edd",)


def _repair(c: Compiled, rules: Sequence[str]) -> Assignment:
    """The reference schedule replayed on the current problem: the best of several ways
    (`dispatch` with `repair`) — in reference order, deferring the steps that lost their
    place or shifting them right, and in each priority rule's order (due dates first),
    each step back at its reference resource and time when free. The rules matter when
    the floor has drifted far from the plan: then the best order for the due dates is
    no longer the plan's, and the search starts from whichever trade-off is best."""
    keys = repair_keys(c)
    tries = [dispatch(c, keys, repair=True, patience=p) for p in PATIENCE]
    for rule in rules:
        ordered = [(1, *k) for k in rule_keys(c, rule)]
        tries.append(dispatch(c, ordered, repair=True, patience=None))
    return min(tries, key=lambda a: score(c, a))


def _figure(c: Compiled, a: Assignment) -> float:
    """The objective figure of the schedule document (weighted tardiness or makespan)."""
    wt, mk = evaluate(c, a)
    return wt / c.weight_scale if c.objective == Objective.TARDINESS else mk


def _at_bound(c: Compiled, a: Assignment, lb: float, both: bool = False) -> bool:
    """The primary figure equals the lower bound (and, with `both`, nothing else to gain)."""
    if _figure(c, a) > lb + 1e-9:
        return False
    return bool(not both or c.objective == Objective.MAKESPAN)


def _full_model(
    c: Compiled,
    hint: Assignment | None,
    time_limit: float,
    params: SolveParams,
    report: Callable[[Assignment | None, float, str], None],
) -> tuple[Assignment | None, float, bool, bool]:
    """The whole problem in one CP-SAT model: (assignment, bound, optimal, infeasible)."""
    hi = c.horizon
    if c.objective == Objective.MAKESPAN and hint is not None:
        hi = max(hint.end)  # no better schedule ends later than the incumbent
    b = ModelBuilder(c, hint, None, (0, hi)).build()
    set_objective(b, c.objective)
    tard = c.objective == Objective.TARDINESS

    def to_figure(v: float) -> float:
        if c.reference is not None:
            return 0.0  # the objective includes the moves: no bound on the figure
        return (v // b.weight) / c.weight_scale if tard else v

    def on_solution(_: float, bd: float) -> None:
        if c.reference is None:
            report(None, to_figure(bd), "cp-sat")

    out = run_model(c, b, time_limit=max(0.1, time_limit), workers=params.workers,
                    seed=params.seed, hint=hint, stop=params.stopped, on_solution=on_solution,
                    log=params.log)
    if not out.found:
        return None, 0.0, False, out.infeasible
    return out.assignment, to_figure(out.bound), out.optimal, False


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
