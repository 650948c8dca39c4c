"""Time to explain every late order of a dispatch plan, at 1,000, 3,000 and 10,000 racks.

For each size, `bench.instances.generate(n, seed, steps=4, n_sites=...)` (4 sites up to
3,000 racks, 5 above, unless ``--sites`` says otherwise) is planned by the dispatch
heuristic (`bench.common.first_schedule`, validated), then `solver.explain.explain` explains
every late order from the problem and the schedule alone, and `render_text` writes the
report. The time is the best of ``--repeat`` runs of `explain` (the report's time is shown
beside it). Each explanation is checked: every late order explained, its chain's minutes
equal to its tardiness plus its slack. Target: under 2 s at 3,000 racks.

Counterfactuals (``--what-if K``, default 3): for the K late orders of most weighted
tardiness, `solver.whatif.what_if` tries each change its explanation suggests (priority,
another site, one more resource, a shift, more power), each re-solved around the order
(CP-SAT, ``--what-if-time`` seconds of its deterministic time, one worker) and validated on the
changed problem; the table gives the changes tried and kept, and the seconds per change
tried (mean and slowest: applying the change, compiling, the re-solve, building and
validating the schedule; then the processor seconds per change, the figure a loaded machine
distorts least, the re-solve's work being the same at any load). Each kept one is checked
again here: its schedule validates on its changed problem and its tardiness is what it
claims. Target: under 5 s per change.

The exit code is 1 when a schedule is missing or invalid or a check fails, 2 on bad
arguments, else 0 (a missed target is reported, not a failure).

    python bench/explain.py
    python bench/explain.py --sizes 1000,3000 --markdown
    python bench/explain.py --sizes 1000 --what-if 0      # no counterfactuals
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    MISSING,
    Column,
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
from solver.explain import CLASSES, Explanation, explain, render_text  # noqa: E402
from solver.problem import load_problem  # noqa: E402
from solver.validate import validate  # noqa: E402
from solver.whatif import apply_change, what_if  # noqa: E402

DEFAULT_SIZES = (1000, 3000, 10000)
STEPS = 4
TARGETS = {3000: 2.0}  # racks -> seconds to explain every late order
WHAT_IF_TARGET = 5.0  # seconds per counterfactual tried


@dataclass
class Outcome:
    """One instance: its figures, the best explain time and what went wrong."""

    racks: int
    name: str = ""
    orders: int = 0
    items: int = 0
    late: int = 0
    explanation: Explanation | None = None
    dispatch_s: float | None = None
    explain_s: float | None = None
    text_s: float | None = None
    what_if_orders: int = 0
    changes: list[float] = field(default_factory=list)  # seconds per change tried
    changes_cpu: float = 0.0  # processor seconds of all the changes tried
    kept: int = 0
    on_time: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool | None:
        target = TARGETS.get(self.racks)
        if target is None or self.explain_s is None:
            return None
        return self.explain_s < target

    @property
    def what_if_met(self) -> bool | None:
        return max(self.changes) < WHAT_IF_TARGET if self.changes else None


def sites_for(n: int, sites: int | None) -> int:
    """Sites of a generated instance: as asked, else 4 up to 3,000 racks and 5 above."""
    return sites if sites is not None else (4 if n <= 3000 else 5)


def run_instance(n: int, seed: int, sites: int, repeat: int, what_ifs: int = 0,
                 what_if_time: float = 2.0) -> Outcome:
    """Generate, plan, then explain every late order `repeat` times and check the result."""
    out = Outcome(n)
    problem = load_problem(generate(n, seed, steps=STEPS, n_sites=sites))
    out.name, out.orders = problem.name, len(problem.orders)
    fs = first_schedule(problem, seed)
    out.dispatch_s = fs.total_s
    if not fs.ok or fs.schedule is None:
        out.failures.append(fs.error or "invalid schedule: " + "; ".join(fs.faults[:3]))
        return out
    schedule = fs.schedule
    out.items = len(schedule["items"])
    late = {o["id"] for o in schedule["orders"] if o["tardiness_min"] > 0}
    out.late = len(late)
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ex = explain(problem, schedule)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    assert best is not None
    out.explain_s, out.explanation = best, ex
    t0 = time.perf_counter()
    render_text(ex)
    out.text_s = time.perf_counter() - t0
    if {o["order"] for o in ex["orders"]} != late:
        out.failures.append("the explained orders are not the late ones")
    for o in ex["orders"]:
        if o["chain_min"] != o["tardiness_min"] + o["slack_min"]:
            out.failures.append(f"{o['order']}: chain {o['chain_min']} != tardiness "
                                f"{o['tardiness_min']} + slack {o['slack_min']}")
    worst = sorted(ex["orders"], key=lambda o: -o["weight"] * o["tardiness_min"])
    for o in worst[:what_ifs]:
        out.what_if_orders += 1
        cpu = time.process_time()
        found = what_if(problem, schedule, o["order"], explanation=o, seconds=what_if_time,
                        seed=seed, keep_schedules=True, timings=out.changes)
        out.changes_cpu += time.process_time() - cpu
        out.kept += len(found)
        out.on_time += any(w["on_time"] for w in found)
        for w in found:
            got = w["schedule"]
            faults = validate(apply_change(problem, w["change"]), got)
            tard = next(x["tardiness_min"] for x in got["orders"] if x["id"] == o["order"])
            if faults or tard != w["tardiness_min"] or tard >= o["tardiness_min"]:
                out.failures.append(f"{o['order']}: the {w['kind']} counterfactual does not "
                                    "reproduce")
    return out


COLUMNS = (
    Column("racks"), Column("instance", right=False), Column("orders"), Column("bars"),
    Column("late"), Column("classes (st/pr/ca/si/pl)", right=False), Column("site choices"),
    Column("dispatch s"), Column("explain s"), Column("ms / late order"), Column("report s"),
    Column("target", right=False),
)
WHAT_IF_COLUMNS = (
    Column("racks"), Column("orders asked"), Column("changes tried"), Column("kept"),
    Column("orders made on time"), Column("s / change"), Column("slowest s"),
    Column("CPU s / change"),
    Column("target", right=False),
)


def row(o: Outcome) -> list[str]:
    ex = o.explanation
    classes = MISSING
    choices = MISSING
    if ex is not None:
        classes = "/".join(str(ex["summary"]["by_class"][c]) for c in CLASSES)
        choices = fmt_int(sum(1 for x in ex["orders"] if x["site_choice"] is not None))
    per = None if o.explain_s is None or not o.late else 1000 * o.explain_s / o.late
    target = TARGETS.get(o.racks)
    return [
        fmt_int(o.racks), o.name, fmt_int(o.orders), fmt_int(o.items), fmt_int(o.late), classes,
        choices, fmt_float(o.dispatch_s), fmt_float(o.explain_s, 2), fmt_float(per),
        fmt_float(o.text_s, 3),
        MISSING if target is None else f"< {target:g} s: {verdict(o.met)}",
    ]


def what_if_row(o: Outcome) -> list[str]:
    mean = sum(o.changes) / len(o.changes) if o.changes else None
    return [
        fmt_int(o.racks), fmt_int(o.what_if_orders), fmt_int(len(o.changes)), fmt_int(o.kept),
        fmt_int(o.on_time), fmt_float(mean, 2), fmt_float(max(o.changes, default=None), 2),
        fmt_float(o.changes_cpu / len(o.changes) if o.changes else None, 2),
        MISSING if not o.changes else f"< {WHAT_IF_TARGET:g} s: {verdict(o.what_if_met)}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the explain benchmark and print the table; the exit code (see the module doc)."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N[,N]",
        help="rack counts (default " + ",".join(map(str, DEFAULT_SIZES)) + ")",
    )
    ap.add_argument("--seed", type=int, default=0, help="instance and dispatch seed (default 0)")
    ap.add_argument("--sites", type=int, default=None,
                    help="sites per instance (default 4 up to 3,000 racks, 5 above)")
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="explain runs per instance, the best is shown (default 3)")
    ap.add_argument("--what-if", type=int, default=3, metavar="K",
                    help="late orders per instance that get counterfactuals (default 3)")
    ap.add_argument("--what-if-time", type=float, default=1.0, metavar="S",
                    help="CP-SAT seconds per counterfactual's re-solve (default 2)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.what_if < 0 or not args.what_if_time > 0:
        ap.error("--what-if must be at least 0 and --what-if-time positive")
    if args.sites is not None and not 1 <= args.sites <= 8:
        ap.error("--sites must be between 1 and 8")
    outcomes = []
    for i, n in enumerate(args.sizes, start=1):
        progress(f"[{i}/{len(args.sizes)}] {n} racks ...")
        o = run_instance(n, args.seed, sites_for(n, args.sites), args.repeat, args.what_if,
                         args.what_if_time)
        outcomes.append(o)
        progress(f"[{i}/{len(args.sizes)}] {o.name}: {o.late} late, explained in "
                 f"{fmt_float(o.explain_s, 2)} s" + (" FAILED" if o.failures else ""))
    print(f"Explaining every late order of the dispatch plan ({STEPS} steps, seed {args.seed}, "
          f"best of {args.repeat})\n")
    print_table("Instances", COLUMNS, [row(o) for o in outcomes], markdown=args.markdown)
    judged = [o.met for o in outcomes if o.met is not None]
    if judged:
        print(f"Target: every late order explained in under 2 s at 3,000 racks: "
              f"{verdict(all(judged))}\n")
    if args.what_if:
        print_table(f"Counterfactuals ({args.what_if} late orders per instance, "
                    f"{args.what_if_time:g} s re-solves, one CP-SAT worker)", WHAT_IF_COLUMNS,
                    [what_if_row(o) for o in outcomes], markdown=args.markdown)
        wi = [o.what_if_met for o in outcomes if o.what_if_met is not None]
        if wi:
            print(f"Target: every counterfactual tried in under {WHAT_IF_TARGET:g} s: "
                  f"{verdict(all(wi))}\n")
    return report_failures([f"{o.name or o.racks}: {f}" for o in outcomes for f in o.failures])


if __name__ == "__main__":
    sys.exit(main())
