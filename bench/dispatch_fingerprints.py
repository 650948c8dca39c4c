"""Fingerprints of the dispatch heuristic's schedules: proof that a change kept its behaviour.

The dispatch heuristic is deterministic. For every instance of the shared bench (as
imported, objective makespan) and of the generated sets (`bench.instances.generate`, the
sizes of `bench/tardiness.py` with seeds 0 and 1, and 3,000 racks with four steps), the
script compiles the problem at its default horizon and records a SHA-256 of the placement
(resource, start, end of every step) that each of these passes gives:

- ``edd``, ``slack``, ``mwkr``: one pass per priority rule;
- ``best``: `best_dispatch` over the rules a solve uses, with two randomised MWKR passes;
- ``repair-*``: with the ``slack`` rule's schedule as the reference, the repairs a
  reschedule starts from (reference order with each patience, and the EDD order).

``--write FILE`` stores the table as JSON; ``--check FILE`` compares against it and exits
1 on any difference (listing each). Without either it prints the table.

    python bench/dispatch_fingerprints.py --write /tmp/before.json
    python bench/dispatch_fingerprints.py --check /tmp/before.json
    python bench/dispatch_fingerprints.py --only brandimarte/mk01,gen-150-0
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import Column, name_list, print_table, progress  # noqa: E402
from bench.instances import generate  # noqa: E402
from solver.compiled import (  # noqa: E402
    Compiled,
    MoveCosts,
    compile_problem,
    compile_reference,
    default_horizon,
)
from solver.dispatch import (  # noqa: E402
    HorizonTooShort,
    best_dispatch,
    dispatch,
    repair_keys,
    rule_keys,
)
from solver.formats.benchmarks import read_fjsp, read_jssp  # noqa: E402
from solver.problem import Problem, ProblemError, load_problem  # noqa: E402
from solver.schedule import Status, build_schedule  # noqa: E402
from solver.solution import Assignment  # noqa: E402
from solver.timeline import INF  # noqa: E402

GENERATED = [(n, s, 3) for n in (150, 300, 600, 1000) for s in (0, 1)] + [(3000, 0, 4)]


def fingerprint(a: Assignment) -> str:
    """SHA-256 of every step's resource, start and end."""
    h = hashlib.sha256()
    h.update(json.dumps([a.res, a.start, a.end], separators=(",", ":")).encode())
    return h.hexdigest()[:16]


def instances(bench_dir: Path) -> Iterator[tuple[str, Callable[[], Problem]]]:
    """(name, loader) for every shared bench instance and every generated one."""
    bks = bench_dir / "bks.csv"
    if bks.exists():
        with bks.open() as fh:
            for row in csv.DictReader(fh):
                path = bench_dir / row["file"]
                reader = read_fjsp if row["format"] == "fjsp" else read_jssp
                yield (
                    f"{row['family']}/{path.stem}",
                    lambda p=path, rd=reader: load_problem(rd(p.read_text(), p.stem)),
                )
    for n, seed, steps in GENERATED:
        yield (
            f"gen-{n}-{seed}" + ("" if steps == 3 else f"-s{steps}"),
            lambda n=n, seed=seed, steps=steps: load_problem(generate(n, seed, steps=steps)),
        )


def compiled_at_fit(problem: Problem) -> Compiled:
    """The problem compiled at the first horizon (doubling, as a solve does) EDD fits in."""
    horizon = default_horizon(problem)
    for _ in range(5):
        try:
            c = compile_problem(problem, horizon)
            dispatch(c, rule_keys(c, "edd"))
            return c
        except (ProblemError, HorizonTooShort):
            horizon *= 2
    raise RuntimeError("no horizon fits")


def passes(c: Compiled) -> dict[str, str]:
    """The fingerprint of each dispatch pass on `c`."""
    out: dict[str, str] = {}
    plain: dict[str, Assignment] = {}
    for rule in ("edd", "slack", "mwkr"):
        try:
            plain[rule] = dispatch(c, rule_keys(c, rule))
            out[rule] = fingerprint(plain[rule])
        except HorizonTooShort:
            out[rule] = "horizon-too-short"
    rules = ("edd", "slack", "mwkr") if c.n_ops <= 6000 else ("edd",)
    out["best"] = fingerprint(best_dispatch(c, rules, seed=0, tries=2))
    if "slack" in plain:
        ref = build_schedule(c, plain["slack"], status=Status.FEASIBLE, lower_bound=0,
                             solve_seconds=0.0, source="dispatch")
        c.reference = compile_reference(c, ref, MoveCosts())
        try:
            for label, p in (("inf", INF), ("none", None)):
                out[f"repair-{label}"] = fingerprint(
                    dispatch(c, repair_keys(c), repair=True, patience=p)
                )
            keys = [(1, *k) for k in rule_keys(c, "edd")]
            out["repair-edd"] = fingerprint(dispatch(c, keys, repair=True, patience=None))
        finally:
            c.reference = None
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the passes on every instance; print, write or check the fingerprints."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--only", type=name_list, help="instance names, comma-separated")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", type=Path, metavar="FILE")
    mode.add_argument("--check", type=Path, metavar="FILE")
    args = ap.parse_args(argv)
    table: dict[str, dict[str, str]] = {}
    for name, load in instances(args.bench_dir):
        if args.only and name not in args.only:
            continue
        progress(f"{name} ...")
        table[name] = passes(compiled_at_fit(load()))
    if args.write:
        args.write.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    if args.check:
        want: dict[str, Any] = json.loads(args.check.read_text())
        diffs = [
            f"{name} {k}: {v} != {want.get(name, {}).get(k)}"
            for name, got in table.items() for k, v in got.items()
            if want.get(name, {}).get(k) != v
        ]
        print(f"{len(table)} instances, {sum(map(len, table.values()))} passes compared: "
              f"{len(diffs)} differ")
        for d in diffs:
            print("  " + d)
        return 1 if diffs else 0
    keys = sorted({k for v in table.values() for k in v})
    print_table("Dispatch fingerprints",
                [Column("instance", right=False), *(Column(k, right=False) for k in keys)],
                [[name, *(v.get(k, "-") for k in keys)] for name, v in table.items()],
                markdown=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
