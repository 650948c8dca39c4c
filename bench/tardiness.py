"""Weighted tardiness of the solver against the dispatch heuristic on generated instances.

For each size, `bench.instances.generate(n_racks, seed)` makes a multi-site instance
(objective tardiness); the dispatch heuristic (`best_dispatch`, the best of its priority
rules) gives the baseline, then `solve` runs with the time limit. Both schedules must pass
the validator. Target: solver / heuristic <= 0.5 on every instance (a heuristic at 0
needs the solver at 0).

With `--runs N` each instance is solved N times, with solver seeds `--seed` to
`--seed` + N - 1 (the instance stays the one of `--seed`): 30 s solves of the larger
instances differ by 10-15 % from run to run, so the solver's figure and the target are
then taken on the mean, with the range beside it.

Instances run one after another. The exit code is 1 when an instance has no schedule or
an invalid one, 2 on bad arguments, else 0 (a missed target is reported, not a failure).

    python bench/tardiness.py --time-limit 30
    python bench/tardiness.py --sizes 150,300 --time-limit 10 --markdown
    python bench/tardiness.py --sizes 600 --runs 4
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    MISSING,
    Column,
    add_common_args,
    first_schedule,
    fmt_float,
    fmt_int,
    int_list,
    print_table,
    progress,
    report_failures,
    verdict,
)
from bench.instances import generate  # noqa: E402
from solver.problem import load_problem  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

DEFAULT_SIZES = (150, 300, 600, 1000)
TARGET_RATIO = 0.5

COLUMNS = (
    Column("instance", right=False),
    Column("racks"),
    Column("orders"),
    Column("ops"),
    Column("heur WT"),
    Column("heur s"),
    Column("solver WT"),
    Column("runs"),
    Column("WT range"),
    Column("LB"),
    Column("solver s"),
    Column("ratio"),
    Column("on time before"),
    Column("on time after"),
    Column("source", right=False),
    Column("valid", right=False),
    Column("target", right=False),
)


@dataclass
class Outcome:
    """What one instance gave."""

    name: str
    racks: int
    orders: int
    ops: int = 0
    heur_wt: float | None = None
    heur_s: float | None = None
    heur_on_time: int | None = None
    solver_wt: float | None = None  # the mean over the runs
    runs: list[float] = field(default_factory=list)  # each run's weighted tardiness
    bound: float | None = None
    solver_s: float | None = None  # the mean over the runs
    on_time: list[int] = field(default_factory=list)  # each run's on-time orders
    source: str = MISSING  # each run's, in the order they ran
    valid: str = "no"
    failure: str | None = None

    @property
    def ratio(self) -> float | None:
        """Solver over heuristic weighted tardiness (None when the heuristic is at 0)."""
        if self.heur_wt is None or self.solver_wt is None or self.heur_wt <= 0:
            return None
        return self.solver_wt / self.heur_wt

    @property
    def met(self) -> bool | None:
        """Solver <= 0.5 x heuristic (None when either figure is missing)."""
        if self.heur_wt is None or self.solver_wt is None or self.failure is not None:
            return None
        return self.solver_wt <= TARGET_RATIO * self.heur_wt + 1e-9


def run_instance(
    n_racks: int, seed: int, n_sites: int, steps: int, params: SolveParams, runs: int = 1
) -> Outcome:
    """Generate, run the heuristic, solve (`runs` times, from solver seed `params.seed`
    on), validate every schedule."""
    data = generate(n_racks, seed, n_sites=n_sites, steps=steps)
    problem = load_problem(data)
    out = Outcome(str(data["name"]), n_racks, len(problem.orders))

    heur = first_schedule(problem, seed=seed)
    out.heur_s = heur.compile_s + heur.dispatch_s
    problems: list[str] = []
    if heur.error is not None or heur.schedule is None or heur.compiled is None:
        problems.append(f"heuristic: {heur.error}")
    else:
        out.ops = heur.compiled.n_ops
        out.heur_wt = heur.schedule["kpis"]["total_weighted_tardiness_min"]
        out.heur_on_time = heur.schedule["kpis"]["on_time"]
        if heur.faults:
            problems.append(
                f"heuristic schedule invalid ({len(heur.faults)} faults): "
                + "; ".join(heur.faults[:5])
            )

    sources: list[str] = []
    seconds: list[float] = []
    for k in range(runs):
        schedule: dict[str, Any] = solve(problem, replace(params, seed=params.seed + k))
        seconds.append(float(schedule["solve_seconds"]))
        if not schedule.get("items"):
            problems.append(
                f"solver (seed {params.seed + k}): {schedule['status']}: "
                + "; ".join(schedule.get("reasons", [])[:5])
            )
            continue
        out.runs.append(float(schedule["objective_value"]))
        # every run's bound is proven: the largest holds
        out.bound = max(out.bound or 0.0, float(schedule["lower_bound"]))
        out.on_time.append(int(schedule["kpis"]["on_time"]))
        sources.append(str(schedule.get("source", MISSING)))
        faults = validate(problem, schedule)
        if faults:
            problems.append(
                f"solver schedule (seed {params.seed + k}) invalid ({len(faults)} faults): "
                + "; ".join(faults[:5])
            )
    out.solver_s = sum(seconds) / len(seconds)
    if out.runs and len(out.runs) == runs:
        out.solver_wt = sum(out.runs) / runs
    out.source = "/".join(sources) or MISSING
    if not problems:
        out.valid = "yes"
    if problems:
        out.failure = "; ".join(problems)
    return out


def row(o: Outcome) -> list[str]:
    return [
        o.name, fmt_int(o.racks), fmt_int(o.orders), fmt_int(o.ops),
        fmt_int(o.heur_wt), fmt_float(o.heur_s, 2), fmt_int(o.solver_wt), fmt_int(len(o.runs)),
        _range(o.runs, fmt_int), fmt_int(o.bound),
        fmt_float(o.solver_s), fmt_float(o.ratio, 3),
        _share(o.heur_on_time, o.orders),
        _range(o.on_time, lambda x: _share(int(x), o.orders)),
        o.source, o.valid, verdict(o.met),
    ]


def _share(count: int | None, total: int) -> str:
    return MISSING if count is None else f"{count}/{total}"


def _range(values: Sequence[float], fmt: Callable[[float], str]) -> str:
    """One run's figure, or the least and the greatest of several ("a-b")."""
    if not values:
        return MISSING
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tardiness benchmark and print the table; the exit code (see the module doc)."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(ap, time_limit=30.0, workers=2)
    ap.add_argument(
        "--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N[,N]",
        help="rack counts of the generated instances (default "
        + ",".join(map(str, DEFAULT_SIZES)) + ")",
    )
    ap.add_argument("--sites", type=int, default=4, help="sites per instance (default 4)")
    ap.add_argument(
        "--steps", type=int, choices=(3, 4), default=3, help="routing steps (default 3)"
    )
    ap.add_argument(
        "--runs", type=int, default=1, metavar="N",
        help="solves per instance, solver seeds --seed to --seed + N - 1; the target is "
        "judged on their mean (default 1)",
    )
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not 1 <= args.sites <= 8:
        ap.error("--sites must be between 1 and 8")

    params = SolveParams(time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    outcomes = []
    for i, n in enumerate(args.sizes, start=1):
        progress(f"[{i}/{len(args.sizes)}] {n} racks ...")
        o = run_instance(n, args.seed, args.sites, args.steps, params, args.runs)
        outcomes.append(o)
        progress(
            f"[{i}/{len(args.sizes)}] {o.name}: heuristic {fmt_int(o.heur_wt)}, "
            f"solver {fmt_int(o.solver_wt)} (LB {fmt_int(o.bound)}), ratio "
            f"{fmt_float(o.ratio, 3)}" + (f" FAILED: {o.failure}" if o.failure else "")
        )

    print(
        f"Weighted tardiness (minutes x weight): solver vs dispatch heuristic, time limit "
        f"{args.time_limit:g} s, {args.workers} workers, seed {args.seed}"
        + (f" (solver seeds {args.seed}-{args.seed + args.runs - 1}, mean of {args.runs} "
           "runs)" if args.runs > 1 else "") + ", "
        f"{args.sites} sites, {args.steps} steps\n"
    )
    print_table("Instances", COLUMNS, [row(o) for o in outcomes], markdown=args.markdown)
    judged = [o.met for o in outcomes]
    overall = None if any(m is None for m in judged) else all(m for m in judged)
    print(
        f"Target: solver / heuristic <= {TARGET_RATIO} on every instance: {verdict(overall)} "
        f"({sum(1 for m in judged if m)}/{len(judged)} instances)\n"
    )
    return report_failures([f"{o.name}: {o.failure}" for o in outcomes if o.failure])


if __name__ == "__main__":
    sys.exit(main())
