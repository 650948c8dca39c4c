"""HiGHS through PuLP, and a bound that is proven whatever the solver's tolerances.

`solve` runs `pulp.HiGHS` (the `highspy` interface) with a time limit. For a linear
programme the bound is not HiGHS's objective value (a floating-point optimum within
tolerances, and no bound at all when the time limit stops it) but the Lagrangian value of
its row duals, recomputed here: for any vector `y` whose signs match the rows' finite
sides, ``sum(y_i * side_i) + sum_j min over [l_j, u_j] of (c - A'y)_j * x_j`` is at most
the objective of every feasible point, because every variable of the model is boxed. So
a dual vector from an interrupted or slightly inaccurate solve still gives a valid, only
weaker, bound. For a mixed-integer programme it is HiGHS's MIP dual bound.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pulp

_banner_lock = threading.Lock()
_banner_done = False


class _Solver(pulp.HiGHS):  # type: ignore[misc]
    """`pulp.HiGHS` whose first `highspy.Highs()` of the process writes its copyright
    banner to stderr, not stdout (the CLI writes schedules to stdout)."""

    def createAndConfigureSolver(self, lp: Any) -> None:
        global _banner_done
        with _banner_lock:
            if not _banner_done:
                sys.stdout.flush()
                saved = os.dup(1)
                try:
                    os.dup2(2, 1)
                    highspy.Highs()  # type: ignore[no-untyped-call]
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                _banner_done = True
        super().createAndConfigureSolver(lp)


@dataclass(frozen=True)
class Solved:
    """What a HiGHS run gave: a proven bound (None when it gave none) and its status."""

    bound: float | None
    objective: float | None
    status: str
    seconds: float


def solve(prob: pulp.LpProblem, time_limit: float, *, mip: bool = False,
          threads: int = 1, gap: float | None = None, **options: Any) -> Solved:
    """Solve `prob` with HiGHS within `time_limit` seconds and prove a lower bound
    (`gap`: the relative MIP gap at which to stop; `options`: HiGHS options by name)."""
    solver = _Solver(mip=mip, msg=False, timeLimit=max(0.1, time_limit), threads=threads,
                     gapRel=gap, **options)
    prob.solve(solver)
    h: Any = prob.solverModel
    status = h.getModelStatus()
    name = h.modelStatusToString(status)
    info = h.getInfo()
    seconds = float(h.getRunTime())
    if status == highspy.HighsModelStatus.kInfeasible:
        return Solved(None, None, "infeasible", seconds)
    objective = float(info.objective_function_value) if info.primal_solution_status else None
    if mip and any(v.cat == pulp.LpInteger for v in prob.variables()):
        bound = float(info.mip_dual_bound)
        ok = math.isfinite(bound)
        return Solved(bound if ok else None, objective, name, seconds)
    sol = h.getSolution()
    if not sol.dual_valid:
        return Solved(None, objective, name, seconds)
    return Solved(dual_bound(h.getLp(), np.asarray(sol.row_dual)), objective, name, seconds)


def dual_bound(lp: Any, row_dual: np.ndarray) -> float | None:
    """The Lagrangian bound of `row_dual` on the HiGHS model `lp` (None if unbounded)."""
    n = int(lp.num_col_)
    cost = np.asarray(lp.col_cost_, dtype=float)
    lower = np.asarray(lp.col_lower_, dtype=float)
    upper = np.asarray(lp.col_upper_, dtype=float)
    rl = np.asarray(lp.row_lower_, dtype=float)
    ru = np.asarray(lp.row_upper_, dtype=float)
    y = row_dual.astype(float)
    # a sign that points at an infinite side carries nothing
    y = np.where((y > 0) & np.isfinite(rl), y, np.where((y < 0) & np.isfinite(ru), y, 0.0))
    a = lp.a_matrix_
    start = np.asarray(a.start_, dtype=np.int64)
    index = np.asarray(a.index_, dtype=np.int64)
    value = np.asarray(a.value_, dtype=float)
    if a.format_ == highspy.MatrixFormat.kColwise:
        col = np.repeat(np.arange(n), np.diff(start))
        aty = np.bincount(col, weights=value * y[index], minlength=n)
    else:
        row = np.repeat(np.arange(len(rl)), np.diff(start))
        aty = np.bincount(index, weights=value * y[row], minlength=n)
    r = cost - aty
    if np.any((r > 0) & ~np.isfinite(lower)) or np.any((r < 0) & ~np.isfinite(upper)):
        return None
    terms = np.concatenate([
        np.where(y > 0, y * np.where(y > 0, rl, 0.0), y * np.where(y < 0, ru, 0.0)),
        np.where(r > 0, r * np.where(r > 0, lower, 0.0), r * np.where(r < 0, upper, 0.0)),
    ])
    total = float(math.fsum(terms.tolist()))
    # floating-point slack of the sums above, far below a minute of weighted tardiness
    return total - 1e-9 * float(np.abs(terms).sum()) - 1e-9
