"""The execution backends side by side: the scenario set of bench/scenarios.py (a
1,000-rack instance, the base and four variants, the same time limit and seed) run on
the local backend (child processes) and on a Ray of this machine with as many CPUs
(`solver.execution`), each solve as `solver.resilience.solve_all` runs it.

Per backend: the wall time of the set, the sum of the solves' own seconds, the time
from handing the set over to the first solve running, and the overhead: wall time less
the ideal (solves in rounds of `--processes`, each round as long as its longest solve).
Ray's start (``ray.init``) is timed apart: a service pays it once, not per set. Target:
Ray's wall time within 10 % of the local backend's on the same cores.

    python bench/backends.py                                # 30 s each, 2 at once
    python bench/backends.py --time-limit 5 --processes 2
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import Column, add_common_args, print_table, progress  # noqa: E402
from bench.instances import generate  # noqa: E402
from bench.scenarios import variants  # noqa: E402
from solver.execution import Backend, Failed, LocalBackend, RayBackend  # noqa: E402
from solver.problem import load_problem  # noqa: E402
from solver.scenario import apply_changes, load_changes  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

COLUMNS = [Column("backend", right=False), Column("start s"), Column("wall s"),
           Column("sum of solves s"), Column("ideal s"), Column("overhead s"),
           Column("to first solve s"), Column("vs local"), Column("valid", right=False)]


def timed_solve(doc: dict[str, Any], time_limit: float, seed: int, workers: int
                ) -> tuple[float, dict[str, Any], bool]:
    """When the solve began (`time.time`), its schedule, and whether it passed the
    validator: the work of `solver.resilience.solve_all` per problem."""
    began = time.time()
    problem = load_problem(doc)
    schedule = solve(problem, SolveParams(time_limit=time_limit, seed=seed, workers=workers))
    return began, schedule, bool(schedule.get("items")) and validate(problem, schedule) == []


def run(backend: Backend, docs: Sequence[dict[str, Any]], args: argparse.Namespace
        ) -> tuple[float, float, list[Any]]:
    """The set on `backend`: wall seconds, seconds to the first solve, the answers."""
    from bench import backends  # by its module's name, not __main__'s: the workers import it

    t = time.time()
    got = backend.map(backends.timed_solve, [(d, args.time_limit, args.seed, args.workers)
                                    for d in docs], cpus=args.workers)
    wall = time.time() - t
    first = min((g[0] for g in got if not isinstance(g, Failed)), default=math.nan) - t
    return wall, first, got


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, time_limit=30.0, workers=1)
    ap.add_argument("--racks", type=int, default=1000, help="racks in the instance (1,000)")
    ap.add_argument("--processes", type=int, default=2,
                    help="solves at once: child processes, and Ray's CPUs (default 2)")
    args = ap.parse_args(argv)
    base = load_problem(generate(args.racks, args.seed, steps=4))
    problems = [base, *(apply_changes(base, load_changes(c, base)) for _, c in variants(base))]
    docs = [p.model_dump(mode="json", exclude_none=True) for p in problems]
    load = os.getloadavg()[0]
    progress(f"{args.racks} racks, {len(docs)} solves of {args.time_limit:g} s, "
             f"{args.processes} at once, load {load:.2f}")
    # Ray's workers import this script's module by name
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    rows = []
    failures = 0
    local_wall = math.nan
    for name in ("local", "ray"):
        started = 0.0
        backend: Backend
        if name == "local":
            backend = LocalBackend(args.processes)
        else:
            ray = RayBackend("local", num_cpus=args.processes * args.workers)
            t = time.time()
            ray.start()
            started = time.time() - t
            backend = ray
        progress(f"{name}: solving")
        wall, first, got = run(backend, docs, args)
        ok = [g[2] for g in got if not isinstance(g, Failed)]
        failures += len(docs) - sum(ok)
        seconds = [float(g[1].get("solve_seconds") or 0) for g in got
                   if not isinstance(g, Failed)]
        ideal = sum(max(seconds[i:i + args.processes])
                    for i in range(0, len(seconds), args.processes))
        if name == "local":
            local_wall = wall
        rows.append([name, f"{started:.1f}", f"{wall:.1f}", f"{sum(seconds):.1f}",
                     f"{ideal:.1f}", f"{wall - ideal:.1f}", f"{first:.1f}",
                     f"{(wall / local_wall - 1) * 100:+.1f} %",
                     f"{sum(ok)}/{len(docs)}"])
    print_table(f"{args.racks} racks, base and {len(docs) - 1} variants, {args.time_limit:g} s "
                f"each, {args.processes} at once, load {load:.2f} at the start "
                f"({os.getloadavg()[0]:.2f} at the end)", COLUMNS, rows, markdown=args.markdown)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
