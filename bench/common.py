"""Shared pieces of the benchmark scripts: tables, timing, the dispatch path, arguments.

The scripts in `bench/` print plain fixed-width tables (or GitHub markdown with
``--markdown``), run one instance after another, and exit non-zero only on a failure: an
error while reading or solving, no schedule, or a schedule that `solver.validate` rejects.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from solver.compiled import Compiled, compile_problem, default_horizon
from solver.dispatch import DispatchFailed, HorizonTooShort, best_dispatch, dispatch_rules
from solver.problem import Problem, ProblemError
from solver.schedule import Status, build_schedule
from solver.search.bounds import lower_bound
from solver.solution import Assignment
from solver.tuning import Tuning
from solver.validate import validate

T = TypeVar("T")

MISSING = "-"


# ---- tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: its header and whether its cells line up on the right (numbers)."""

    header: str
    right: bool = True


def render_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, markdown: bool = False
) -> str:
    """The rows under the headers, as fixed-width plain text or a GitHub markdown table.

    Parameters
    ----------
    columns
        Header and alignment of each column.
    rows
        Already formatted cells, one sequence per row, as many cells as columns.
    markdown
        Write a markdown table (``| a | b |`` with an alignment row) instead of plain text.

    Returns
    -------
    str
        The table, lines joined by newlines, without a trailing newline.
    """
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} cells for {len(columns)} columns: {row!r}")
    widths = [
        max([len(col.header), *(len(row[i]) for row in rows)]) for i, col in enumerate(columns)
    ]

    def cell(text: str, i: int) -> str:
        return text.rjust(widths[i]) if columns[i].right else text.ljust(widths[i])

    if markdown:
        lines = [
            "| " + " | ".join(cell(c.header, i) for i, c in enumerate(columns)) + " |",
            "|" + "|".join(
                "-" * (widths[i] + 1) + ":" if c.right else "-" * (widths[i] + 2)
                for i, c in enumerate(columns)
            ) + "|",
        ]
        lines += ["| " + " | ".join(cell(t, i) for i, t in enumerate(r)) + " |" for r in rows]
        return "\n".join(lines)
    sep = "  "
    lines = [
        sep.join(cell(c.header, i) for i, c in enumerate(columns)).rstrip(),
        sep.join("-" * w for w in widths),
    ]
    lines += [sep.join(cell(t, i) for i, t in enumerate(r)).rstrip() for r in rows]
    return "\n".join(lines)


def print_table(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, markdown: bool
) -> None:
    """Print a titled table to stdout followed by a blank line."""
    heading = f"### {title}" if markdown else title
    print(heading)
    print()
    print(render_table(columns, rows, markdown=markdown))
    print()


def fmt_int(value: float | None) -> str:
    """A whole figure with thousands separators (``-`` when missing)."""
    if value is None:
        return MISSING
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def fmt_float(value: float | None, digits: int = 1) -> str:
    """A figure with `digits` decimals (``-`` when missing)."""
    return MISSING if value is None else f"{value:,.{digits}f}"


def fmt_pct(value: float | None, digits: int = 2) -> str:
    """A percentage that is already multiplied by 100 (``-`` when missing)."""
    return MISSING if value is None else f"{value:.{digits}f}"


def verdict(ok: bool | None) -> str:
    """``met`` / ``not met`` (``-`` when there is nothing to judge)."""
    if ok is None:
        return MISSING
    return "met" if ok else "not met"


# ---- timing -------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call `fn` and return its result and the wall-clock seconds it took."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# ---- the dispatch path --------------------------------------------------------------------


@dataclass
class FirstSchedule:
    """The dispatch heuristic's validated schedule and where its time went (seconds).

    ``compile_s`` and ``dispatch_s`` add up every horizon tried (`attempts` of them): like
    `solver.solve.solve`, the horizon doubles when the plan or a step does not fit in it.
    ``build_s`` covers the lower bound and `build_schedule`.
    """

    compiled: Compiled | None = None
    assignment: Assignment | None = None
    schedule: dict[str, Any] | None = None
    faults: list[str] = field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    horizon_days: int = 0
    compile_s: float = 0.0
    dispatch_s: float = 0.0
    build_s: float = 0.0
    validate_s: float = 0.0

    @property
    def total_s(self) -> float:
        """Seconds from the checked problem to the validated schedule."""
        return self.compile_s + self.dispatch_s + self.build_s + self.validate_s

    @property
    def ok(self) -> bool:
        """A schedule was built and the validator accepted it."""
        return self.error is None and self.schedule is not None and not self.faults


def first_schedule(problem: Problem, seed: int = 0) -> FirstSchedule:
    """Compile, dispatch (the best of the rules a solve tries), build and validate, timing
    each phase.

    Parameters
    ----------
    problem
        A checked problem, as `load_problem` returns it.
    seed
        Seed of `best_dispatch`.

    Returns
    -------
    FirstSchedule
        The schedule and its phase times; ``error`` says why there is none, ``faults`` lists
        what the validator rejected.
    """
    out = FirstSchedule()
    horizon = default_horizon(problem)
    tuning = Tuning()
    for _ in range(tuning.horizon_tries):
        out.attempts += 1
        t0 = time.perf_counter()
        try:
            c = compile_problem(problem, horizon)
        except ProblemError as exc:  # a step fits no window before this horizon
            out.compile_s += time.perf_counter() - t0
            out.error = "cannot compile: " + "; ".join(exc.errors[:5])
            horizon *= 2
            continue
        out.compile_s += time.perf_counter() - t0
        out.error = None
        t0 = time.perf_counter()
        try:
            a = best_dispatch(c, dispatch_rules(c, tuning), seed=seed)
        except HorizonTooShort:
            out.dispatch_s += time.perf_counter() - t0
            horizon *= 2
            continue
        except DispatchFailed as exc:
            out.dispatch_s += time.perf_counter() - t0
            out.error = "dispatch failed: " + "; ".join(exc.reasons)
            return out
        out.dispatch_s += time.perf_counter() - t0
        out.compiled, out.assignment, out.horizon_days = c, a, horizon // 1440
        break
    else:
        out.error = out.error or (
            f"no dispatch schedule within {horizon // 2 // 1440} days of horizon_start"
        )
        return out
    t0 = time.perf_counter()
    lb = lower_bound(c)
    out.schedule = build_schedule(
        c, a, status=Status.FEASIBLE, lower_bound=lb, solve_seconds=out.compile_s + out.dispatch_s,
        source="dispatch",
    )
    out.build_s = time.perf_counter() - t0
    out.faults, out.validate_s = timed(lambda: validate(problem, out.schedule or {}))
    return out


# ---- arguments ----------------------------------------------------------------------------


def add_common_args(ap: argparse.ArgumentParser, *, time_limit: float, workers: int) -> None:
    """The flags every benchmark script takes: time limit, workers, seed, markdown."""
    ap.add_argument(
        "--time-limit", type=float, default=time_limit, metavar="S",
        help=f"solver time limit per instance in seconds (default {time_limit:g})",
    )
    ap.add_argument(
        "--workers", type=int, default=workers, metavar="N",
        help=f"CP-SAT workers (default {workers})",
    )
    ap.add_argument("--seed", type=int, default=0, help="solver (and instance) seed (default 0)")
    ap.add_argument(
        "--markdown", action="store_true", help="print markdown tables (docs/benchmarks.md)"
    )


def int_list(text: str) -> list[int]:
    """``"150,300"`` as ``[150, 300]`` (an argparse type)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1: {text!r}")
    return values


def name_list(text: str) -> list[str]:
    """``"mk01, ft06"`` as ``["mk01", "ft06"]`` (an argparse type)."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError("expected at least one name")
    return values


def progress(message: str) -> None:
    """A progress line on stderr (the tables go to stdout)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def report_failures(failures: Sequence[str]) -> int:
    """Print the failures (if any) and return the exit code: 1 with failures, else 0."""
    if not failures:
        return 0
    print(f"FAILURES ({len(failures)}):")
    for f in failures:
        print(f"  {f}")
    return 1
