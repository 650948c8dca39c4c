"""The capacity report's cost at scale (`solver.planning.report.capacity_report`).

Per generated instance of `bench/scale.py` (`generate(n, seed, steps=4, n_sites=...)`, 4
sites up to 3,000 racks and 5 above) and bucket size: the report of the problem alone
(the allocation's model within ``--allocation-time`` seconds) and of the problem with
its dispatch schedule (the plan's load beside the allocation's), each timed as a whole
(wall clock, in this process, one after the other). The table shows the report's size
(groups, buckets, bottlenecks named, orders late whatever the sequence), the
allocation's status and its model's build and HiGHS time.

Target: the report of 10,000 racks in under 60 s. The exit code is 1 when an instance
fails (no dispatch schedule, an invalid one, or no report), 2 on bad arguments, else 0
(a missed target is reported, not a failure).

    python bench/capacity.py
    python bench/capacity.py --sizes 10000 --buckets week,day --markdown
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    Column,
    first_schedule,
    fmt_float,
    fmt_int,
    int_list,
    name_list,
    print_table,
    progress,
    report_failures,
    verdict,
)
from bench.instances import generate  # noqa: E402
from solver.planning.report import capacity_report  # noqa: E402
from solver.problem import load_problem  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_RACKS = 10_000

COLUMNS = (
    Column("racks"),
    Column("sites"),
    Column("bucket", right=False),
    Column("with", right=False),
    Column("groups"),
    Column("buckets"),
    Column("bottlenecks"),
    Column("late orders"),
    Column("allocation", right=False),
    Column("rows"),
    Column("cols"),
    Column("build s"),
    Column("HiGHS s"),
    Column("report s"),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the capacity benchmark and print the table; the exit code (module doc)."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--sizes", type=int_list, default=[1000, 3000, 10000],
                    help="racks per instance (default 1000,3000,10000)")
    ap.add_argument("--buckets", type=name_list, default=["week"],
                    help="bucket sizes: week, day or minutes (default week)")
    ap.add_argument("--allocation-time", type=float, default=20.0, metavar="S",
                    help="the allocation's time limit (default 20 s)")
    ap.add_argument("--seed", type=int, default=0, help="instance seed (default 0)")
    ap.add_argument("--no-plan", action="store_true",
                    help="skip the reports with the dispatch schedule")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    rows: list[list[str]] = []
    failures: list[str] = []
    worst: float | None = None
    for racks in args.sizes:
        sites = 4 if racks <= 3000 else 5
        problem = load_problem(generate(racks, args.seed, steps=4, n_sites=sites))
        schedule = None
        if not args.no_plan:
            first = first_schedule(problem, seed=args.seed)
            if first.schedule is None or first.faults:
                failures.append(f"{racks} racks: no valid dispatch schedule "
                                f"({first.error or first.faults[:2]})")
            else:
                schedule = first.schedule
        for bucket in args.buckets:
            for label, sched in (("problem", None), ("dispatch plan", schedule)):
                if label != "problem" and sched is None:
                    continue
                progress(f"{racks} racks, {bucket}, {label} ...")
                t0 = time.perf_counter()
                try:
                    d = capacity_report(problem, sched, bucket=bucket,
                                        allocation_seconds=args.allocation_time).to_dict()
                except Exception as exc:  # a failed instance is reported, the rest go on
                    failures.append(f"{racks} racks, {bucket}, {label}: {exc}")
                    continue
                secs = time.perf_counter() - t0
                if racks == TARGET_RACKS:
                    worst = secs if worst is None else max(worst, secs)
                a = d["allocation"]
                rows.append([
                    fmt_int(racks), str(sites), d["bucket"], label,
                    fmt_int(sum(len(s["groups"]) for s in d["sites"])),
                    fmt_int(len(d["buckets"])), fmt_int(len(d["bottlenecks"])),
                    fmt_int(len(d["late_orders"])), str(a["status"]),
                    fmt_int(a.get("rows")), fmt_int(a.get("columns")),
                    fmt_float(a.get("build_seconds")), fmt_float(a.get("solve_seconds")),
                    fmt_float(secs),
                ])
                progress(f"  {secs:.1f} s, allocation {a['status']}")
    print(f"The capacity report: allocation time limit {args.allocation_time:g} s, "
          f"instance seed {args.seed}\n")
    print_table("Reports", COLUMNS, rows, markdown=args.markdown)
    print(f"Slowest report of {TARGET_RACKS:,} racks: {fmt_float(worst)} s; target < "
          f"{TARGET_SECONDS:g} s: {verdict(None if worst is None else worst < TARGET_SECONDS)}"
          "\n")
    return report_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
