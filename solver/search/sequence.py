"""Order-sequence search: local search over the order in which dispatch places the orders.

The dispatch heuristic, given a sequence of orders, places them one after another (each
order's units in turn, each unit's steps in routing order) at their earliest feasible
places, filling the gaps earlier orders left. Every sequence so decodes into a valid
schedule, and a change of sequence re-packs everything after it: pulling a late order
ahead of eight others moves those eight back on every line, test cell and bay at every
site at once. A CP-SAT sub-model over a few units with the rest fixed cannot do that,
and on due dates that is where most of the gain is (docs/solver.md).

The search moves one order per step: a late order (chosen by its weighted tardiness)
earlier, an early one (chosen by its slack) later, or any order a few places either way,
and keeps the new sequence when its schedule is no worse. Only the orders from the first
changed place on are decoded again, from the pass's state saved shortly before that
place (those before it keep their places: a move near the end costs little whatever
the size), and a decode stops as soon as the orders placed so far are later than the
current schedule in all, or (past the move) later than the same orders are in it by
more than `Tuning.sequence_prefix_slack`.
When many steps in a row bring nothing, the search restarts from its best sequence with
a few orders moved at random. With more than one worker, helper processes run searches
of their own and all go on from the best sequence every few seconds. With a reference
schedule (a reschedule) the decoder is the repair pass, which puts each step back where
the reference had it when that place is free, and the score includes the moves; the
phase may then give up early (`Sequence.give_up`).
"""

from __future__ import annotations

import logging
import pickle
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from solver.compiled import Compiled
from solver.dispatch import (
    Checkpoints,
    Cutoff,
    DispatchFailed,
    HorizonTooShort,
    PassState,
    dispatch,
)
from solver.search.context import Context
from solver.search.helper import Helper, child_channel, reply
from solver.solution import Assignment, Scorer, order_tardiness, unit_delivery
from solver.tuning import Tuning

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sequence:
    """The phase: the order-sequence search from the incumbent.

    `give_up` (a share, with a reference): a search that has not beaten `start` once it
    has spent this share of its budget stops, and sets `ctx.gave_up`. `patience`: steps
    in a row without a strictly better schedule before the search restarts from its best
    sequence with a few orders moved (at most once per order), then ends (None: from the
    tuning). `max_steps`: a fixed budget of steps (repeatable, whatever the machine).
    """

    name: ClassVar[str] = "sequence"
    ties: ClassVar[bool] = False
    give_up: float | None = None
    patience: int | None = None
    max_steps: int | None = None

    def run(self, ctx: Context, start: Assignment, budget: float) -> Assignment:
        give_up_at = ctx.elapsed() + self.give_up * budget if self.give_up is not None else None
        improved = False

        def on_improve(a: Assignment) -> None:
            nonlocal improved
            improved = True
            ctx.report(a, self.name)

        def stop() -> bool:
            if give_up_at is not None and not improved and ctx.elapsed() > give_up_at:
                ctx.gave_up = True
                return True
            return ctx.stopped()

        return sequence_search(ctx, start, budget, stop, on_improve, self.patience,
                               self.max_steps)

    def describe(self) -> str:
        out = "sequence (the order-sequence search)"
        if self.give_up is not None:
            out += (f", gives up after {self.give_up:.0%} of its time without beating "
                    "the repaired plan")
        return out


class _Decoder:
    """Sequence -> schedule, by dispatch with the orders' places as priority keys.

    Such keys place the orders one after another, so what a pass has placed by the time
    it comes to place `k` depends on the first `k` orders alone. The decoder keeps the
    states of the current sequence's pass at every `every`-th place (`commit`), and a
    decode goes on from the last one before the first place it changes: it places
    again only what comes from there on, and gives the schedule a whole pass would.
    """

    def __init__(self, scorer: Scorer, tuning: Tuning | None = None) -> None:
        c = self.c = scorer.c
        self.scorer = scorer
        t = self.tuning = tuning or Tuning()
        self.repair = not scorer.plain
        # orders with a step to place: only these are sequenced
        self.movable = [
            oi for oi, units in enumerate(c.order_units)
            if any(c.op_fixed[o] is None for u in units for o in c.unit_ops[u])
        ]
        # whether a decode may drop a sequence whose first orders are later than before
        # (`decode`'s `same_from`): on due dates alone, with nothing fixed (fixed steps
        # count from the start, whichever order they belong to)
        self.prefix_cut = not self.repair and all(f is None for f in c.op_fixed)
        # the weighted tardiness per order of the last `base` (one schedule is the base of
        # many decodes in a row: the current one of a search)
        self._late_of: tuple[Assignment | None, list[int]] = (None, [])
        # saved states by place: (the sequence's orders before it, the pass's state
        # there); those of the current sequence, as far as they are known
        self.every = max(t.sequence_min_every, -(-len(self.movable) // t.sequence_states))
        self.states: dict[int, tuple[list[int], PassState]] = {}
        self._saved: list[tuple[int, list[int], PassState]] = []  # the last decode's

    def decode(
        self, seq: list[int], base: Assignment | None = None, first: int = 0,
        worse_than: tuple[int, int] | None = None, same_from: int | None = None,
    ) -> Assignment:
        """The schedule of `seq`; with `first`, the sequence of the current schedule
        (`commit`) is equal to `seq` before place `first`, and `base` is that schedule.

        `worse_than`: a score; raises `Cutoff` as soon as the schedule must score worse.
        `same_from` (with `base` and `worse_than`): from this place on, the orders up to
        each place are the same in `seq` as in the sequence of `base` (a move within
        the places before it). Then the decode also gives up, by the tuning's
        `sequence_prefix_slack`, when the orders up to some place from there on are later
        in all than in `base`.
        """
        c = self.c
        self._saved = []
        # the last saved state at or before `first` that `seq` passes through
        at = first - first % self.every
        while at > 0 and not (at in self.states and self.states[at][0] == seq[:at]):
            at -= self.every
        resume = self.states[at][1] if at in self.states else None
        if resume is None:
            at = 0
        # priority keys of the ops to place (those placed before `at`, and of the orders
        # with every step fixed, are never asked for)
        keys: list[tuple[float, ...]] = [()] * c.n_ops
        for i in range(at, len(seq)):
            for u in c.order_units[seq[i]]:
                no = c.unit_no[u]
                for o in c.unit_ops[u]:
                    keys[o] = (1, i, no, o)
        cutoff = None
        if worse_than is not None:
            cutoff = self.scorer.tardiness_cutoff(worse_than)
        by_order = None
        if cutoff is not None and base is not None and same_from is not None \
                and self.prefix_cut:
            owed = self._weighted_tardiness(base)
            slack = self.tuning.sequence_prefix_slack
            by_order = [cutoff] * len(c.order_ids)
            done = 0  # the base's weighted tardiness of the orders up to the place
            for i, oi in enumerate(seq):
                done += owed[oi]
                if i >= same_from:
                    by_order[oi] = int(done + slack * (cutoff - done))
        # the states to save: at the places past `at` (at `at` too when it has none),
        # each before the first unit of the order there
        every, last = self.every, at - 1 if resume is None else at

        def save_at(key: tuple[float, ...]) -> bool:
            nonlocal last
            i = int(key[1])
            if i % every or i <= last:
                return False
            last = i
            return True

        points = Checkpoints(save_at)
        got = dispatch(c, keys, repair=self.repair, patience=None, cutoff=cutoff,
                       order_cutoff=by_order, resume=resume, checkpoints=points)
        self._saved = [(int(key[1]), seq, state) for key, state in points.saved]
        return got

    def commit(self) -> None:
        """The last decode's sequence is now the current one: keep its states."""
        for i, seq, state in self._saved:
            self.states[i] = (seq[:i], state)
        self._saved = []

    def _weighted_tardiness(self, a: Assignment) -> list[int]:
        """Per order, its weight times its tardiness in `a` (cached for the last `a`)."""
        if self._late_of[0] is not a:
            c = self.c
            self._late_of = (a, [c.order_weight[oi] * order_tardiness(c, a, oi)
                                 for oi in range(len(c.order_ids))])
        return self._late_of[1]


def order_sequence(c: Compiled, a: Assignment, orders: list[int]) -> list[int]:
    """`orders` in a sequence whose decoding comes close to `a`: by the mean start of
    their units' last steps.

    A decode places an order's steps wherever they fit, often before those of orders
    placed ahead of it, so the order in which orders start says little; late steps
    (burn-in, the bottleneck) follow the sequence far more closely (docs/solver.md).
    """
    def key(oi: int) -> tuple[float, int]:
        units = c.order_units[oi]
        return sum(a.start[c.unit_ops[u][-1]] for u in units) / len(units), oi

    return sorted(orders, key=key)


def sequence_search(
    ctx: Context,
    start: Assignment,
    time_limit: float,
    stop: Callable[[], bool] | None = None,
    on_improve: Callable[[Assignment], None] | None = None,
    patience: int | None = None,
    max_steps: int | None = None,
) -> Assignment:
    """Improve `start` by searching the order sequence for `time_limit` seconds, until
    the patience runs out, or `stop()`; the best schedule found (`start` if none).

    With `ctx.workers` > 1 (and no fixed step budget) that many searches run at once,
    one here and the others in helper processes (`python -m solver.search.sequence`),
    each from its own seed; every few seconds they all go on from the best sequence so
    far.
    """
    c, scorer, t = ctx.c, ctx.scorer, ctx.tuning
    t_end = time.monotonic() + time_limit
    best, best_key = start, scorer(start)
    s = _Search(scorer, t, ctx.seed)
    if len(s.dec.movable) < 2:
        return best
    patience = patience or s.default_patience()
    firsts = [order_sequence(c, start, s.dec.movable)]
    by_due = sorted(s.dec.movable, key=lambda oi: (c.order_due[oi], c.order_release[oi], oi))
    if by_due != firsts[0]:
        firsts.append(by_due)

    def report() -> None:
        nonlocal best, best_key
        if s.best_key < best_key:
            best, best_key = s.best, s.best_key
            if on_improve is not None:
                on_improve(best)

    if not s.begin(firsts, t_end):
        return best
    report()
    budget = max_steps if max_steps is not None else 1 << 60

    helpers: list[_Helper] = []
    if ctx.workers > 1 and max_steps is None \
            and t_end - time.monotonic() > t.sequence_helper_min_seconds:
        helpers = _start_helpers(ctx)
    try:
        if not helpers:
            s.run(t_end, patience, budget, stop, report)
        else:
            _run_together(s, helpers, t_end, patience, stop, report)
    finally:
        for h in helpers:
            h.close()
    log.debug("sequence: %d steps, %d improved, %d orders, %d helpers",
              s.steps, s.improved, len(s.dec.movable), len(helpers))
    return best


class _Search:
    """One local search over the sequence: its current and best sequences and schedules."""

    def __init__(self, scorer: Scorer, tuning: Tuning, seed: int) -> None:
        self.c = scorer.c
        self.scorer = scorer
        self.tuning = t = tuning
        self.dec = _Decoder(scorer, tuning)
        self.rng = random.Random(seed)
        n = len(self.dec.movable)
        # how far one step moves an order (places)
        self.reach = max(t.sequence_reach_min, min(n // t.sequence_reach_divisor,
                                                   t.sequence_reach_max))
        self.seq: list[int] = []
        self.cur = Assignment([], [], [])
        self.cur_key = (0, 0)
        self.best_seq: list[int] = []
        self.best = self.cur
        self.best_key = self.cur_key
        self.slowest = 0.0  # a decode is not interrupted: none starts unless this fits
        self.idle = self.steps = self.improved = 0
        # restarts from the best with a few orders moved, once patience runs out
        self.kicks = n

    def exhausted(self, patience: int) -> bool:
        return self.idle >= patience and self.kicks <= 0

    def default_patience(self) -> int:
        # a few orders have few sequences: some tries of each single move are enough
        t, n = self.tuning, len(self.dec.movable)
        return min(max(t.sequence_patience_min, t.sequence_patience_per_order * n),
                   t.sequence_patience_per_move * n * (n - 1))

    def begin(self, firsts: list[list[int]], t_end: float) -> bool:
        """Start from the best decoding of `firsts`; False if none decodes."""
        found = False
        for seq in firsts:
            if found and time.monotonic() + self.slowest > t_end:
                break
            got = self._decode(seq)
            if got is None:
                continue
            k = self.scorer(got)
            if not found or k < self.cur_key:
                self.seq, self.cur, self.cur_key, found = seq, got, k, True
                self.dec.commit()
        if found:
            self.best_seq, self.best, self.best_key = self.seq, self.cur, self.cur_key
        return found

    def adopt(self, seq: list[int], a: Assignment, key: tuple[int, int]) -> None:
        """Go on from `seq` (decoding to `a`, scoring `key`) when it is better."""
        if key < self.best_key:
            self.best_seq, self.best, self.best_key = seq, a, key
        if key < self.cur_key:
            self.seq, self.cur, self.cur_key = seq, a, key
            self.idle = 0
            # decoded again here for the decoder's states of it (the same schedule)
            if self._decode(seq) is not None:
                self.dec.commit()

    def run(
        self, t_end: float, patience: int, budget: int = 1 << 60,
        stop: Callable[[], bool] | None = None, on_best: Callable[[], None] | None = None,
    ) -> None:
        """Steps until `t_end`, `budget` steps in all, `stop()`, or `patience` steps in a
        row without a strictly better schedule when no restart is left."""
        c = self.c
        while (self.idle < patience or self.kicks > 0) and self.steps < budget \
                and time.monotonic() + self.slowest < t_end:
            if stop is not None and stop():
                break
            if self.idle >= patience:
                self._kick()
                continue
            self.steps += 1
            self.idle += 1
            i, j = _move(c, self.cur, self.seq, self.reach, self.rng, self.tuning)
            if i == j:
                continue
            new_seq = self.seq[:]
            new_seq.insert(j, new_seq.pop(i))
            got = self._decode(new_seq, self.cur, min(i, j), self.cur_key, max(i, j))
            if got is None:
                continue
            k = self.scorer(got)
            if k <= self.cur_key:
                if k < self.cur_key:
                    self.idle = 0
                self.seq, self.cur, self.cur_key = new_seq, got, k
                self.dec.commit()
                if k < self.best_key:
                    self.improved += 1
                    self.best_seq, self.best, self.best_key = new_seq, got, k
                    if on_best is not None:
                        on_best()

    def _kick(self) -> None:
        """Out of a local optimum: go on from the best sequence with a few orders moved."""
        self.kicks -= 1
        seq = self.best_seq[:]
        n = len(seq)
        far = self.tuning.sequence_kick_reach * self.reach
        for _ in range(self.tuning.sequence_kick_moves):
            i = self.rng.randrange(n)
            j = min(n - 1, max(0, i + self.rng.randint(-far, far)))
            seq.insert(j, seq.pop(i))
        got = self._decode(seq)
        if got is not None:
            self.seq, self.cur, self.cur_key = seq, got, self.scorer(got)
            self.idle = 0
            self.dec.commit()

    def _decode(
        self, seq: list[int], base: Assignment | None = None, first: int = 0,
        worse_than: tuple[int, int] | None = None, same_from: int | None = None,
    ) -> Assignment | None:
        """The schedule of `seq`, or None when it does not fit or is worse than asked."""
        t = time.monotonic()
        try:
            return self.dec.decode(seq, base, first, worse_than, same_from)
        except (HorizonTooShort, DispatchFailed, Cutoff):
            return None
        finally:
            self.slowest = max(self.slowest, time.monotonic() - t)


# ---- searches in helper processes -------------------------------------------------------


class _Helper:
    """A sequence search in a child process (`solver.search.helper`): rounds from the parent's
    best, each round's best back."""

    def __init__(self, scorer: Scorer, tuning: Tuning, seed: int) -> None:
        self.helper = Helper("solver.search.sequence", (scorer, tuning, seed))

    @property
    def ok(self) -> bool:
        return self.helper.ok

    def start_round(
        self, seq: list[int], a: Assignment, key: tuple[int, int], seconds: float,
        patience: int,
    ) -> None:
        if self.helper.ok:
            self.helper.send((seq, a, key, seconds, patience))

    def result(self) -> tuple[list[int], Assignment, tuple[int, int], bool] | None:
        """The round's (best sequence, its schedule, its score, patience spent)."""
        got: tuple[list[int], Assignment, tuple[int, int], bool] | None = self.helper.receive()
        return got

    def close(self) -> None:
        self.helper.close()


def _start_helpers(ctx: Context) -> list[_Helper]:
    helpers = []
    for i in range(ctx.workers - 1):
        try:
            helpers.append(_Helper(ctx.scorer, ctx.tuning, ctx.seed + 1 + i))
        except OSError as exc:  # no process to spare: search alone
            log.warning("could not start a sequence-search helper: %s", exc)
            break
    return helpers


def _run_together(
    s: _Search, helpers: list[_Helper], t_end: float, patience: int,
    stop: Callable[[], bool] | None, report: Callable[[], None],
) -> None:
    """Rounds in which this search and the helpers' run at once from the best so far."""
    t = s.tuning
    while time.monotonic() + s.slowest < t_end and not (stop is not None and stop()):
        round_end = min(t_end, time.monotonic() + max(t.sequence_round_seconds,
                                                      t.sequence_round_decodes * s.slowest))
        for h in helpers:
            h.start_round(s.best_seq, s.best, s.best_key, round_end - time.monotonic(),
                          patience)
        s.run(round_end, patience, stop=stop, on_best=report)
        if stop is not None and stop():
            return  # close() ends the helpers: no need to wait for their rounds
        spent = s.exhausted(patience)
        for h in helpers:
            got = h.result()
            if got is None:
                continue
            seq, a, key, h_spent = got
            s.adopt(seq, a, key)
            spent = spent and h_spent
        report()
        if spent or not any(h.ok for h in helpers):
            if not spent:  # the helpers failed: go on alone
                s.run(t_end, patience, stop=stop, on_best=report)
            return


def _helper_main() -> None:
    """The helper process: a search from each round's sequence, the best back."""
    stdin, stdout = child_channel()
    try:
        scorer, tuning, seed = pickle.load(stdin)
    except EOFError:
        return
    s = _Search(scorer, tuning, seed)
    while True:
        try:
            seq, a, key, seconds, patience = pickle.load(stdin)
        except EOFError:
            return
        if not s.best_seq and not s.begin([seq], time.monotonic() + seconds):
            s.seq = s.best_seq = seq  # it did not decode here: go on from the parent's
            s.cur = s.best = a
            s.cur_key = s.best_key = key
        s.adopt(seq, a, key)
        s.run(time.monotonic() + seconds, patience)
        if not reply(stdout, (s.best_seq, s.best, s.best_key, s.exhausted(patience))):
            return  # the parent is gone (stopped or killed): so is the search


def _move(
    c: Compiled, a: Assignment, seq: list[int], reach: int, rng: random.Random, t: Tuning
) -> tuple[int, int]:
    """A step: (from, to) places in `seq`."""
    n = len(seq)
    roll = rng.random()
    if roll < t.sequence_late_share:
        late = [(c.order_weight[oi] * order_tardiness(c, a, oi), i) for i, oi in enumerate(seq)]
        late = [x for x in late if x[0] > 0 and x[1] > 0]
        if late:
            i = rng.choices([i for _, i in late], weights=[w for w, _ in late])[0]
            return i, rng.randint(max(0, i - reach), i - 1)
    elif roll < t.sequence_late_share + t.sequence_early_share:
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


__all__ = ["Sequence", "order_sequence", "sequence_search"]

if __name__ == "__main__":
    _helper_main()
