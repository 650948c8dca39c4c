"""What every phase of a solve works with (`Context`) and the one signature of a phase.

A phase is an object with a `name` and ``run(ctx, start, budget) -> Assignment``: it
improves on `start` for at most `budget` seconds and returns the best schedule it found
(`start` itself when it found nothing better). The context carries the compiled problem,
the scorer, the tuning, the workers and seed, the clock, the stop request and the progress
callback, and what the phases have learned so far: the proven bound, whether CP-SAT proved
the incumbent optimal, whether a search gave up, and the solve log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from solver.compiled import Compiled
from solver.params import LogEntry, Progress
from solver.solution import Assignment, Scorer
from solver.tuning import Tuning


class Phase(Protocol):
    """One step of the solve's plan (`solver.search.plan`)."""

    #: the phase's name: in progress reports, the solve log and the schedule's `source`
    name: ClassVar[str]
    #: an answer exactly as good as the incumbent replaces it (else only a better one)
    ties: ClassVar[bool]

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        """The best schedule found from `start` within `budget` seconds."""
        ...

    def describe(self) -> str:
        """The phase and its options in a few words (for the plan's description)."""
        ...


@dataclass
class Context:
    """The compiled problem and everything a phase needs besides its start and budget.

    Built by `solver.solve.solve` from `SolveParams`; tests build one for a phase alone
    (``Context(c, seed=3)``: default tuning, no time limit, no stop request).
    """

    c: Compiled
    tuning: Tuning = field(default_factory=Tuning)
    workers: int = 1
    seed: int = 0
    # the caller's stop request, polled between steps (and by the CP-SAT runner)
    stop: Callable[[], bool] | None = None
    progress: Callable[[Progress], None] | None = None
    cp_sat_log: bool = False  # CP-SAT's own search log on stdout (the full model)
    time_limit: float = math.inf  # of the whole solve, from `t0`
    t0: float = field(default_factory=time.monotonic)
    # how schedules compare: the objective, plus the moves' cost with a reference
    scorer: Scorer = field(init=False)
    # what the phases have found out so far
    bound: float = 0.0  # a proven lower bound on the objective figure
    proven: bool = False  # CP-SAT proved the incumbent optimal
    gave_up: bool = False  # a search stopped early, having found nothing better
    # per order index, proven tardiness bounds in minutes (the bounds phase)
    order_lb: dict[int, int] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)  # the solve log so far

    def __post_init__(self) -> None:
        self.scorer = Scorer(self.c)

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.monotonic() - self.t0

    def left(self) -> float:
        """Seconds left of the solve's time limit."""
        return self.time_limit - self.elapsed()

    def stopped(self) -> bool:
        """Whether the caller has asked the search to stop (the one stop protocol)."""
        return self.stop is not None and self.stop()

    def done(self, a: Assignment) -> bool:
        """Nothing is left to gain on `a`'s primary figure: CP-SAT proved it optimal, or
        it equals the proven bound (without a reference: with one, moves could still be
        saved)."""
        return self.proven or (self.scorer.plain and self.scorer.at_bound(a, self.bound))

    def report(self, a: Assignment | None, phase: str, bound: float | None = None) -> None:
        """Tell the caller about `a` (None: no schedule, only a bound) found in `phase`."""
        if self.progress is not None:
            self.progress(Progress(
                self.elapsed(), self.scorer.figure(a) if a is not None else None,
                self.bound if bound is None else bound, phase, [dict(e) for e in self.log],
            ))

    def record(self, phase: str, since: float, a: Assignment) -> None:
        """Add `phase` to the solve log: run from `since` (elapsed seconds) until now, it
        left `a` as the incumbent and `bound` as the proven bound."""
        self.log.append({
            "phase": phase,
            "seconds": round(self.elapsed() - since, 3),
            "objective": _figure(self.scorer.figure(a)),
            "bound": _figure(self.bound),
        })


def _figure(v: float) -> float:
    """A figure as the schedule writes it: whole numbers as ints, else 6 decimals."""
    return int(v) if float(v).is_integer() else round(v, 6)


__all__ = ["Context", "Phase"]
