"""What-if scenarios at scale: the base and four variants of a 1,000-rack instance solved
with the same time limit and seed, side by side in processes of their own
(`solver.resilience.solve_all`, as the service's job runner runs a scenario's jobs with
``RACKPLAN_MAX_SOLVES``), then compared (`solver.scenario.compare`).

The instance is `bench.instances.generate(racks, seed, steps=4)`. The variants: the first
site down for two weeks from horizon_start, a copy of the first test resource, the second
site's shifts around the clock, and the first product's test twice as long for the
orders released in the first two weeks together with a new order of 24 racks due in four
weeks.

Target (docs/scenarios.md): the wall time of the whole no more than the sum of the
solves' own times, less with two processes or more. The table: per side its status,
weighted tardiness and change against the base, on-time orders, the solve's seconds and
whether the validator passed it; then the wall time, the sum, and their ratio.

    python bench/scenarios.py                       # 1,000 racks, 30 s each, 2 processes
    python bench/scenarios.py --time-limit 10 --processes 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import Column, add_common_args, fmt_int, print_table, progress  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.problem import Problem, load_problem  # noqa: E402
from solver.resilience import solve_all  # noqa: E402
from solver.scenario import Solved, apply_changes, compare, load_changes  # noqa: E402
from solver.validate import validate  # noqa: E402

COLUMNS = [Column("side", right=False), Column("status", right=False), Column("w. tardiness"),
           Column("change"), Column("on time"), Column("solve s"), Column("valid", right=False)]


def _stamp(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def variants(p: Problem) -> list[tuple[str, list[dict[str, Any]]]]:
    """The four variants of the benchmark, from the instance's own ids."""
    t0 = p.horizon_start
    first, second = p.sites[0].id, p.sites[1].id
    test = next(r.id for r in p.resources if r.kind == "test")
    product = next(x for x in p.products if any(s.op == "test" for s in x.routing))
    return [
        (f"{first} down 14 d", [{"type": "site_down", "site": first, "start": _stamp(t0),
                                 "end": _stamp(t0 + timedelta(days=14))}]),
        (f"+1 {test}", [{"type": "resource_add", "like": test}]),
        (f"{second} 24x7", [{"type": "shifts", "site": second, "shifts": []}]),
        (f"{product.id} test x2 + order 24", [
            {"type": "duration", "product": product.id, "op": "test", "factor": 2,
             "end": _stamp(t0 + timedelta(days=14))},
            {"type": "order_add", "id": "BENCH-NEW", "product": product.id, "quantity": 24,
             "due": _stamp(t0 + timedelta(days=28))}]),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, time_limit=30.0, workers=1)
    ap.add_argument("--racks", type=int, default=1000, help="racks in the instance (1,000)")
    ap.add_argument("--processes", type=int, default=2,
                    help="solves at once, each in a process of its own (default 2)")
    args = ap.parse_args(argv)
    base = load_problem(generate(args.racks, args.seed, steps=4))
    named = variants(base)
    changed = [apply_changes(base, load_changes(c, base)) for _, c in named]
    problems = [base, *changed]
    load = os.getloadavg()[0]
    progress(f"{args.racks} racks, {len(problems)} solves of {args.time_limit:g} s, "
             f"{args.processes} at once, load {load:.2f}")
    t = time.perf_counter()
    schedules = solve_all(problems, time_limit=args.time_limit, seed=args.seed,
                          workers=args.workers, processes=args.processes)
    wall = time.perf_counter() - t
    comp = compare(Solved("base", [], base, schedules[0]),
                   [Solved(n, load_changes(c), p, s)
                    for (n, c), p, s in zip(named, changed, schedules[1:], strict=True)],
                   capacity=False)
    rows = []
    failures = 0
    for side, p, s in zip([comp["base"], *comp["variants"]], problems, schedules, strict=True):
        ok = bool(s.get("items")) and validate(p, s) == []
        failures += not ok
        change = side.get("weighted_tardiness_min_change")
        rows.append([side["name"], str(side["status"]), fmt_int(side["weighted_tardiness_min"]),
                     "" if change is None else f"{change:+,.0f}",
                     "-" if side["on_time"] is None else f"{side['on_time']}/{side['orders']}",
                     f"{float(s.get('solve_seconds') or 0):.1f}", "yes" if ok else "NO"])
    total = sum(float(s.get("solve_seconds") or 0) for s in schedules)
    print_table(f"{args.racks} racks, base and {len(named)} variants, {args.time_limit:g} s "
                f"each, {args.processes} process(es), load {load:.2f} at the start",
                COLUMNS, rows, markdown=args.markdown)
    print_table("wall time against the solves' sum",
                [Column("wall s"), Column("sum of solves s"), Column("wall / sum"),
                 Column("target", right=False)],
                [[f"{wall:.1f}", f"{total:.1f}", f"{wall / total:.2f}",
                  "met" if wall <= total else "missed"]], markdown=args.markdown)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
