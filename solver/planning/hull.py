"""Whole racks at one moment: valid inequalities ``a . n <= beta`` on how many steps of
each powered type a site can run at once.

At any moment a site runs ``n_t`` steps of type `t` (whole steps), with
``sum_t power_t n_t <= cap`` (rule 8) and, for each set of resources, at most its slots
(rule 7). The fluid energy row only knows ``sum_t power_t n_t <= cap``: with a cap of
330 kW and 132 kW racks it lets 2.5 racks run where whole racks allow 2. For a direction
`a` with small whole entries, ``beta(a)`` is the largest ``a . n`` over the whole points
(found by enumeration), so ``a . n(t) <= beta`` at every moment and, integrated over a
bucket, ``sum_t a_t x (minutes of type t in the bucket) <= beta x minutes``. A direction
is kept when it cuts the fluid polytope (its largest ``a . n`` over fractional points,
found at the polytope's vertices, exceeds ``beta``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations, product

# enumeration stops (and no cut is made) past this many whole points
MAX_POINTS = 200_000
MAX_ENTRY = 3  # directions have entries 0..MAX_ENTRY


def _limits(powers: Sequence[float], sets: Sequence[tuple[frozenset[int], int]],
            cap: float | None) -> list[int]:
    out = []
    for t, p in enumerate(powers):
        lim = min((slots for ts, slots in sets if t in ts), default=10**9)
        if cap is not None and p > 0:
            lim = min(lim, math.floor(cap / p + 1e-9))
        out.append(lim)
    return out


def whole_points(powers: Sequence[float], sets: Sequence[tuple[frozenset[int], int]],
                 cap: float | None) -> list[tuple[int, ...]] | None:
    """The maximal whole points (no coordinate can grow), None if there are too many."""
    lims = _limits(powers, sets, cap)
    if math.prod(x + 1 for x in lims) > MAX_POINTS:
        return None
    T = len(powers)
    budget = math.inf if cap is None else cap + 1e-9
    out: list[tuple[int, ...]] = []

    def fits(n: list[int]) -> bool:
        return sum(p * x for p, x in zip(powers, n, strict=True)) <= budget and all(
            sum(n[t] for t in ts) <= slots for ts, slots in sets)

    for n in product(*(range(x + 1) for x in lims)):
        v = list(n)
        if not fits(v):
            continue
        maximal = True
        for t in range(T):
            v[t] += 1
            grown = fits(v)
            v[t] -= 1
            if grown:
                maximal = False
                break
        if maximal:
            out.append(n)
    return out


def fluid_vertices(powers: Sequence[float], sets: Sequence[tuple[frozenset[int], int]],
                   cap: float | None) -> list[tuple[Fraction, ...]]:
    """The vertices of ``{n >= 0, power . n <= cap, slot sets}`` (bounded by the sets)."""
    T = len(powers)
    rows: list[tuple[list[Fraction], Fraction]] = []
    for t in range(T):
        rows.append(([Fraction(-1) if k == t else Fraction(0) for k in range(T)],
                     Fraction(0)))
    if cap is not None:
        rows.append(([Fraction(str(p)) for p in powers], Fraction(str(cap))))
    for ts, slots in sets:
        rows.append(([Fraction(1) if k in ts else Fraction(0) for k in range(T)],
                     Fraction(slots)))
    out = []
    for pick in combinations(range(len(rows)), T):
        sol = _solve([rows[i][0] for i in pick], [rows[i][1] for i in pick])
        if sol is None:
            continue
        if all(sum(a * x for a, x in zip(lhs, sol, strict=True)) <= rhs
               for lhs, rhs in rows):
            out.append(tuple(sol))
    return out


def _solve(a: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """The unique solution of ``a x = b`` (square), None when singular."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = next((r for r in range(col, n) if m[r][col] != 0), None)
        if piv is None:
            return None
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def cuts(powers: Sequence[float], sets: Sequence[tuple[frozenset[int], int]],
         cap: float | None, limit: int = 6) -> list[tuple[tuple[int, ...], int]]:
    """Directions `a` and their whole-point maxima `beta` that cut the fluid polytope at
    `cap`, the deepest first (at most `limit`)."""
    pts = whole_points(powers, sets, cap)
    if not pts:
        return []
    verts = fluid_vertices(powers, sets, cap)
    found: list[tuple[float, tuple[int, ...], int]] = []
    seen: set[tuple[int, ...]] = set()
    for a in product(range(MAX_ENTRY + 1), repeat=len(powers)):
        g = math.gcd(*a)
        if g != 1 or a in seen:
            continue
        seen.add(a)
        beta = max(sum(x * y for x, y in zip(a, n, strict=True)) for n in pts)
        fluid = max(sum(x * y for x, y in zip(a, v, strict=True)) for v in verts)
        if fluid > beta and beta > 0:
            found.append((float(fluid) / beta, a, beta))
    found.sort(key=lambda f: -f[0])
    return [(a, beta) for _, a, beta in found[:limit]]


def beta_at(a: Sequence[int], powers: Sequence[float],
            sets: Sequence[tuple[frozenset[int], int]], cap: float | None) -> float:
    """The largest ``a . n`` over whole points at `cap` (the fluid largest if there are
    too many points to enumerate)."""
    pts = whole_points(powers, sets, cap)
    if pts is not None:
        return float(max((sum(x * y for x, y in zip(a, n, strict=True)) for n in pts),
                         default=0))
    verts = fluid_vertices(powers, sets, cap)
    return float(max(sum(x * y for x, y in zip(a, v, strict=True)) for v in verts))
