"""The Gantt data of large schedules: what parsing a schedule and answering for it cost.

Per generated instance (`bench.instances.generate`, seed 0, 4 steps a rack), the dispatch
heuristic's validated schedule (`bench.common.first_schedule`) is parsed as a job's Gantt
data (`app.services.gantt.build`: the indexes, the row utilisations, the sites' power
profiles), and then answered as `GET /schedules/{id}/gantt` answers a cached job:

- ``build``: parsing the schedule (once per finished job);
- ``splice``: the floor's states laid into the pre-encoded bars (once per job after a
  floor event arrives; here with every bar planned, the shared suffixes);
- ``whole``, ``one site``: the answer for the whole schedule, for the first site alone
  (the median of `--repeat` answers, processor time).

Processor seconds (`time.process_time`), so the load of a shared machine matters less
than wall clock would; the answer's size and the power profiles' steps beside them.

    python bench/gantt.py
    python bench/gantt.py --racks 500 2500 --repeat 20 --markdown
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from app.services import gantt as svc  # noqa: E402
from bench.common import Column, first_schedule, print_table, progress  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.problem import load_problem  # noqa: E402

T = TypeVar("T")


def cpu(fn: Callable[[], T]) -> tuple[T, float]:
    """`fn`'s result and the processor milliseconds it took."""
    t0 = time.process_time()
    out = fn()
    return out, (time.process_time() - t0) * 1000


def row(racks: int, repeat: int) -> list[str]:
    problem = generate(racks, 0, steps=4)
    fs = first_schedule(load_problem(problem))
    schedule = fs.schedule
    data, build_ms = cpu(lambda: svc.build("bench", schedule, problem))
    planned = {f: svc._state_suffix(None, f) for f in (False, True)}
    items, splice_ms = cpu(lambda: [h[:-1] + planned[f] for h, f in
                                    zip(data.item_json, data.item_fixed, strict=True)])
    clock = svc.Clock(now=data.horizon_start + timedelta(hours=9), frozen_hours=24.0)
    whole = svc.GanttFilter()
    site = svc.GanttFilter(sites=frozenset({problem["sites"][0]["id"]}))
    size = len(svc.render(data, whole, items, clock))  # the first encodes the header

    def median(f: svc.GanttFilter) -> float:
        return statistics.median(cpu(lambda: svc.render(data, f, items, clock))[1]
                                 for _ in range(repeat))

    steps = sum(len(s["power"]["load"]) for s in data.header["sites"] if s["power"])
    return [f"{racks:,}", f"{len(schedule['items']):,}", f"{build_ms:.0f}",
            f"{splice_ms:.1f}", f"{median(whole):.1f}", f"{median(site):.1f}",
            f"{size / 1e6:.2f}", f"{steps:,}"]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--racks", type=int, nargs="+", default=[500, 2500],
                    help="racks per instance; x4 steps = bars (500 2500)")
    ap.add_argument("--repeat", type=int, default=10, help="answers timed per filter (10)")
    ap.add_argument("--markdown", action="store_true", help="a markdown table")
    args = ap.parse_args(argv)
    if args.repeat < 1 or any(r < 1 for r in args.racks):
        ap.error("--racks and --repeat must be positive")
    rows = []
    for racks in args.racks:
        progress(f"{racks} racks ...")
        rows.append(row(racks, args.repeat))
    cols = [Column("racks"), Column("bars"), Column("build ms"), Column("splice ms"),
            Column("whole ms"), Column("one site ms"), Column("answer MB"),
            Column("power steps")]
    print_table("Gantt data (processor ms)", cols, rows, markdown=args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
