"""Lower bounds on weighted tardiness: the planning model's LP against the cheap bound.

Per generated instance (the sizes of `bench/tardiness.py`: 150-1,000 racks, seeds 0 and
1, 3 steps, 4 sites; and of `bench/scale.py`: 1,000 / 3,000 / 10,000 racks, 4 steps, 4
sites up to 3,000 and 5 above), with the seed of each set:

- the best schedule found: the dispatch heuristic's weighted tardiness and, with
  ``--time-limit S``, a `solve` of S seconds (then the better of the two);
- yesterday's bound: `solver.search.bounds.lower_bound` with the per-order bounds of
  `order_bounds` as `solve` computes them (CP-SAT on each order late in the dispatch
  schedule, heaviest first, for ``--order-time`` seconds: a tenth of a 30 s solve), or,
  with a solve, the larger of that and the solve's own ``lower_bound``;
- the new bound: the better of `solver.planning.planning_bound` and
  `solver.planning.energetic_bound` with the same per-order bounds (each shown, with the
  energetic relaxation's rows and seconds), and the LP's cost: the model's buckets, rows,
  columns and non-zeros, the build and the HiGHS time (wall clock; the machine is shared,
  so these are noisy);
- the gap each leaves to the best schedule, and the share of the distance between
  yesterday's bound and the best schedule that the new bound closes.

Target: on the median instance the new bound closes at least half of that distance.
Instances run one after another in this process. The exit code is 1 when an instance
fails (no schedule, an invalid one, or a bound above a schedule), 2 on bad arguments,
else 0 (a missed target is reported, not a failure).

    python bench/bounds.py
    python bench/bounds.py --sets tardiness --bucket 240 --markdown
    python bench/bounds.py --time-limit 30
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    name_list,
    print_table,
    progress,
    report_failures,
    verdict,
)
from bench.instances import generate  # noqa: E402
from solver.planning import energetic_bound, planning_bound  # noqa: E402
from solver.problem import load_problem  # noqa: E402
from solver.search.bounds import lower_bound, order_bounds  # noqa: E402
from solver.search.context import Context  # noqa: E402
from solver.solution import order_tardiness  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

# (set, racks, seed, steps, sites)
TARDINESS = [("tardiness", n, s, 3, 4) for s in (0, 1) for n in (150, 300, 600, 1000)]
SCALE = [("scale", n, 0, 4, 4 if n <= 3000 else 5) for n in (1000, 3000, 10000)]
SETS = {"tardiness": TARDINESS, "scale": SCALE}
TARGET_CLOSED = 0.5

COLUMNS = (
    Column("instance", right=False),
    Column("racks"),
    Column("best WT"),
    Column("from", right=False),
    Column("old LB"),
    Column("LP LB"),
    Column("energy LB"),
    Column("new LB"),
    Column("old gap"),
    Column("new gap"),
    Column("closed"),
    Column("bucket", right=False),
    Column("buckets"),
    Column("rows"),
    Column("cols"),
    Column("nnz"),
    Column("build s"),
    Column("LP s"),
    Column("status", right=False),
    Column("energy rows"),
    Column("energy s"),
)


@dataclass
class Outcome:
    """One instance's figures."""

    name: str
    racks: int
    best: float | None = None
    source: str = MISSING
    old: float | None = None
    new: float | None = None
    lp: float | None = None
    energy: float | None = None
    energy_rows: int | None = None
    energy_s: float | None = None
    bucket: str = MISSING
    buckets: int | None = None
    rows: int | None = None
    cols: int | None = None
    nnz: int | None = None
    build_s: float | None = None
    lp_s: float | None = None
    status: str = MISSING
    failure: str | None = None

    def gap(self, bound: float | None) -> float | None:
        """The share of the best schedule's figure a bound leaves open."""
        if bound is None or self.best is None:
            return None
        return 0.0 if self.best <= 0 else (self.best - bound) / self.best

    @property
    def closed(self) -> float | None:
        """The share of the distance from the old bound to the best that the new closes
        (None when there is no distance)."""
        if self.best is None or self.old is None or self.best - self.old <= 1e-9:
            return None
        new = self.old if self.new is None else max(self.new, self.old)
        return (new - self.old) / (self.best - self.old)


def _pct(x: float | None) -> str:
    return MISSING if x is None else f"{100 * x:.1f} %"


def run(kind: str, racks: int, seed: int, steps: int, sites: int, *, bucket: str,
        lp_time: float, energy_time: float, order_time: float, time_limit: float,
        workers: int) -> Outcome:
    """Generate, dispatch, the old bound, optionally solve, the new bound."""
    data = generate(racks, seed, steps=steps, n_sites=sites)
    problem = load_problem(data)
    out = Outcome(f"{kind}: {data['name']}", racks)
    first = first_schedule(problem, seed=seed)
    if first.schedule is None or first.compiled is None or first.assignment is None:
        out.failure = f"no dispatch schedule: {first.error}"
        return out
    if first.faults:
        out.failure = f"dispatch schedule invalid: {first.faults[:3]}"
        return out
    c, a = first.compiled, first.assignment
    out.best = float(first.schedule["kpis"]["total_weighted_tardiness_min"])
    out.source = "dispatch"
    late = sorted(
        (oi for oi in range(len(c.order_ids)) if order_tardiness(c, a, oi) > 0),
        key=lambda oi: -c.order_weight[oi] * order_tardiness(c, a, oi),
    )
    ctx = Context(c, workers=workers, seed=seed)
    order_lb = order_bounds(ctx, late, order_time) if late else {}
    out.old = lower_bound(c, order_lb)
    if time_limit > 0:
        s = solve(problem, SolveParams(time_limit=time_limit, workers=workers, seed=seed))
        if s.get("items"):
            faults = validate(problem, s)
            if faults:
                out.failure = f"solve schedule invalid: {faults[:3]}"
            out.old = max(out.old, float(s["lower_bound"]))
            if float(s["objective_value"]) < out.best:
                out.best, out.source = float(s["objective_value"]), "solve"
    b = planning_bound(c, bucket=bucket, time_limit=lp_time, order_lb=order_lb)
    e = energetic_bound(c, order_lb=order_lb, time_limit=energy_time)
    out.lp, out.energy = b.value, e.value
    out.energy_rows, out.energy_s = e.rows, e.seconds
    got = [v for v in (b.value, e.value) if v is not None]
    out.new = max(got) if got else None
    out.bucket = {1440: "day", 10080: "week"}.get(b.bucket, f"{b.bucket} min")
    out.buckets, out.rows, out.cols, out.nnz = b.buckets, b.rows, b.columns, b.nonzeros
    out.build_s, out.lp_s, out.status = b.build_seconds, b.solve_seconds, b.status
    if out.new is not None and out.new > out.best + 1e-6:
        out.failure = f"bound {out.new:g} above the best schedule {out.best:g}"
    return out


def row(o: Outcome) -> list[str]:
    return [
        o.name, fmt_int(o.racks), fmt_int(o.best), o.source, fmt_int(_round(o.old)),
        fmt_int(_round(o.lp)), fmt_int(_round(o.energy)), fmt_int(_round(o.new)),
        _pct(o.gap(o.old)), _pct(o.gap(o.new)), _pct(o.closed),
        o.bucket, fmt_int(o.buckets), fmt_int(o.rows), fmt_int(o.cols), fmt_int(o.nnz),
        fmt_float(o.build_s, 1), fmt_float(o.lp_s, 1), o.status, fmt_int(o.energy_rows),
        fmt_float(o.energy_s, 1),
    ]


def _round(x: float | None) -> float | None:
    return None if x is None else float(round(x))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bounds benchmark and print the table; the exit code (see the module doc)."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(ap, time_limit=0.0, workers=2)
    ap.add_argument("--sets", type=name_list, default=["tardiness", "scale"],
                    help="instance sets: tardiness, scale (default both)")
    ap.add_argument("--bucket", default="auto",
                    help="the model's buckets: auto (default), day, week or minutes")
    ap.add_argument("--lp-time", type=float, default=600.0, metavar="S",
                    help="time limit of the model's build and LP (default 600 s)")
    ap.add_argument("--energy-time", type=float, default=30.0, metavar="S",
                    help="time limit of the energetic relaxation (default 30 s)")
    ap.add_argument("--order-time", type=float, default=3.0, metavar="S",
                    help="CP-SAT time of the per-order bounds (default 3 s)")
    ap.add_argument("--max-racks", type=int, default=None, metavar="N",
                    help="skip instances above N racks")
    args = ap.parse_args(argv)
    unknown = [s for s in args.sets if s not in SETS]
    if unknown:
        ap.error(f"unknown set(s): {', '.join(unknown)}")
    todo = [x for s in args.sets for x in SETS[s]
            if args.max_racks is None or x[1] <= args.max_racks]
    outcomes = []
    for i, (kind, racks, seed, steps, sites) in enumerate(todo, start=1):
        progress(f"[{i}/{len(todo)}] {kind} {racks} racks seed {seed} ...")
        o = run(kind, racks, seed, steps, sites, bucket=args.bucket, lp_time=args.lp_time,
                energy_time=args.energy_time, order_time=args.order_time,
                time_limit=args.time_limit, workers=args.workers)
        outcomes.append(o)
        progress(f"[{i}/{len(todo)}] {o.name}: best {fmt_int(o.best)}, old {fmt_int(o.old)}, "
                 f"new {fmt_int(_round(o.new))}, closed {_pct(o.closed)}"
                 + (f" FAILED: {o.failure}" if o.failure else ""))
    solve_note = (f"a {args.time_limit:g} s solve ({args.workers} workers) and dispatch"
                  if args.time_limit > 0 else "the dispatch heuristic")
    print(f"Lower bounds on weighted tardiness: best schedule from {solve_note}; "
          f"per-order CP-SAT bounds {args.order_time:g} s; model buckets {args.bucket}, "
          f"LP time limit {args.lp_time:g} s\n")
    print_table("Instances", COLUMNS, [row(o) for o in outcomes], markdown=args.markdown)
    judged = [o.closed for o in outcomes if o.closed is not None]
    median = statistics.median(judged) if judged else None
    print(f"Closed on the median instance: {_pct(median)} ({len(judged)} instances with a "
          f"distance to close); target >= {100 * TARGET_CLOSED:.0f} %: "
          f"{verdict(None if median is None else median >= TARGET_CLOSED)}\n")
    return report_failures([f"{o.name}: {o.failure}" for o in outcomes if o.failure])


if __name__ == "__main__":
    sys.exit(main())
