"""Solving scenarios: the base and its variants with the same time limit and seed (side
by side in processes of their own or on a Ray cluster when asked: `solver.execution`),
and site-loss resilience: per site, "this site is down for D days from horizon_start",
ranked by the weighted tardiness its loss costs.

Every schedule here comes from `solve`, which has passed it through the independent
validator; a variant whose schedule does not pass keeps the solver's answer (UNKNOWN
with the faults), so a comparison never shows an unchecked plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from solver.execution import Backend, Failed, LocalBackend
from solver.problem import Problem, load_problem
from solver.scenario import Change, Solved, apply_changes, compare, site_down_days
from solver.schedule import Status, empty_schedule
from solver.solve import SolveParams, solve
from solver.validate import validate


@dataclass(frozen=True)
class Variant:
    """A named list of changes."""

    name: str
    changes: Sequence[Change]


def _solve_one(doc: dict[str, Any], time_limit: float, seed: int, workers: int
               ) -> dict[str, Any]:
    problem = load_problem(doc)
    schedule = solve(problem, SolveParams(time_limit=time_limit, seed=seed, workers=workers))
    faults = validate(problem, schedule) if schedule.get("items") else []
    if faults:  # solve validates already: this is the caller's own check of its answer
        raise RuntimeError(f"a schedule failed the validator: {faults[0]}")
    return schedule


def solve_all(problems: Sequence[Problem], *, time_limit: float, seed: int = 0,
              workers: int = 1, processes: int = 1,
              backend: Backend | None = None) -> list[dict[str, Any]]:
    """Each problem's schedule with the same `time_limit`, `seed` and CP-SAT `workers`,
    side by side on `backend` (`solver.execution`; None: `processes` solves at once, each
    in a process of its own when more than one). A solve whose worker died is an UNKNOWN
    schedule whose reason says so; the others keep theirs."""
    backend = backend or LocalBackend(processes)
    docs = [p.model_dump(mode="json", exclude_none=True) for p in problems]
    got = backend.map(_solve_one, [(d, time_limit, seed, workers) for d in docs],
                      cpus=workers)
    return [empty_schedule(p, Status.UNKNOWN, [f"not solved: {s.reason}"], 0.0)
            if isinstance(s, Failed) else s
            for p, s in zip(problems, got, strict=True)]


def what_if(problem: Problem, variants: Sequence[Variant], *, time_limit: float,
            seed: int = 0, workers: int = 1, processes: int = 1,
            capacity: bool = True, backend: Backend | None = None) -> dict[str, Any]:
    """Apply each variant's changes (`ChangeError` naming the change and field before any
    solve), solve the base and every variant, and compare them (`solver.scenario.compare`)."""
    changed = [apply_changes(problem, v.changes) for v in variants]
    schedules = solve_all([problem, *changed], time_limit=time_limit, seed=seed,
                          workers=workers, processes=processes, backend=backend)
    base = Solved("base", [], problem, schedules[0])
    solved = [Solved(v.name, v.changes, p, s)
              for v, p, s in zip(variants, changed, schedules[1:], strict=True)]
    out = compare(base, solved, capacity=capacity)
    out["time_limit"] = time_limit
    out["seed"] = seed
    return out


def rank_sites(comparison: Mapping[str, Any], days: float) -> dict[str, Any]:
    """The resilience answer from a comparison whose variants are the site losses (named
    by site): the sites ranked by the weighted tardiness their loss adds, most first, each
    with the orders that slip (later than in the base), the longest slip first."""
    rows = []
    for v in comparison["variants"]:
        cost = v.get("weighted_tardiness_min_change")
        rows.append({
            "site": v["name"], "status": v["status"],
            "weighted_tardiness_min": v["weighted_tardiness_min"],
            "weighted_tardiness_added_min": cost,
            "on_time": v["on_time"], "orders": v["orders"],
            "slipped": [{"order": r["order"], "delivery_change_min": r["delivery_change_min"],
                         "base_tardiness_min": r["base_tardiness_min"],
                         "tardiness_min": r["tardiness_min"]}
                        for r in sorted(v["order_changes"],
                                        key=lambda r: -(r["delivery_change_min"] or 0))
                        if r["change"] == "later"],
        })
    rows.sort(key=lambda r: (r["weighted_tardiness_added_min"] is None,
                             -(r["weighted_tardiness_added_min"] or 0), r["site"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    return {"days": days, "base": comparison["base"], "sites": rows}


def site_losses(problem: Problem, days: float) -> list[Variant]:
    """Per site, the variant "down for `days` days from horizon_start" (named by site)."""
    return [Variant(s.id, site_down_days(problem, s.id, days)) for s in problem.sites]


def resilience(problem: Problem, days: float, *, time_limit: float, seed: int = 0,
               workers: int = 1, processes: int = 1,
               backend: Backend | None = None) -> dict[str, Any]:
    """Per site the loss of it for `days` days from horizon_start, solved beside the base,
    ranked (`rank_sites`); the comparison itself under ``comparison``."""
    comparison = what_if(problem, site_losses(problem, days), time_limit=time_limit,
                         seed=seed, workers=workers, processes=processes, capacity=False,
                         backend=backend)
    out = rank_sites(comparison, days)
    out["comparison"] = comparison
    return out


def render_ranking(answer: Mapping[str, Any]) -> str:
    """The resilience answer as a plain-text table, then the orders that slip per site."""
    base = answer["base"]
    lines = [f"each site down for {answer['days']:g} days from horizon_start; base weighted "
             f"tardiness {base['weighted_tardiness_min']}, on time "
             f"{base['on_time']}/{base['orders']}", ""]
    head = ("rank", "site", "status", "w. tardiness", "added", "on time", "slipped")
    table = [head]
    for r in answer["sites"]:
        table.append((str(r["rank"]), r["site"], str(r["status"]),
                      "-" if r["weighted_tardiness_min"] is None
                      else f"{r['weighted_tardiness_min']:,.0f}",
                      "-" if r["weighted_tardiness_added_min"] is None
                      else f"{r['weighted_tardiness_added_min']:+,.0f}",
                      "-" if r["on_time"] is None else f"{r['on_time']}/{r['orders']}",
                      str(len(r["slipped"]))))
    widths = [max(len(row[k]) for row in table) for k in range(len(head))]
    for row in table:
        lines.append("  ".join(c.ljust(w) if k in (1, 2) else c.rjust(w)
                               for k, (c, w) in enumerate(zip(row, widths, strict=True)))
                     .rstrip())
    for r in answer["sites"]:
        if r["slipped"]:
            worst = sorted(r["slipped"], key=lambda x: -int(x["delivery_change_min"]))[:8]
            names = ", ".join(f"{x['order']} (+{int(x['delivery_change_min']) / 60:.1f} h)"
                              for x in worst)
            more = f" and {len(r['slipped']) - 8} more" if len(r["slipped"]) > 8 else ""
            lines.append(f"{r['site']}: {names}{more}")
    return "\n".join(lines) + "\n"


__all__ = ["Variant", "rank_sites", "render_ranking", "resilience", "site_losses",
           "solve_all", "what_if"]
