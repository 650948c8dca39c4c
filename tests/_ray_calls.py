"""Calls that the Ray and local backends run in their workers for tests/test_ray_backend.py:
importable by module name from the workers, and light to import (a child process of the
local backend imports this module, not the test module)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from solver.problem import Problem
    from solver.solve import SolveParams

DOOMED = "PHX"  # the site whose part's worker dies in `solve_or_die`


def double_or_die(x: int) -> int:
    """2x; a negative x: the worker dies without an answer; zero: ValueError."""
    if x < 0:
        os._exit(3)
    if x == 0:
        raise ValueError("zero")
    return 2 * x


def solve_or_die(problem: Problem, params: SolveParams) -> dict[str, Any]:
    """The ordinary solve, except that the worker solving site DOOMED's part dies."""
    if [s.id for s in problem.sites] == [DOOMED]:
        os._exit(3)
    from solver.solve import solve

    return solve(problem, params)
