"""What the caller of a solve decides (`SolveParams`), and what it hears back (`Progress`).

Both are exported by `solver.solve`, the entry point; they live here so that the phase
plan (`solver.search.plan`) can read them without importing the entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from solver.compiled import MoveCosts
from solver.execution import Backend
from solver.problem import Objective
from solver.tuning import Tuning

#: one entry of the solve log: {"phase", "seconds", "objective", "bound"}
LogEntry = dict[str, Any]


@dataclass
class Progress:
    """A progress report during a solve (objective figures as in the schedule).

    `solve_log` holds the phases finished so far, as in the schedule's ``solve_log``.
    """

    elapsed: float
    objective: float | None
    bound: float | None
    phase: str
    solve_log: list[LogEntry] = field(default_factory=list)


@dataclass
class SolveParams:
    """What the caller decides about a solve."""

    time_limit: float = 30.0
    workers: int = 2
    seed: int = 0
    objective: Objective | None = None
    progress: Callable[[Progress], None] | None = None
    # CP-SAT's own search log on stdout (the full model)
    log: bool = False
    # polled about every 0.2 s: True stops the search and returns the best schedule so far
    stop: Callable[[], bool] | None = None
    # polled while the problem is compiled and the first schedule built: True gives up
    # there (an UNKNOWN schedule saying so) instead of finishing a long start; e.g. a
    # caller's deadline counted from before the solve, or a cancel that start ignored
    halt: Callable[[], bool] | None = None
    # a schedule to stay close to (SPEC section 3, e.g. the published one): it is the
    # starting point, and moving a step away from it costs `move_costs`
    reference: Mapping[str, Any] | None = None
    move_costs: MoveCosts = field(default_factory=MoveCosts)
    # how the solver spends the time (shares, sub-model times, sizes: docs/tuning.md)
    tuning: Tuning = field(default_factory=Tuning)
    # solve site by site (`solver.decompose`): True always, False never, None when the
    # problem has at least `tuning.decompose_min_racks` racks
    decompose: bool | None = None
    # where the parts of a decomposed solve run side by side (`solver.execution`; None:
    # child processes of this machine, as many as `workers`)
    backend: Backend | None = None

    def stopped(self) -> bool:
        """Whether the caller has asked the search to stop."""
        return self.stop is not None and self.stop()


__all__ = ["LogEntry", "Progress", "SolveParams"]
