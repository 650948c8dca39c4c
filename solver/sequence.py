"""Order-sequence search: local search over the order in which dispatch places the orders.

The dispatch heuristic, given a sequence of orders, places them one after another (each
order's units in turn, each unit's steps in routing order) at their earliest feasible
places, filling the gaps earlier orders left. Every sequence so decodes into a valid
schedule, and a change of sequence re-packs everything after it: pulling a late order
ahead of eight others moves those eight back on every line, test cell and bay at every
site at once. A CP-SAT sub-model over a few units with the rest fixed cannot do that,
and on due dates that is where most of the gain is (bench/tardiness.py).

The search moves one order per step: a late order (chosen by its weighted tardiness)
earlier, an early one (chosen by its slack) later, or any order a few places either way,
and keeps the new sequence when its schedule is no worse. Only the orders from the first
changed place on are decoded again; those before it keep their places. With a reference
schedule (a reschedule) the decoder is the repair pass, which puts each step back where
the reference had it when that place is free, and the score includes the moves.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from solver.compiled import Compiled
from solver.dispatch import (
    Assignment,
    Cutoff,
    DispatchFailed,
    HorizonTooShort,
    dispatch,
    order_tardiness,
    score,
    unit_delivery,
)
from solver.stability import UNIT

log = logging.getLogger(__name__)


@dataclass
class SequenceParams:
    time_limit: float
    seed: int = 0
    # steps in a row without a strictly better schedule before the search gives up
    # (None: the larger of 300 and 10 per order, at most 4 n (n - 1) for n orders)
    patience: int | None = None
    max_steps: int | None = None  # a fixed budget of steps (repeatable, whatever the machine)
    stop: Callable[[], bool] | None = None  # asked between steps: True ends the search


class _Decoder:
    """Sequence -> schedule, by dispatch with the orders' places as priority keys."""

    def __init__(self, c: Compiled) -> None:
        self.c = c
        self.repair = c.reference is not None
        # orders with a step to place: only these are sequenced
        self.movable = [
            oi for oi, units in enumerate(c.order_units)
            if any(c.op_fixed[o] is None for u in units for o in c.unit_ops[u])
        ]

    def decode(
        self, seq: list[int], base: Assignment | None = None, first: int = 0,
        worse_than: tuple[int, int] | None = None,
    ) -> Assignment:
        """The schedule of `seq`; with `base` (the schedule of a sequence equal to `seq`
        before place `first`) the orders before `first` keep their places in it.

        `worse_than`: a score; raises `Cutoff` as soon as the schedule must score worse.
        """
        c = self.c
        pos = {oi: i for i, oi in enumerate(seq)}
        late = len(seq)
        keys: list[tuple[float, ...]] = []
        for o in range(c.n_ops):
            u = c.op_unit[o]
            keys.append((1, pos.get(c.unit_order[u], late), c.unit_no[u], o))
        keep = None
        if base is not None and first > 0:
            keep = (base, [u for oi in seq[:first] for u in c.order_units[oi]])
        cutoff = None
        if worse_than is not None:
            # the primary figure is the weighted tardiness, plus moves (>= 0) with a reference
            cutoff = worse_than[0] // UNIT if self.repair else worse_than[0]
        return dispatch(c, keys, repair=self.repair, patience=None, keep=keep, cutoff=cutoff)


def order_sequence(c: Compiled, a: Assignment, orders: list[int]) -> list[int]:
    """`orders` in the order their first steps start in `a`."""
    return sorted(
        orders,
        key=lambda oi: (min(a.start[c.unit_ops[u][0]] for u in c.order_units[oi]), oi),
    )


def sequence_search(
    c: Compiled,
    start: Assignment,
    params: SequenceParams,
    on_improve: Callable[[Assignment], None] | None = None,
) -> Assignment:
    """Improve `start` by searching the order sequence until the time limit, the
    patience runs out, or a stop request; the best schedule found (`start` if none)."""
    t_end = time.monotonic() + params.time_limit
    dec = _Decoder(c)
    best, best_key = start, score(c, start)
    n = len(dec.movable)
    if n < 2:
        return best
    rng = random.Random(params.seed)
    # a few orders have few sequences: some 4 tries of each single move are enough there
    patience = params.patience or min(max(300, 10 * n), 4 * n * (n - 1))
    # the current sequence: the start's own order, or by due date when that decodes better;
    # a decode is not interrupted, so none starts unless the slowest so far fits the time
    seq: list[int] | None = None
    cur: Assignment | None = None
    cur_key = None
    slowest = 0.0
    firsts = [order_sequence(c, start, dec.movable)]
    by_due = sorted(dec.movable, key=lambda oi: (c.order_due[oi], c.order_release[oi], oi))
    if by_due != firsts[0]:
        firsts.append(by_due)
    for s in firsts:
        if seq is not None and time.monotonic() + slowest > t_end:
            break
        t = time.monotonic()
        try:
            got = dec.decode(s)
        except (HorizonTooShort, DispatchFailed):  # this sequence does not fit
            continue
        finally:
            slowest = max(slowest, time.monotonic() - t)
        k = score(c, got)
        if cur_key is None or k < cur_key:
            seq, cur, cur_key = s, got, k
    if seq is None or cur is None or cur_key is None:
        return best
    if cur_key < best_key:
        best, best_key = cur, cur_key
        if on_improve is not None:
            on_improve(best)
    reach = max(4, min(n // 4, 16))  # how far one step moves an order (places)
    steps = improved = idle = 0
    budget = params.max_steps if params.max_steps is not None else 1 << 60
    while idle < patience and steps < budget and time.monotonic() + slowest < t_end:
        if params.stop is not None and params.stop():
            break
        steps += 1
        idle += 1
        i, j = _move(c, cur, seq, reach, rng)
        if i == j:
            continue
        new_seq = seq[:]
        new_seq.insert(j, new_seq.pop(i))
        t = time.monotonic()
        try:
            got = dec.decode(new_seq, cur, min(i, j), worse_than=cur_key)
        except (HorizonTooShort, DispatchFailed, Cutoff):  # does not fit, or worse
            continue
        finally:
            slowest = max(slowest, time.monotonic() - t)
        k = score(c, got)
        if k <= cur_key:
            if k < cur_key:
                idle = 0
            seq, cur, cur_key = new_seq, got, k
            if k < best_key:
                improved += 1
                best, best_key = got, k
                if on_improve is not None:
                    on_improve(best)
    log.debug("sequence: %d steps, %d improved, %d orders", steps, improved, n)
    return best


def _move(
    c: Compiled, a: Assignment, seq: list[int], reach: int, rng: random.Random
) -> tuple[int, int]:
    """A step: (from, to) places in `seq`."""
    n = len(seq)
    roll = rng.random()
    if roll < 0.5:
        late = [(c.order_weight[oi] * order_tardiness(c, a, oi), i) for i, oi in enumerate(seq)]
        late = [x for x in late if x[0] > 0 and x[1] > 0]
        if late:
            i = rng.choices([i for _, i in late], weights=[w for w, _ in late])[0]
            return i, rng.randint(max(0, i - reach), i - 1)
    elif roll < 0.7:
        slack = [
            (c.order_due[oi] - max(unit_delivery(c, a, u) for u in c.order_units[oi]), i)
            for i, oi in enumerate(seq[:-1])
        ]
        slack = [x for x in slack if x[0] > 0]
        if slack:
            i = rng.choices([i for _, i in slack], weights=[s for s, _ in slack])[0]
            return i, rng.randint(i + 1, min(n - 1, i + reach))
    i = rng.randrange(n)
    return i, min(n - 1, max(0, i + rng.randint(-reach, reach)))


__all__ = ["SequenceParams", "order_sequence", "sequence_search"]
