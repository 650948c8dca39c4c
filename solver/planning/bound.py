"""`planning_bound`: the aggregate model's proven lower bound on weighted tardiness."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from solver.compiled import Compiled, compile_problem, default_horizon
from solver.planning import highs
from solver.planning.grid import DAY, WEEK, Grid, bucket_minutes
from solver.planning.model import LATE_WINDOW, PlanningModel, build_model
from solver.planning.section6 import Section6, section6_of
from solver.problem import Objective, Problem

# the model's horizon: the last due date, release or fixed end plus this much; later
# starts fall into the overflow bucket, which is late enough to cost any order there
TAIL = 14 * DAY
# "auto" buckets: days while the flows need at most this many cumulative variables
AUTO_LIMIT = 15_000


@dataclass(frozen=True)
class Bound:
    """A proven lower bound on the schedule's objective figure, and what it cost.

    `value` is in the units of a schedule's ``objective_value`` (weighted minutes of
    tardiness); None when the model gave no bound (`status` and `reasons` say why),
    infinite when it proves that no schedule exists. `order_lb` holds, per order index,
    the tardiness in minutes below which the model kept the order (its floor: each rack
    alone at its best site, or the caller's per-order bound), where positive: each is a
    proven bound on that order alone.
    """

    value: float | None
    status: str
    objective: Objective
    order_lb: dict[int, int] = field(default_factory=dict)
    lp_objective: float | None = None  # HiGHS's own objective figure (not a proof)
    bucket: int = DAY
    buckets: int = 0
    rows: int = 0
    columns: int = 0
    nonzeros: int = 0
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)


def model_grid(c: Compiled, length: int) -> Grid:
    """The buckets over which `c` is modelled: to the last due date, release or fixed
    end plus `TAIL`, and no further than the compiled calendars are exact for any start."""
    last = max([*c.order_due, *c.order_release, 0]
               + [f[2] for f in c.op_fixed if f is not None])
    longest = max((m.duration for ms in c.op_modes for m in ms), default=0)
    n = min(math.ceil((last + TAIL) / length), (c.horizon - longest) // length)
    return Grid(length, max(0, n))


def choose_bucket(c: Compiled) -> int:
    """``"auto"``: day buckets, unless the flows would need more than `AUTO_LIMIT`
    cumulative variables at that size (long horizons, many releases); then weeks."""
    grid = model_grid(c, DAY)
    rc = c.route_classes()
    seen: set[tuple[int, int]] = set()
    total = 0
    for u, ops in enumerate(c.unit_ops):
        key = (rc[u], grid.of(c.order_release[c.unit_order[u]]))
        if key in seen:
            continue
        seen.add(key)
        total += len(c.unit_sites[u]) * len(ops) * (grid.n - key[1])
    return DAY if total <= AUTO_LIMIT else WEEK


def lengths(source: Problem | Compiled, bucket: object) -> tuple[int | None, Compiled | None]:
    """The bucket's minutes (None for ``"auto"`` until compiled) and the compiled view."""
    if isinstance(bucket, str) and bucket.strip().lower() == "auto":
        c = source if isinstance(source, Compiled) else compile_for(source, DAY)
        return choose_bucket(c), c
    length = bucket_minutes(bucket)
    return length, source if isinstance(source, Compiled) else None


def compile_for(problem: Problem, length: int) -> Compiled:
    """`compile_problem` on a horizon that lets `model_grid` reach its full length."""
    last = default_horizon(problem) - 28 * DAY  # the last due date, release or fixed end
    longest = max(
        [st.duration_min or 0 for p in problem.products for st in p.routing]
        + [a.duration_min for p in problem.products for st in p.routing
           for a in st.alternatives or []]
    )
    want = math.ceil((last + TAIL) / length) * length + longest
    return compile_problem(problem, max(default_horizon(problem), want))


def build(
    source: Problem | Compiled,
    *,
    bucket: object = "auto",
    order_lb: Mapping[int, float] | None = None,
    section6: Section6 | None = None,
    window: int = LATE_WINDOW,
) -> PlanningModel:
    """The aggregate model of a problem (`solver.planning.model`), not solved.

    Raises
    ------
    ProblemError
        When `bucket` is not a whole number of minutes, or the problem does not compile.
    """
    length, c = lengths(source, bucket)
    assert length is not None
    if c is None:
        c = source if isinstance(source, Compiled) else compile_for(source, length)
    s6 = section6 if section6 is not None else section6_of(c.problem)
    return build_model(c, model_grid(c, length), s6, order_lb, window)


def planning_bound(
    source: Problem | Compiled,
    *,
    bucket: object = "auto",
    time_limit: float = 30.0,
    order_lb: Mapping[int, float] | None = None,
    section6: Section6 | None = None,
    threads: int = 1,
) -> Bound:
    """A proven lower bound on weighted tardiness from the aggregate model's LP.

    Parameters
    ----------
    source
        A checked problem, or its compiled view as `solve` has it (then the model ends
        where that view's calendars stop being exact for every start).
    bucket
        ``"day"``, ``"week"``, a whole number of minutes, or ``"auto"``: days unless the
        model would be large at that size (`choose_bucket`), then weeks.
    time_limit
        Seconds for the build and HiGHS together; an interrupted solve still gives a
        proven, weaker bound when HiGHS has a dual solution, else none.
    order_lb
        Per order index, proven tardiness bounds in minutes (`solver.bounds.order_bounds`).
    section6
        Quotas and power windows, when the problem model does not carry them.
    threads
        HiGHS threads.

    Returns
    -------
    Bound
        The value bounds the weighted tardiness (a schedule's ``objective_value``) of
        every valid schedule from below, and is at least the orders' floors summed.
        A problem whose objective is not ``tardiness`` gets status ``"not modelled"``.

    Raises
    ------
    ProblemError
        When `bucket` is not a whole number of minutes (the message names the field) or
        the problem does not compile.
    """
    t0 = time.perf_counter()
    length, got_c = lengths(source, bucket)
    assert length is not None
    c = got_c if got_c is not None else (
        source if isinstance(source, Compiled) else compile_for(source, length))
    if c.objective != Objective.TARDINESS:
        return Bound(None, "not modelled", c.objective, bucket=length,
                     reasons=["the planning model bounds weighted tardiness only"])
    s6 = section6 if section6 is not None else section6_of(c.problem)
    model = build_model(c, model_grid(c, length), s6, order_lb)
    build_s = time.perf_counter() - t0
    floors = {oi: math.floor(f + 1e-9) for oi, f in enumerate(model.floors) if f >= 1}

    def bound(value: float | None, status: str, reasons: list[str],
              lp: float | None = None, solve_s: float = 0.0) -> Bound:
        return Bound(
            value, status, c.objective, order_lb=floors, lp_objective=lp, bucket=length,
            buckets=model.grid.n, rows=model.rows, columns=model.columns,
            nonzeros=model.nonzeros, build_seconds=build_s, solve_seconds=solve_s,
            reasons=reasons,
        )

    if model.reasons:
        return bound(math.inf, "infeasible", model.reasons)
    got = highs.solve(model.prob, max(0.1, time_limit - build_s), threads=threads)
    lp = None if got.objective is None else got.objective + model.constant
    if got.status == "infeasible":
        # not taken as a proof: HiGHS's infeasibility is not certified here
        return bound(None, got.status, ["HiGHS found the model infeasible: no schedule "
                                        "keeps every rule, or a numerical failure"],
                     lp, got.seconds)
    if got.bound is None:
        return bound(None, got.status, [f"HiGHS gave no dual solution ({got.status})"],
                     lp, got.seconds)
    floor_sum = sum(o.weight * f for o, f in zip(c.problem.orders, model.floors, strict=True))
    value = max(0.0, got.bound + model.constant, floor_sum)
    return bound(value, got.status, [], lp, got.seconds)
