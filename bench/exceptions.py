"""Time to list the exceptions of a plan (`app.services.exceptions.of_plan`: late,
unplanned, at-risk and idle entries) at 1,000, 3,000 and 10,000 racks.

For each size, `bench.instances.generate(n, seed, steps=4)` is planned by the dispatch
heuristic (`bench.common.first_schedule`, validated); the time is the best of ``--repeat``
runs of `of_plan` on the problem and the schedule as the service stores them (JSON),
which is what `GET /exceptions` spends beyond reading the published job. Each run is
checked: every late order listed once, every idle entry more than a day of open time on a
resource with no step in it. Target: under 1 s at 3,000 racks.

The exit code is 1 when a schedule is missing or a check fails, 2 on bad arguments, else 0
(a missed target is reported, not a failure).

    python bench/exceptions.py
    python bench/exceptions.py --sizes 1000 --markdown
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from app.services.exceptions import of_plan  # noqa: E402
from bench.common import Column, first_schedule, fmt_int, int_list, print_table  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.problem import load_problem  # noqa: E402

TARGET_S = 1.0  # at 3,000 racks


def _check(schedule: dict[str, Any], groups: dict[str, list[dict[str, Any]]]) -> list[str]:
    faults = []
    late = {o["id"] for o in schedule["orders"] if (o.get("tardiness_min") or 0) > 0}
    listed = [e["order"] for e in groups["late"]]
    if sorted(listed) != sorted(late):
        faults.append(f"late orders listed {len(listed)}, in the plan {len(late)}")
    bars: dict[str, list[tuple[str, str]]] = {}
    for it in schedule["items"]:  # UTC "YYYY-MM-DDTHH:MM:SSZ": compared as text
        bars.setdefault(it["group"], []).append((it["start"], it["end"]))
    for e in groups["idle"]:
        if e["idle_open_min"] <= 1440:
            faults.append(f"{e['resource']}: idle {e['idle_open_min']} min")
        if any(a < e["end"] and b > e["start"] for a, b in bars.get(e["resource"], [])):
            faults.append(f"{e['resource']}: a step inside its idle stretch")
    return faults


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int_list, default=[1000, 3000, 10000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rows, failed = [], False
    for n in args.sizes:
        doc = generate(n, args.seed, steps=4, n_sites=4 if n <= 3000 else 5)
        first = first_schedule(load_problem(doc), args.seed)
        if first.schedule is None:
            print(f"{n} racks: no schedule ({first.error})", file=sys.stderr)
            failed = True
            continue
        schedule = json.loads(json.dumps(first.schedule))
        best = float("inf")
        groups: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            t = time.perf_counter()
            groups = of_plan("bench", doc, schedule, 24.0)
            best = min(best, time.perf_counter() - t)
        faults = _check(schedule, groups)
        failed |= bool(faults)
        for f in faults:
            print(f"{n} racks: {f}", file=sys.stderr)
        rows.append([fmt_int(n), fmt_int(len(schedule["items"])),
                     fmt_int(len(doc["resources"])), fmt_int(len(groups["late"])),
                     fmt_int(len(groups["at_risk"])), fmt_int(len(groups["idle"])),
                     f"{best:.3f}",
                     ("ok" if best < TARGET_S else "over") if n == 3000 else ""])
    cols = [Column("racks"), Column("steps"), Column("resources"), Column("late"),
            Column("at risk"), Column("idle"), Column("seconds"), Column("target", False)]
    print_table("Exceptions of a dispatch plan (best of the runs)", cols, rows,
                markdown=args.markdown)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
