"""Capable-to-promise: the earliest delivery of a new order inserted into a published plan.

`quote(problem, published, order, due, params)` answers "if this customer orders N racks
now, when can we deliver them?" without planning from scratch:

1. **Baseline.** Every step of the published plan that still stands is held where it is
   (`solver.reschedule.freeze` over the whole horizon, so the same checks against the
   floor's facts). When the floor has moved off the plan (a released step, an order the
   plan does not have), those parts alone are replanned around the held steps with the
   published plan as reference (`solve`), and that is the baseline.
2. **Held insertion.** The baseline's steps become fixed steps and the new order, due at
   its earliest start (so its tardiness is its delivery), is dispatched into the room they
   leave; a CP-SAT sub-model over the new order's racks alone (`solver.cpsat.model`,
   everything else constant) then brings its delivery forward. No other step moves, so
   no other order is delivered later than in the baseline.
3. **The binding constraint.** The explanation of the new order's lateness against its
   earliest start (`solver.explain`) names what held its latest rack: a resource group at a
   site and the orders on it, a site's power cap, the calendar, or the routing itself.
4. **The plan.** The inserted schedule is written for the problem a reschedule would
   solve (the published steps in the frozen window fixed, `freeze`), with the new order
   due at the date asked for (or at the quoted delivery), and validated against it.
5. **If others may be later.** The reschedule's solve (`solve` on the problem with the
   frozen window fixed, the published plan as reference and its move costs) with the new
   order ahead of every other (its weight more than all others' together, due at its
   earliest start); when it delivers earlier, its schedule is validated for the new
   order's own due date and weight too, and the orders it makes later than the baseline
   are listed with their minutes.

Every schedule returned has passed the validator against the problem returned with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from solver.calendar import minutes_between
from solver.compiled import Compiled, compile_problem, default_horizon
from solver.cpsat.model import ModelBuilder, set_objective
from solver.cpsat.runner import run_model
from solver.diff import diff
from solver.dispatch import DispatchFailed, HorizonTooShort, best_dispatch
from solver.explain import ExplainError, OrderExplanation, explain, say_minutes
from solver.problem import MAX_WEIGHT, FixedStep, Objective, Order, Problem, load_problem
from solver.reschedule import DEFAULT_FROZEN_HOURS, Frozen, freeze
from solver.schedule import Status, build_schedule
from solver.solution import Assignment, unit_delivery
from solver.solve import SolveParams, solve
from solver.tuning import Tuning
from solver.validate import validate

__all__ = ["HOLD_ALL_HOURS", "QuoteError", "QuoteParams", "Quoted", "quote"]

HOLD_ALL_HOURS = 24.0 * 366 * 5
"""The baseline's freeze window: every published step (a plan reaches no further)."""
WALL_FACTOR = 2.0
QUICK_START = replace(Tuning(), all_rules_max_ops=0, repair_patience=(math.inf,))
"""The reschedule's start when others may slip: one priority rule (due dates first, the new
order due now) and one repair pass, so that the search gets most of its seconds."""
BINDING_MOST = 5
"""Causes listed in a quote's `binding`, most minutes first."""
"""A sub-model's wall-clock cap, as a multiple of its deterministic time limit."""


class QuoteError(ValueError):
    """No quote can be given; `errors` says why (every fault)."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass
class QuoteParams:
    """How long each search may take, and the reschedule's frozen window."""

    seconds: float = 0.3  # CP-SAT's deterministic limit for the held insertion
    alternative_seconds: float = 2.0  # the reschedule's time limit when others may slip
    baseline_seconds: float = 2.0  # replanning what the floor moved off the plan
    frozen_hours: float = DEFAULT_FROZEN_HOURS
    workers: int = 1
    seed: int = 0
    alternative: bool = True


@dataclass
class Quoted:
    """A quote: the held answer, its plan, and the answer that may delay others."""

    order: str
    delivery: str
    sites: list[str]
    binding: list[dict[str, Any]]
    earliest_alone: str  # the structural bound: the order alone in the factory
    proven: bool  # no earlier delivery exists with every other step held (CP-SAT's proof,
    # or the delivery is the order's earliest alone in the factory)
    baseline: str  # "published" or "replanned" (the floor moved off the plan)
    replanned_steps: int
    problem: Problem  # the plan's problem (frozen window fixed), the order due as quoted
    schedule: dict[str, Any]  # validated against `problem`
    alternative: dict[str, Any] | None  # delivery, sites, earlier_by_min, later, ...
    alternative_problem: Problem | None = None
    alternative_schedule: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---- helpers ----------------------------------------------------------------------------


def _iso(t0: datetime, minute: int) -> str:
    return (t0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_order(problem: Problem, order: Order) -> Problem:
    """`problem` plus `order`, checked as a whole (cross-references included)."""
    data = problem.model_dump(mode="json", exclude_none=True)
    data["orders"] = [*data["orders"], order.model_dump(mode="json", exclude_none=True)]
    return load_problem(data)


def _plus(problem: Problem, order: Order) -> Problem:
    """`problem` plus an order already checked against it (`_with_order`)."""
    return problem.model_copy(update={"orders": [*problem.orders, order]})


def _with_fixed(problem: Problem, schedule: Mapping[str, Any]) -> Problem:
    """`problem` with every step of `schedule` that is not already a fact fixed there."""
    facts = {(f.order, f.unit, f.op) for f in problem.fixed}
    add = [
        FixedStep(order=str(it["order"]), unit=int(it["unit"]), op=str(it["op"]),
                  resource=str(it["group"]), start=datetime.fromisoformat(str(it["start"])),
                  end=datetime.fromisoformat(str(it["end"])))
        for it in schedule.get("items") or []
        if (it["order"], it["unit"], it["op"]) not in facts
    ]
    return problem.model_copy(update={"fixed": [*problem.fixed, *add]})


def _loose(problem: Problem) -> int:
    """Steps of `problem` that no fixed step holds."""
    products = {p.id: p for p in problem.products}
    total = sum(o.quantity * len(products[o.product].routing) for o in problem.orders)
    return total - len(problem.fixed)


def _compile(problem: Problem, schedule: Mapping[str, Any] | None = None) -> Compiled:
    """`problem` compiled over a horizon that holds its fixed steps and `schedule`."""
    t0 = problem.horizon_start
    last = max([minutes_between(t0, f.end) for f in problem.fixed]
               + [int(it["end_min"]) for it in (schedule or {}).get("items", [])] + [0])
    return compile_problem(problem, max(default_horizon(problem), last + 8 * 1440))


def _assignment(c: Compiled, schedule: Mapping[str, Any]) -> Assignment:
    """The schedule's items as an assignment over `c`, read by absolute time (QuoteError
    when a step of `c` is missing or does not map)."""
    t0 = c.problem.horizon_start
    order_ix = {x: i for i, x in enumerate(c.order_ids)}
    res_ix = {x: i for i, x in enumerate(c.res_ids)}
    a = Assignment([-1] * c.n_ops, [0] * c.n_ops, [0] * c.n_ops)
    for it in schedule.get("items", []):
        oi, r = order_ix.get(it["order"]), res_ix.get(it["group"])
        if oi is None or r is None or not 1 <= int(it["unit"]) <= len(c.order_units[oi]):
            raise QuoteError([f"step {it['id']} of the plan does not map onto the problem"])
        u = c.order_units[oi][int(it["unit"]) - 1]
        o = next(x for x in c.unit_ops[u] if c.op_name[x] == it["op"])
        a.res[o] = r
        a.start[o] = minutes_between(t0, datetime.fromisoformat(str(it["start"])))
        a.end[o] = minutes_between(t0, datetime.fromisoformat(str(it["end"])))
    if min(a.res, default=0) < 0:
        raise QuoteError(["the plan does not place every step of the problem"])
    return a


def _document(problem: Problem, schedule: Mapping[str, Any], source: str,
              seconds: float) -> dict[str, Any]:
    """The SPEC section 3 schedule of `schedule`'s steps for `problem`, validated (every
    figure computed for `problem`'s due dates and weights)."""
    c = _compile(problem, schedule)
    doc = build_schedule(c, _assignment(c, schedule), status=Status.FEASIBLE, lower_bound=0,
                         solve_seconds=seconds, source=source)
    faults = validate(problem, doc)
    if faults:  # never return what the validator does not accept
        raise QuoteError([f"the {source} schedule fails the validator: {f}"
                          for f in faults[:5]])
    return doc


def _deliveries(schedule: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(o["id"]): o for o in schedule.get("orders", [])}


def _later(before: Mapping[str, Any], after: Mapping[str, Any],
           skip: str) -> list[dict[str, Any]]:
    """Orders of `before` delivered later in `after` (latest first), `skip` left out."""
    old, new = _deliveries(before), _deliveries(after)
    out = []
    for oid, was in old.items():
        now = new.get(oid)
        if oid == skip or now is None:
            continue
        mins = minutes_between(datetime.fromisoformat(str(was["delivery"])),
                               datetime.fromisoformat(str(now["delivery"])))
        if mins > 0:
            out.append({"order": oid, "delivery_before": was["delivery"],
                        "delivery": now["delivery"], "later_by_min": mins,
                        "later_by": say_minutes(mins),
                        "tardiness_before_min": was["tardiness_min"],
                        "tardiness_min": now["tardiness_min"]})
    out.sort(key=lambda r: (-r["later_by_min"], r["order"]))
    return out


def _binding(problem: Problem, schedule: Mapping[str, Any],
             oid: str) -> tuple[list[dict[str, Any]], str]:
    """What holds the order's delivery (the causes of its latest rack's waits, most
    minutes first, or the routing itself) and its delivery alone in the factory."""
    try:
        found = explain(problem, schedule, oid)["orders"]
    except ExplainError as exc:
        raise QuoteError(exc.errors) from None
    if not found:  # delivered at its earliest start: nothing could hold it
        row = _deliveries(schedule)[oid]
        return [{"cause": "routing", "subject": "the routing", "minutes": 0, "ids": {},
                 "text": "nothing holds it: the routing alone sets the date"}], row["delivery"]
    ex: OrderExplanation = found[0]
    causes: list[dict[str, Any]] = [
        dict(c) for c in ex["causes"] if c["minutes"] > 0 and c["cause"] != "idle"]
    causes.sort(key=lambda c: (-int(c["minutes"]), str(c["subject"])))
    for c in causes:
        until = [w["to"] for st in ex["chain"] for w in st["waits"]
                 if w["cause"] == c["cause"] and _same_subject(w["ids"], c["ids"])]
        if until:
            c["until"] = max(until)
    if not causes or ex["delivery"] == ex["earliest_delivery"]:
        causes.insert(0, {
            "cause": "routing", "subject": f"the routing of {ex['order']}", "minutes": 0,
            "ids": {"site": ex["site"]},
            "text": (f"alone in the factory it could not be delivered earlier than "
                     f"{ex['earliest_delivery']}: release, shifts, run times and transit "
                     "set the date"),
        })
    elif all(c["cause"] == "transit" for c in causes):
        causes.insert(0, {"cause": "plan", "subject": "the plan", "minutes": 0, "ids": {},
                          "text": ex["summary"]})
    return causes[:BINDING_MOST], ex["earliest_delivery"]


def _same_subject(wait: Mapping[str, Any], cause: Mapping[str, Any]) -> bool:
    """A wait of the chain counts towards a cause: the same resources or site."""
    for key in ("resources", "resource", "site"):
        if key in wait and key in cause:
            w, c = wait[key], cause[key]
            return bool(set(w) & set(c)) if isinstance(w, list) and isinstance(c, list) \
                else w == c
    return False


def _insert(c: Compiled, a: Assignment, free: dict[int, int], seconds: float,
            params: QuoteParams) -> tuple[Assignment | None, bool]:
    """CP-SAT over the `free` racks alone, every other step where `a` has it: the
    schedule found (None: none) and whether CP-SAT proved it optimal."""
    cb = replace(c, objective=Objective.TARDINESS, reference=None)
    built = ModelBuilder(cb, a, free, None).build(symmetry=False)
    set_objective(built, Objective.TARDINESS)
    res = run_model(cb, built, time_limit=WALL_FACTOR * seconds, workers=params.workers,
                    seed=params.seed, hint=a, deterministic_time=seconds)
    return (res.assignment if res.found else None), res.optimal


def _delivery(c: Compiled, a: Assignment, oi: int) -> int:
    return max(unit_delivery(c, a, u) for u in c.order_units[oi])


# ---- the quote --------------------------------------------------------------------------


def quote(
    problem: Problem,
    published: Mapping[str, Any],
    order: Order,
    due: datetime | None = None,
    params: QuoteParams | None = None,
) -> Quoted:
    """Quote `order` against the `published` plan (module docstring).

    Parameters
    ----------
    problem
        The open orders and the floor's facts now (`horizon_start`), without `order`.
    published
        The published schedule (SPEC section 3).
    order
        The order to quote (its `due` is ignored: it is searched for).
    due
        The date the customer asks for (None: the plan has the order due as quoted).
    params
        Search times, frozen window, workers and seed.

    Raises
    ------
    ProblemError
        The order does not fit the problem (unknown product, site or destination).
    QuoteError
        No quote could be computed (e.g. the baseline has no plan).
    """
    params = params or QuoteParams()
    clock = time.perf_counter()
    t0 = problem.horizon_start
    start = max(t0, order.release) if order.release is not None else t0
    search_order = order.model_copy(update={"due": start})
    _with_order(problem, search_order)  # the order's own faults, before any work
    notes: list[str] = []
    # the reschedule's frozen window, once: the new order has no published step to freeze
    frozen = freeze(problem, published, params.frozen_hours)

    # 1. the baseline: the published plan held wherever it still stands
    held = freeze(problem, published, HOLD_ALL_HOURS)
    baseline: Mapping[str, Any] = published
    base_problem, loose, how = held.problem, _loose(held.problem), "published"
    if loose:
        base = solve(held.problem, SolveParams(
            time_limit=params.baseline_seconds, workers=params.workers, seed=params.seed,
            objective=problem.objective, reference=published))
        if not base.get("items") or base.get("status") not in ("OPTIMAL", "FEASIBLE"):
            raise QuoteError(["the open orders have no plan to insert into: "
                              + "; ".join(map(str, base.get("reasons") or []))])
        baseline, base_problem, how = base, _with_fixed(held.problem, base), "replanned"
        notes.append(f"{loose} steps are not where the published plan has them (floor "
                     "facts, orders since it was published): replanned around the rest first")

    # 2. the held insertion: every other step fixed, the order dispatched, then CP-SAT
    search = _plus(base_problem, search_order)
    c = _compile(search)
    tries = 0
    while True:
        try:
            # the new order's racks are all there is to place: one rule does
            a0 = best_dispatch(c, ("edd",), seed=params.seed)
            break
        except HorizonTooShort:
            tries += 1
            if tries > 3:
                raise QuoteError(["the order fits nowhere in the factory's calendars"]) \
                    from None
            c = compile_problem(search, c.horizon * 2)
        except DispatchFailed as exc:  # e.g. stuck before a fixed step
            raise QuoteError(exc.reasons) from None
    qi = c.order_ids.index(order.id)
    free = {u: 0 for u in c.order_units[qi]}
    a = a0
    found, optimal = _insert(c, a0, free, params.seconds, params)
    if found is not None and _delivery(c, found, qi) <= _delivery(c, a0, qi):
        a = found
    else:
        optimal = False
    held_doc = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0,
                              solve_seconds=time.perf_counter() - clock, source="quote")
    delivery = _deliveries(held_doc)[order.id]["delivery"]

    # 4. the plan: a reschedule's problem (frozen window) with the order due as asked,
    # validated (before the explanation, which reads a valid schedule)
    final_order = order.model_copy(
        update={"due": due if due is not None else datetime.fromisoformat(delivery)})
    plan_problem = _plus(frozen.problem, final_order)
    plan = _document(plan_problem, held_doc, "quote", time.perf_counter() - clock)
    later = _later(baseline, plan, order.id)
    if later:  # cannot happen with every other step held; never claim it if it does
        raise QuoteError([f"order {r['order']} would be {r['later_by']} later" for r in later])
    _section(plan, published, frozen.kept, frozen.released, params.frozen_hours)

    # 3. what binds: the explanation against the order's earliest start
    binding, alone = _binding(search, held_doc, order.id)
    proven = optimal or delivery == alone

    out = Quoted(
        order=order.id, delivery=delivery, sites=_deliveries(plan)[order.id]["sites"],
        binding=binding, earliest_alone=alone, proven=proven, baseline=how,
        replanned_steps=loose, problem=plan_problem,
        schedule=plan, alternative=None, notes=notes,
    )

    # 5. the earliest date if other orders may be later
    if params.alternative:
        _alternative(out, frozen, published, baseline, order, search_order, due,
                     datetime.fromisoformat(delivery), params)
    out.seconds = round(time.perf_counter() - clock, 3)
    return out


def _section(plan: dict[str, Any], published: Mapping[str, Any], kept: list[str],
             released: list[dict[str, str]], hours: float) -> None:
    plan["reschedule"] = {
        "reference": published.get("problem"), "frozen_hours": hours,
        "frozen_steps": len(kept), "kept": kept, "released": released,
        "diff": diff(published, plan),
    }


def _alternative(
    out: Quoted, frozen: Frozen, published: Mapping[str, Any], baseline: Mapping[str, Any],
    order: Order, search_order: Order, due: datetime | None, held_at: datetime,
    params: QuoteParams,
) -> None:
    """Step 5 of the module docstring: `out.alternative` (and its plan), or a note. The
    reschedule's solve on its frozen problem (`frozen`, computed once) with the published
    plan as reference, as `solver.reschedule.reschedule` runs it."""
    clock = time.perf_counter()
    problem = frozen.problem
    others = sum(o.weight for o in problem.orders)
    first = search_order.model_copy(update={"weight": min(MAX_WEIGHT, 1.0 + others)})
    got = solve(_plus(problem, first), SolveParams(
        time_limit=params.alternative_seconds, workers=params.workers, seed=params.seed,
        reference=published, tuning=QUICK_START,
        objective=Objective.TARDINESS))  # the order's date first, whatever the plan's goal
    row = _deliveries(got).get(order.id)
    if not got.get("items") or row is None:
        out.notes.append("the reschedule that may delay others found no plan in "
                         f"{params.alternative_seconds:g} s")
        return
    at = datetime.fromisoformat(str(row["delivery"]))
    gain = minutes_between(at, held_at)
    if gain <= 0:
        out.notes.append("letting other orders slip gives no earlier date (a reschedule "
                         f"of {params.alternative_seconds:g} s with the order first)")
        return
    final_order = order.model_copy(update={"due": due if due is not None else at})
    final = _plus(problem, final_order)
    try:
        plan = _document(final, got, "quote", time.perf_counter() - clock)
    except QuoteError as exc:
        out.notes.append(f"the plan that delays others was dropped: {exc}")
        return
    _section(plan, published, frozen.kept, frozen.released, params.frozen_hours)
    row = _deliveries(plan)[order.id]
    out.alternative = {
        "delivery": row["delivery"], "sites": row["sites"],
        "earlier_by_min": gain, "earlier_by": say_minutes(gain),
        "later": _later(baseline, plan, order.id),
        "weighted_tardiness_added_min": _added(baseline, plan, order.id, problem),
        "checked": (f"a reschedule of {time.perf_counter() - clock:.1f} s with the order "
                    "ahead of every other; validated"),
    }
    out.alternative_problem, out.alternative_schedule = final, plan


def _added(before: Mapping[str, Any], after: Mapping[str, Any], skip: str,
           problem: Problem) -> float:
    """The other orders' weighted tardiness added (minutes; negative when they gain)."""
    w = {o.id: o.weight for o in problem.orders}
    old, new = _deliveries(before), _deliveries(after)
    total = sum(w.get(k, 1.0) * (int(new[k]["tardiness_min"]) - int(v["tardiness_min"]))
                for k, v in old.items() if k != skip and k in new)
    return int(total) if float(total).is_integer() else round(total, 6)
