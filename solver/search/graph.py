"""A schedule of a job shop as per-resource sequences: the disjunctive graph the tabu
searches (makespan in `solver.search.tabu`, weighted tardiness in `solver.search.twt`)
work on. Each search adds its own heads, tails and figures on top."""

from __future__ import annotations

from itertools import pairwise

from solver.compiled import Compiled
from solver.solution import Assignment


class Sequences:
    """Routing links, release heads, durations per eligible resource, and the sequence of
    ops on each resource, read off the schedule `a` (ops in start order)."""

    def __init__(self, c: Compiled, a: Assignment) -> None:
        n = c.n_ops
        self.n = n
        self.jp = [-1] * n  # the op before, in its unit's routing (-1: none)
        self.js = [-1] * n  # the op after
        self.rel = [0] * n  # release heads, on each unit's first op
        for u, ops in enumerate(c.unit_ops):
            self.rel[ops[0]] = c.order_release[c.unit_order[u]]
            for x, y in pairwise(ops):
                self.js[x] = y
                self.jp[y] = x
        self.dur = [{m.resource: m.duration for m in c.op_modes[o]} for o in range(n)]
        self.mach = a.res[:]
        self.p = [self.dur[o][a.res[o]] for o in range(n)]
        self.seq: dict[int, list[int]] = {m.resource: [] for ms in c.op_modes for m in ms}
        for o in sorted(range(n), key=lambda o: (a.start[o], a.end[o])):
            self.seq[a.res[o]].append(o)
        self.pos = [0] * n
        for s in self.seq.values():
            for i, o in enumerate(s):
                self.pos[o] = i
        self.r = [0] * n  # heads: each op's start, set by the search's own evaluation

    def move(self, v: int, k: int, idx: int) -> tuple[int, int]:
        """Take `v` off its sequence and insert it into resource `k`'s at `idx` (an index
        of the sequence without `v`); returns where it was, to undo."""
        k0, i0 = self.mach[v], self.pos[v]
        s0 = self.seq[k0]
        del s0[i0]
        s = self.seq[k]
        s.insert(idx, v)
        self.mach[v] = k
        self.p[v] = self.dur[v][k]
        for i in range(i0 if k0 != k else min(i0, idx), len(s0)):
            self.pos[s0[i]] = i
        if k != k0:
            for i in range(idx, len(s)):
                self.pos[s[i]] = i
        return k0, i0

    def assignment(self) -> Assignment:
        """The schedule the sequences and heads describe."""
        return Assignment(self.mach[:], self.r[:], [self.r[o] + self.p[o] for o in range(self.n)])
