"""Tests of `solver.search.sequence`: the order-sequence search and its decoder.

A hand-made case where the due-date order is wrong and the best sequence is known, the
decoder's kept prefix, and a generated instance where the search must beat every
priority rule (checked by the validator, not by the search's own figures).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_solve import at, make, order

from bench.instances import generate
from solver.compiled import Compiled, compile_problem
from solver.dispatch import Cutoff, _Lateness, best_dispatch, dispatch
from solver.problem import Problem, load_problem
from solver.schedule import Status, build_schedule
from solver.search.context import Context
from solver.search.sequence import Sequence, _Decoder, _Helper, order_sequence
from solver.solution import Assignment, Scorer, evaluate, score
from solver.tuning import Tuning
from solver.validate import validate

# what a helper sends back after a round (None: it failed)
HelperResult = tuple[list[int], Assignment, tuple[int, int], bool] | None


def test_the_heavier_order_goes_first_when_both_cannot_be_on_time() -> None:
    """One line, two 60-minute orders both due at 60: A (weight 1, listed first, so
    first by due date) and B (weight 5). A first costs 5 x 60 = 300, B first 1 x 60."""
    p = make(
        products=[{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 60}]}],
        orders=[order("A", 60), order("B", 60, weight=5)],
    )
    c = compile_problem(p)
    start = dispatch(c)
    assert evaluate(c, start)[0] == 300
    got = Sequence().run(Context(c, seed=1), start, 5.0)
    assert evaluate(c, got)[0] == 60
    s = build_schedule(c, got, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="sequence")
    assert validate(p, s) == []
    first = min(s["items"], key=lambda item: item["start"])
    assert first["order"] == "B"


def test_an_order_released_later_is_placed_after_it_is_released() -> None:
    """Sequencing never breaks a release: B first in the sequence still starts at 120."""
    p = make(
        products=[{"id": "P", "routing": [{"op": "x", "kind": "line", "duration_min": 60}]}],
        orders=[order("A", 60), order("B", 180, weight=5, release=at(120))],
    )
    c = compile_problem(p)
    a = _Decoder(Scorer(c)).decode([1, 0])
    b_op = c.unit_ops[c.order_units[1][0]][0]
    a_op = c.unit_ops[c.order_units[0][0]][0]
    assert (a.start[b_op], a.start[a_op]) == (120, 0)  # A fills the gap before B's release


def test_the_order_sequence_of_a_decoded_schedule_decodes_back_to_it() -> None:
    """A (released at 50) then B: B's assembly fills the gap before A's release, but its
    burn-in (one bay) waits for A's. B starts first, yet A must stay first in the
    sequence: started first, B would take the bay and A would wait for it."""
    p = make(
        resources=[{"id": "L", "site": "S", "kind": "line"},
                   {"id": "BAY", "site": "S", "kind": "bay"}],
        products=[{"id": "P", "routing": [
            {"op": "asm", "kind": "line", "duration_min": 10},
            {"op": "burn", "kind": "bay", "duration_min": 100}]}],
        orders=[order("A", 200, release=at(50)), order("B", 300)],
    )
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    a = dec.decode([0, 1])
    first = [c.unit_ops[c.order_units[oi][0]][0] for oi in (0, 1)]
    assert [a.start[o] for o in first] == [50, 0]  # B starts first
    seq = order_sequence(c, a, [0, 1])
    assert seq == [0, 1]
    assert dec.decode(seq).start == a.start


def test_a_kept_prefix_stays_put_and_the_rest_is_placed_validly() -> None:
    p = load_problem(generate(60, 3))
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    seq = order_sequence(c, best_dispatch(c), dec.movable)
    full = dec.decode(seq)
    moved = seq[:]
    moved.insert(2, moved.pop(len(seq) - 1))  # the last order pulled to third place
    part = dec.decode(moved, full, 2)
    for oi in seq[:2]:
        for u in c.order_units[oi]:
            for o in c.unit_ops[u]:
                assert (part.res[o], part.start[o]) == (full.res[o], full.start[o])
    s = build_schedule(c, part, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="sequence")
    assert validate(p, s) == []


def test_a_decode_from_a_saved_state_gives_the_whole_pass_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a committed decode, a move's decode goes on from the saved state before its
    first changed place (not from the start), and its schedule is the very one a fresh
    decoder gives the moved sequence."""
    p = load_problem(generate(120, 5))
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    seq = order_sequence(c, best_dispatch(c), dec.movable)
    base = dec.decode(seq)
    dec.commit()
    assert sorted(dec.states) == list(range(0, len(seq), dec.every))
    resumed: list[int] = []
    real = dispatch

    def spy(*args: object, **kw: object) -> Assignment:
        state = kw.get("resume")
        resumed.append(-1 if state is None else sum(r >= 0 for r in state.a.res))  # type: ignore[attr-defined]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("solver.search.sequence.dispatch", spy)
    moves = [(len(seq) - 1, 7), (5, 1), (2, 9), (len(seq) - 2, len(seq) - 1)]
    for i, j in moves:
        moved = seq[:]
        moved.insert(j, moved.pop(i))
        got = dec.decode(moved, base, min(i, j))
        whole = _Decoder(Scorer(c)).decode(moved)
        assert (got.res, got.start, got.end) == (whole.res, whole.start, whole.end)
    # ops already placed in the state each move's decode went on from (0: from the start)
    at = [min(i, j) - min(i, j) % dec.every for i, j in moves]
    placed = [sum(len(c.unit_ops[u]) for oi in seq[:k] for u in c.order_units[oi]) for k in at]
    assert resumed[0::2] == placed and placed[-1] > 0


def test_a_saved_state_of_another_sequence_is_not_used() -> None:
    """States belong to the committed sequence: a decode whose orders before a state's
    place differ from it goes on from an earlier one, and still decodes exactly."""
    p = load_problem(generate(120, 5))
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    seq = order_sequence(c, best_dispatch(c), dec.movable)
    dec.decode(seq)
    dec.commit()
    other = seq[:]
    other[0], other[1] = other[1], other[0]  # differs before every state but the first
    got = dec.decode(other, None, len(seq) - 1)  # claims (wrongly) to change only the end
    whole = _Decoder(Scorer(c)).decode(other)
    assert (got.res, got.start, got.end) == (whole.res, whole.start, whole.end)


def test_a_move_whose_first_orders_are_later_than_before_is_dropped_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One line, 60-minute orders A (due 60), B (due 120, weight 2), C (due 180) and D
    (due 0, weight 10, late whatever happens). From A B C D (weighted tardiness 2,400)
    the move of C to the front makes A and B late: 60 + 2 x 60 = 180 more. Past the
    move (place 2 on) the first orders are the same set as before, now 180 later where
    the slack allows 5 % of the 2,580 cutoff: the decode gives up at B, before D."""
    line = [{"op": "x", "kind": "line", "duration_min": 60}]
    p = make(
        products=[{"id": "P", "routing": line}],
        orders=[order("A", 60), order("B", 120, weight=2), order("C", 180),
                order("D", 0, weight=10)],
    )
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    base = dec.decode([0, 1, 2, 3])
    assert evaluate(c, base)[0] == 2400
    moved = [2, 0, 1, 3]
    whole = dec.decode(moved, base, 0, (2580, 0))  # the plain cutoff lets it through
    assert evaluate(c, whole)[0] == 2580
    with pytest.raises(Cutoff):
        dec.decode(moved, base, 0, (2580, 0), same_from=2)
    d_op = c.unit_ops[c.order_units[3][0]][0]
    seen: list[int] = []
    real = _Lateness.add

    def spy(self: _Lateness, u: int, a: Assignment) -> None:
        seen.append(c.unit_order[u])
        real(self, u, a)

    monkeypatch.setattr(_Lateness, "add", spy)
    with pytest.raises(Cutoff):
        dec.decode(moved, base, 0, (2580, 0), same_from=2)
    assert seen == [2, 0, 1] and c.op_unit[d_op] not in seen  # gave up at B


def test_the_prefix_cut_only_ever_drops_a_decode() -> None:
    """On a generated instance, a decode with `same_from` either gives up or gives the
    very schedule of the plain decode."""
    p = load_problem(generate(120, 5))
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    seq = order_sequence(c, best_dispatch(c), dec.movable)
    base = dec.decode(seq)
    key = score(c, base)
    cut = kept = 0
    for i, j in [(5, 1), (9, 3), (2, 7), (len(seq) - 1, 0), (4, 5), (12, 6)]:
        moved = seq[:]
        moved.insert(j, moved.pop(i))
        plain = dec.decode(moved, base, min(i, j))
        try:
            got = dec.decode(moved, base, min(i, j), key, same_from=max(i, j))
        except Cutoff:
            cut += 1
            continue
        kept += 1
        assert (got.res, got.start, got.end) == (plain.res, plain.start, plain.end)
    assert cut >= 1 and kept >= 1  # both happen here (2 and 4 of the 6 moves)


def test_the_search_beats_every_priority_rule_on_a_generated_instance() -> None:
    """300 racks with tight due dates: the best rule (EDD) is at 55,140 weighted minutes;
    60 steps of sequence search cut that by a quarter at least; the schedule passes the
    validator."""
    p = load_problem(generate(300, 0))
    c = compile_problem(p)
    start = best_dispatch(c)
    wt0 = evaluate(c, start)[0]
    assert wt0 == 55_140
    got = Sequence(max_steps=60).run(Context(c, seed=1), start, 60.0)
    assert score(c, got) < score(c, start)
    assert evaluate(c, got)[0] <= 0.75 * wt0
    s = build_schedule(c, got, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="sequence")
    assert validate(p, s) == []


def _helper_round(
    racks: int, seed: int, seconds: float, patience: int
) -> tuple[Problem, Compiled, list[int], Assignment, _Helper, HelperResult]:
    """One helper round from the EDD dispatch's sequence on a generated instance: the
    problem, its compiled form, the sequence and its schedule, the (closed) helper and
    what it sent back."""
    p = load_problem(generate(racks, 0))
    c = compile_problem(p)
    dec = _Decoder(Scorer(c))
    seq = order_sequence(c, best_dispatch(c), dec.movable)
    a = dec.decode(seq)
    h = _Helper(Scorer(c), Tuning(), seed)
    try:
        h.start_round(seq, a, score(c, a), seconds, patience=patience)
        got = h.result()
    finally:
        h.close()
    return p, c, seq, a, h, got


def test_a_helper_process_searches_a_round_and_ends_when_closed() -> None:
    """A helper gets the problem, searches one round from a sequence and sends back a
    sequence that decodes to the schedule it reports, no worse; closing its stdin ends it."""
    p, c, seq, a, h, got = _helper_round(300, seed=5, seconds=2.0, patience=1000)
    assert got is not None
    seq2, a2, key2, spent = got
    assert key2 <= score(c, a) and not spent
    assert sorted(seq2) == sorted(seq)
    again = _Decoder(Scorer(c)).decode(seq2)
    assert (again.res, again.start, again.end) == (a2.res, a2.start, a2.end)
    assert score(c, again) == key2
    s = build_schedule(c, a2, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="sequence")
    assert validate(p, s) == []
    assert h.helper.proc.returncode == 0


def test_a_helper_imports_the_parents_package_not_the_working_directorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a folder holding another `solver` package (an older checkout, say), the
    helper still runs this one: the decoy would leave a mark and exit."""
    decoy = tmp_path / "solver"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("")
    (decoy / "search").mkdir()
    (decoy / "search" / "__init__.py").write_text("")
    mark = tmp_path / "decoy-ran"
    (decoy / "search" / "sequence.py").write_text(f"open({str(mark)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    _, c, _, a, _, got = _helper_round(150, seed=1, seconds=0.5, patience=100)
    assert not mark.exists()
    assert got is not None and got[2] <= score(c, a)


def _children() -> set[str]:
    pid = os.getpid()
    return set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


def test_two_workers_search_together_and_leave_no_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p = load_problem(generate(300, 0))
    c = compile_problem(p)
    start = best_dispatch(c)
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="solver.search.sequence"):
        got = Sequence().run(Context(c, seed=2, workers=2), start, 6.0)
    assert "1 helpers" in caplog.text
    assert _children() == before  # the helper has ended and been waited for
    assert score(c, got) < score(c, start)
    s = build_schedule(c, got, status=Status.FEASIBLE, lower_bound=0.0, solve_seconds=0.0,
                       source="sequence")
    assert validate(p, s) == []
