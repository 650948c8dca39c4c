"""Every tunable of the solve in one frozen object: shares, sub-model times, sizes, factors.

`SolveParams` holds what a caller decides (time limit, workers, seed, objective, the
reference schedule); `Tuning` holds how the solver spends that time, the same for every
caller unless a benchmark or an experiment says otherwise. The defaults are the measured
ones: where each came from is in docs/tuning.md. A TOML file of ``key = value`` lines
overrides any of them (`load_tuning`, ``rackplan solve --tuning FILE``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# what a field's value may be: its kind, checked when a file sets it
_SHARE = "share"  # a number in [0, 1]
_SECONDS = "seconds"  # a number > 0
_FACTOR = "factor"  # a number > 0
_COUNT = "count"  # a whole number >= 1
_MINUTES = "minutes"  # a whole number >= 0
_WHOLE = "whole"  # a whole number >= 0
_PATIENCE = "patience"  # a list of minutes >= 0, inf or "shift"

_EXPECTED = {
    _SHARE: "a number from 0 to 1",
    _SECONDS: "a number of seconds > 0",
    _FACTOR: "a number > 0",
    _COUNT: "a whole number >= 1",
    _MINUTES: "a whole number of minutes >= 0",
    _WHOLE: "a whole number >= 0",
    _PATIENCE: 'a list of waits: whole minutes >= 0, inf, or "shift"',
}


def _share(v: float) -> float:
    return field(default=v, metadata={"kind": _SHARE})


def _seconds(v: float) -> float:
    return field(default=v, metadata={"kind": _SECONDS})


def _factor(v: float) -> float:
    return field(default=v, metadata={"kind": _FACTOR})


def _count(v: int) -> int:
    return field(default=v, metadata={"kind": _COUNT})


def _minutes(v: int) -> int:
    return field(default=v, metadata={"kind": _MINUTES})


def _whole(v: int) -> int:
    return field(default=v, metadata={"kind": _WHOLE})


@dataclass(frozen=True)
class Tuning:
    """How the solver spends its time (docs/tuning.md has each value's origin)."""

    # ---- the plan ----------------------------------------------------------------------
    # compile-and-dispatch attempts, the horizon doubling after each one the plan overruns
    horizon_tries: int = _count(5)
    # a phase starts only with more than this left (and the bounds phase leaves it)
    min_phase_seconds: float = _seconds(0.5)
    # the full CP-SAT model runs when the (op, mode) pairs are at most this (makespan) ...
    full_model_limit_makespan: int = _whole(3000)
    # ... and at most this on due dates (beyond it: the order-sequence search)
    full_model_limit_tardiness: int = _whole(600)
    # the full model's share of the time left (makespan)
    full_model_share_makespan: float = _share(0.25)
    # the full model's share of the time left (due dates)
    full_model_share_tardiness: float = _share(0.3)
    # the least time limit CP-SAT is given for the full model
    full_model_min_seconds: float = _seconds(0.1)
    # the per-order bounds' share of the whole time limit (due dates, no reference)
    bounds_share: float = _share(0.1)
    # the order-sequence search's share of the time left (due dates, beyond the full model)
    sequence_share: float = _share(0.85)
    # with a reference: the share of its time after which a sequence search that has not
    # beaten the repaired plan gives up, and the LNS gets larger sub-models
    reference_give_up: float = _share(0.2)
    # the tabu search's share of the time left (flexible job shops)
    tabu_share: float = _share(0.7)

    # ---- dispatch ----------------------------------------------------------------------
    # every priority rule (edd, slack, mwkr) up to this many ops, EDD alone above
    all_rules_max_ops: int = _count(6000)
    # the waits tried by a reschedule's repair: minutes a step that lost its place waits
    # for the reference's later steps (inf: until all are placed; None, "shift" in a
    # file: not at all, a right shift)
    repair_patience: tuple[float | None, ...] = field(
        default=(math.inf, None), metadata={"kind": _PATIENCE})

    # ---- per-order bounds ----------------------------------------------------------------
    # the bounds phase runs only with more time than this
    bounds_min_seconds: float = _seconds(0.1)
    # no further order's model starts with less time than this left
    bounds_min_left: float = _seconds(0.05)
    # one order's model gets at most this share of the bounds phase's time ...
    bounds_order_share: float = _share(0.25)
    # ... but at least this many seconds (within the time left) ...
    bounds_order_min_seconds: float = _seconds(0.2)
    # ... and at most this many, so that a stop request is heard soon
    bounds_order_max_seconds: float = _seconds(1.0)
    # orders of more racks than this get no model of their own (building one takes
    # seconds, past any time limit, at several hundred racks): their racks' bounds alone
    bounds_order_max_units: int = _count(200)

    # ---- order-sequence search -------------------------------------------------------------
    # steps in a row without a better schedule before a restart: at least this ...
    sequence_patience_min: int = _count(300)
    # ... or this many per order sequenced, whichever is more ...
    sequence_patience_per_order: int = _count(10)
    # ... but at most this many tries of each single move (n orders: n (n - 1) moves)
    sequence_patience_per_move: int = _count(4)
    # a decode gives up past the move once the orders up to a place are later than in the
    # current schedule by more than this share of the current tardiness of those after it
    sequence_prefix_slack: float = _share(0.05)
    # the decoder saves a pass's state at least this many places apart ...
    sequence_min_every: int = _count(3)
    # ... and at most about this many states in all
    sequence_states: int = _count(20)
    # how far (places) one step moves an order: at least this ...
    sequence_reach_min: int = _count(4)
    # ... at most this ...
    sequence_reach_max: int = _count(16)
    # ... and otherwise the orders sequenced divided by this
    sequence_reach_divisor: int = _count(4)
    # the share of steps that move a late order (by weighted tardiness) earlier
    sequence_late_share: float = _share(0.5)
    # the share of steps that move an early order (by slack) later; the rest move any
    sequence_early_share: float = _share(0.2)
    # orders a restart moves at random ...
    sequence_kick_moves: int = _count(4)
    # ... each up to this many times the reach
    sequence_kick_reach: int = _count(2)
    # the helper processes' rounds: at least this long ...
    sequence_round_seconds: float = _seconds(3.0)
    # ... and at least this many of the slowest decode
    sequence_round_decodes: int = _count(10)
    # helper processes start only when the search has more time than this
    sequence_helper_min_seconds: float = _seconds(4.0)

    # ---- large-neighbourhood search --------------------------------------------------------
    # CP-SAT's time per sub-model: problems within the full model's limit (relaxed LNS)
    lns_sub_time_small: float = _seconds(0.5)
    # ... beyond it
    lns_sub_time_large: float = _seconds(2.0)
    # ... with a reference schedule
    lns_sub_time_reference: float = _seconds(0.05)
    # ... with a reference, after the sequence search gave up
    lns_sub_time_given_up: float = _seconds(0.5)
    # the units freed by the first sub-model ...
    lns_start_units: int = _count(24)
    # ... after the sequence search gave up
    lns_start_units_given_up: int = _count(40)
    # the least units a sub-model frees
    lns_min_units: int = _count(4)
    # the most units a sub-model frees
    lns_max_units: int = _count(400)
    # the share of sub-models whose freed units keep their site
    lns_keep_site_share: float = _share(0.5)
    # the size grows by this factor (plus one) after a sub-model proven optimal quickly ...
    lns_grow: float = _factor(1.2)
    # ... quickly: within this share of its time limit
    lns_quick_share: float = _share(0.5)
    # the size shrinks by this factor after a sub-model that timed out
    lns_shrink: float = _factor(0.8)
    # sub-models proposed in a row with nothing to free before a worker stops
    lns_idle_proposals: int = _count(50)
    # a worker starts no sub-model with less time than this left
    lns_min_left: float = _seconds(0.2)
    # the least CP-SAT time limit of a sub-model
    lns_min_sub_time: float = _seconds(0.05)
    # free ops of a sub-model may move this many minutes beyond the units' span ...
    lns_window_minutes: int = _minutes(1440)
    # ... or this many times the longest step, whichever is more
    lns_window_steps: int = _count(2)
    # the share of neighbourhoods around a late order (when there is one)
    lns_late_order_share: float = _share(0.6)
    # the share of neighbourhoods of random units; the rest are a time window at a site
    lns_random_units_share: float = _share(0.1)
    # a late order's neighbourhood starts from its latest units: this share of its size
    # (as a divisor: a third)
    lns_late_seed_divisor: int = _count(3)
    # makespan: the share of time windows taken at the end of the schedule ...
    lns_end_window_share: float = _share(0.5)
    # ... within this many minutes of it
    lns_end_window_minutes: int = _minutes(1440)
    # with a reference: the share of neighbourhoods around a moved step ...
    lns_moved_share: float = _share(0.5)
    # ... of those, the share around a step whose rack is now late ...
    lns_late_move_share: float = _share(0.5)
    # ... of all, the share along the moved step's old resource (else around its place)
    lns_along_resource_share: float = _share(0.5)
    # the least units of a sub-model around a late rack's moved step ...
    lns_late_move_units: int = _count(20)
    # ... and its least CP-SAT time
    lns_late_move_sub_time: float = _seconds(2.0)
    # relaxed LNS: the first sub-model frees the movable ops divided by this ...
    lns_relaxed_start_divisor: int = _count(8)
    # ... and never fewer than this many
    lns_relaxed_min_ops: int = _count(4)
    # relaxed LNS: the size grows by this factor (plus one) after an optimal sub-model ...
    lns_relaxed_grow: float = _factor(1.1)
    # ... and shrinks by this one after any other
    lns_relaxed_shrink: float = _factor(0.9)
    # relaxed LNS on makespan: the share of sub-models around the critical path ...
    lns_critical_share: float = _share(0.4)
    # ... a stretch of it as long as the size divided by this
    lns_critical_divisor: int = _count(3)
    # relaxed LNS: the share of the others around a random time ...
    lns_time_ops_share: float = _share(0.45)
    # ... on a few random resources; the rest are random ops
    lns_resource_ops_share: float = _share(0.3)

    # ---- tabu search -------------------------------------------------------------------------
    # the moves of best estimate made and measured exactly in each iteration
    tabu_shortlist: int = _count(4)
    # iterations without a new best before going back to the best and perturbing it
    tabu_stall: int = _count(2500)
    # random moves of a perturbation
    tabu_kick: int = _count(4)
    # a moved op stays put for [base, 2 base] iterations, base the ops per resource but
    # at least this
    tabu_tenure_min: int = _count(6)
    # an op moved off a resource may go back after this many times the base tenure
    tabu_return_tenure: int = _count(2)
    # ---- weighted-tardiness search (job shops with due dates) ---------------------------------
    # its share of the time left, after the per-order bounds and before the full model (0:
    # no such search, the plan of any due-date problem of its size)
    twt_share: float = _share(0.3)
    # the full model's share of the time left after it (the rest: no relaxed LNS)
    twt_full_model_share: float = _share(1.0)
    # iterations without a new best before going back to the best and perturbing it
    twt_stall: int = _count(400)
    # random moves of a perturbation
    twt_kick: int = _count(20)
    # perturbations without a new best before a restart from one of the best schedules
    twt_restart: int = _count(8)

    # ---- the planning model's bound ----------------------------------------------------------
    # the planning model's LP bound runs on due dates above this many (op, mode) pairs
    # (within it, the full model's own bound serves)
    planning_min_pairs: int = _whole(600)
    # its share of the whole time limit (the model's build and HiGHS together) ...
    planning_share: float = _share(0.1)
    # ... but at most this many seconds
    planning_max_seconds: float = _seconds(30.0)
    # it runs only with more time than this (the model's build is not interrupted)
    planning_min_seconds: float = _seconds(2.0)
    # the share of the phase's time the energetic relaxation gets first (the LP the rest)
    planning_energetic_share: float = _share(0.3)

    # ---- decomposition by site -----------------------------------------------------------
    # a problem with at least this many racks (and two sites or more) is solved site by
    # site unless the caller says otherwise
    decompose_min_racks: int = _count(5000)
    # the allocation's share of the whole time limit (it stops earlier at a 1 % gap)
    decompose_allocate_share: float = _share(0.3)
    # the allocation's buckets are weeks, two weeks from this many racks
    decompose_long_bucket_racks: int = _count(6000)
    # the per-site solves' share of the time left after the allocation (wall clock)
    decompose_parts_share: float = _share(0.6)
    # repair rounds at most: racks move off parts later than the allocation promised ...
    decompose_repair_rounds: int = _whole(2)
    # ... by more than this many minutes ...
    decompose_repair_slack: int = _minutes(240)
    # ... at most this share of a site's racks per round, the round taking this share of
    # the time left
    decompose_repair_share: float = _share(0.25)
    # the parts run in child processes (with two workers or more) only when they get more
    # seconds than this (a child takes seconds to start: below it they run in turn here)
    decompose_process_min_seconds: float = _seconds(10.0)
    # the share of the whole time limit kept for the schedule document and the validator
    decompose_finish_share: float = _share(0.02)

    def with_values(self, values: Mapping[str, Any]) -> Tuning:
        """A copy with `values` (as read from a TOML file) in place of the defaults.

        Raises
        ------
        TuningError
            Listing every unknown key and every value of the wrong type or range.
        """
        known = {f.name: f for f in fields(self)}
        errors: list[str] = []
        changes: dict[str, Any] = {}
        for key, value in values.items():
            f = known.get(key)
            if f is None:
                errors.append(f"'{key}': not a tuning value")
                continue
            kind = f.metadata["kind"]
            got = _convert(kind, value)
            if got is None:
                errors.append(f"'{key}': expected {_EXPECTED[kind]}, got {value!r}")
            else:
                changes[key] = got[0]
        if errors:
            raise TuningError(errors)
        return replace(self, **changes)


class TuningError(ValueError):
    """A tuning file that cannot be used; `errors` holds one message per fault."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def load_tuning(path: Path | str) -> Tuning:
    """The default tuning with the values of the TOML file at `path`.

    Raises
    ------
    TuningError
        When the file cannot be read or parsed, has keys that are no tuning value, or
        values of the wrong type: every fault at once, each naming its key.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TuningError([f"cannot read the tuning file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise TuningError([f"the tuning file is not UTF-8 text (byte {exc.start})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TuningError([f"the tuning file is not valid TOML: {exc}"]) from None
    return Tuning().with_values(data)


def _convert(kind: str, value: Any) -> tuple[Any] | None:
    """`value` as a field of `kind` takes it, in a 1-tuple (None: wrong type or range)."""
    if isinstance(value, bool):
        return None
    if kind == _PATIENCE:
        if not isinstance(value, list) or not value:
            return None
        out: list[float | None] = []
        for v in value:
            minutes = isinstance(v, int) and not isinstance(v, bool) and v >= 0
            if v == "shift":
                out.append(None)
            elif minutes or (isinstance(v, float) and v == math.inf):
                out.append(v)
            else:
                return None
        return (tuple(out),)
    if kind in (_COUNT, _MINUTES, _WHOLE):
        if not isinstance(value, int):
            return None
        return (value,) if value >= (1 if kind == _COUNT else 0) else None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if kind == _SHARE:
        return (float(value),) if 0 <= value <= 1 else None
    return (float(value),) if value > 0 else None


__all__ = ["Tuning", "TuningError", "load_tuning"]
