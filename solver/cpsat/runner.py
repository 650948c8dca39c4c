"""Run CP-SAT on a built model: parameters, hint, stop watcher and read-back, in one place.

The full model, the large-neighbourhood search's sub-models and the per-order bounds all
solve through `run_model`. The caller builds the model (`ModelBuilder`) and sets its
objective; the runner hints it with a schedule, sets the time limit, workers and seed,
stops the search when the caller asks (polled every `STOP_POLL` seconds from a watcher
thread), and reads the solution back onto a schedule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.compiled import Compiled
from solver.cpsat.model import Built, add_hint, read_back
from solver.solution import Assignment

#: seconds between two looks at the caller's stop request while CP-SAT searches
STOP_POLL = 0.2


@dataclass
class Outcome:
    """What a CP-SAT run gave: its status, the schedule read back, its bound and time."""

    status: int
    assignment: Assignment | None  # the solution on the base schedule (None: none found)
    bound: float  # CP-SAT's best objective bound (meaningful only when `found`)
    seconds: float  # CP-SAT's wall time

    @property
    def found(self) -> bool:
        return self.status in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    @property
    def optimal(self) -> bool:
        return self.status == cp_model.OPTIMAL

    @property
    def infeasible(self) -> bool:
        return self.status == cp_model.INFEASIBLE


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, fn: Callable[[float, float], None]) -> None:
        super().__init__()
        self.fn = fn

    def on_solution_callback(self) -> None:
        self.fn(self.objective_value, self.best_objective_bound)


def run_model(
    c: Compiled,
    b: Built,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    hint: Assignment | None = None,
    read: bool = True,
    stop: Callable[[], bool] | None = None,
    on_solution: Callable[[float, float], None] | None = None,
    log: bool = False,
    deterministic_time: float | None = None,
) -> Outcome:
    """Solve the built model `b` (its objective already set).

    Parameters
    ----------
    c
        The compiled problem the model was built from.
    b
        The model and its handles.
    time_limit, workers, seed
        CP-SAT's time limit (seconds), search workers and random seed.
    hint
        A complete schedule to hint every model variable with; also the schedule the
        solution is read back onto (its ops outside the model stay as they are).
    read
        Read the solution back (without a hint: onto the fixed steps alone).
    stop
        Polled every `STOP_POLL` seconds while CP-SAT runs: True stops the search, which
        then reports the best solution found so far.
    on_solution
        Called with (objective value, best bound) on each improving solution.
    log
        CP-SAT's own search log on stdout.
    deterministic_time
        Also stop after this much of CP-SAT's deterministic time: with one worker and a
        seed, the same answer however loaded the machine is (`time_limit` still caps it).

    Returns
    -------
    Outcome
        The status, the schedule read back, CP-SAT's bound and its wall time.
    """
    if hint is not None:
        add_hint(b, c, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = log
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = deterministic_time
    cb = _Callback(on_solution) if on_solution is not None else None
    if stop is None:
        status = solver.solve(b.model, cb)
    else:
        done = threading.Event()

        def watch() -> None:
            while not done.wait(STOP_POLL):
                if stop():
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=watch, name="rackplan-cp-sat-stop", daemon=True)
        watcher.start()
        try:
            status = solver.solve(b.model, cb)
        finally:
            done.set()
            watcher.join()
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    got = None
    if found and read:
        got = read_back(b, solver, hint if hint is not None else _fixed_only(c))
    bound = solver.best_objective_bound if found else 0.0
    return Outcome(int(status), got, bound, solver.wall_time)


def _fixed_only(c: Compiled) -> Assignment:
    """A schedule with only the fixed steps placed (the others at resource -1)."""
    base = Assignment([-1] * c.n_ops, [0] * c.n_ops, [0] * c.n_ops)
    for o, f in enumerate(c.op_fixed):
        if f is not None:
            base.res[o], base.start[o], base.end[o] = f
    return base


__all__ = ["STOP_POLL", "Outcome", "run_model"]
