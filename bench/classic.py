"""Makespan on the public job shop benchmarks listed in the shared bench's ``bks.csv``.

Each instance is imported (FJSP or JSSP format), solved with objective makespan, checked by
the validator, and compared with its best-known makespan: gap % = (makespan - best_known) /
best_known x 100. The families' mean gaps are compared with the project's targets
(Brandimarte <= 1.5 %, Hurink vdata <= 0.5 %, Taillard <= 3 %).

The bench folder is ``--bench-dir``, else ``$RACKPLAN_BENCH_DIR``, else ``../shared/bench``
next to the repository. Instances run one after another. The exit code is 1 when an
instance cannot be read or solved or its schedule is invalid, 2 on bad arguments, else 0
(missed targets are reported, not failures).

    python bench/classic.py --family brandimarte --time-limit 60
    python bench/classic.py --only mk01,ft06 --time-limit 5 --markdown
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    MISSING,
    Column,
    add_common_args,
    fmt_float,
    fmt_int,
    fmt_pct,
    name_list,
    print_table,
    progress,
    report_failures,
    verdict,
)
from solver.formats.benchmarks import read_fjsp, read_jssp  # noqa: E402
from solver.problem import Objective, ProblemError, load_problem  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

BENCH_ENV = "RACKPLAN_BENCH_DIR"
DEFAULT_BENCH_DIR = ROOT.parent / "shared" / "bench"

# families in report order; families of bks.csv not listed here follow, sorted
FAMILIES = ("brandimarte", "hurink-vdata", "taillard", "fisher-thompson", "lawrence")
# target on the family's mean gap to the best-known makespan, in %
TARGETS = {"brandimarte": 1.5, "hurink-vdata": 0.5, "taillard": 3.0}

READERS = {"fjsp": read_fjsp, "jssp": read_jssp, "taillard": read_jssp}

INSTANCE_COLUMNS = (
    Column("instance", right=False),
    Column("family", right=False),
    Column("makespan"),
    Column("LB"),
    Column("best-known"),
    Column("gap %"),
    Column("time s"),
    Column("status", right=False),
)
FAMILY_COLUMNS = (
    Column("family", right=False),
    Column("instances"),
    Column("mean gap %"),
    Column("max gap %"),
    Column("at best-known"),
    Column("target %"),
    Column("target", right=False),
)


@dataclass(frozen=True)
class Instance:
    """One row of bks.csv."""

    file: str  # relative to the bench folder
    fmt: str
    family: str
    lower_bound: int
    best_known: int

    @property
    def name(self) -> str:
        return Path(self.file).stem

    def matches(self, key: str) -> bool:
        """`key` is the file name's stem, ``family/stem`` or the path in bks.csv."""
        return key in (self.name, f"{self.family}/{self.name}", self.file)


@dataclass
class Outcome:
    """What one instance gave."""

    inst: Instance
    makespan: int | None = None
    bound: float | None = None
    seconds: float | None = None
    status: str = MISSING
    failure: str | None = None

    @property
    def gap(self) -> float | None:
        """Gap to the best-known makespan in %."""
        if self.makespan is None or self.failure is not None:
            return None
        return 100.0 * (self.makespan - self.inst.best_known) / self.inst.best_known


def bench_dir(arg: Path | None) -> Path:
    """The shared bench folder: the flag, else the environment, else the default."""
    if arg is not None:
        return arg
    env = os.environ.get(BENCH_ENV)
    return Path(env) if env else DEFAULT_BENCH_DIR


def read_bks(path: Path) -> list[Instance]:
    """The instances of bks.csv (columns file, format, family, lower_bound, best_known)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for i, row in enumerate(rows, start=2):
        try:
            out.append(Instance(
                row["file"].strip(), row["format"].strip().lower(), row["family"].strip(),
                int(row["lower_bound"]), int(row["best_known"]),
            ))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{path}: line {i} is not a valid bks row ({exc})") from None
    return out


def family_order(families: set[str]) -> list[str]:
    """The families in report order."""
    known = [f for f in FAMILIES if f in families]
    return known + sorted(families - set(known))


def run_instance(inst: Instance, root: Path, params: SolveParams) -> Outcome:
    """Import, solve with objective makespan, validate."""
    out = Outcome(inst)
    reader = READERS.get(inst.fmt)
    if reader is None:
        out.failure = f"unknown format '{inst.fmt}'"
        return out
    try:
        text = (root / inst.file).read_text(encoding="utf-8")
        problem = load_problem(reader(text, inst.name))
    except OSError as exc:
        out.failure = f"cannot read {root / inst.file}: {exc.strerror}"
        return out
    except ProblemError as exc:
        out.failure = "cannot import: " + "; ".join(exc.errors[:5])
        return out
    schedule: dict[str, Any] = solve(problem, params)
    out.status = str(schedule["status"])
    out.seconds = float(schedule["solve_seconds"])
    if not schedule.get("items"):
        out.failure = "no schedule: " + "; ".join(schedule.get("reasons", [])[:5])
        return out
    out.makespan = int(schedule["objective_value"])
    out.bound = schedule["lower_bound"]
    faults = validate(problem, schedule)
    if faults:
        out.status = "INVALID"
        out.failure = f"invalid schedule ({len(faults)} faults): " + "; ".join(faults[:5])
    return out


def instance_row(o: Outcome) -> list[str]:
    return [
        o.inst.name, o.inst.family, fmt_int(o.makespan), fmt_int(o.bound),
        fmt_int(o.inst.best_known), fmt_pct(o.gap), fmt_float(o.seconds, 2), o.status,
    ]


def family_rows(outcomes: Sequence[Outcome], listed: Sequence[Instance]) -> list[list[str]]:
    """Per family: how many ran (of those in bks.csv), mean and max gap, target verdict."""
    rows = []
    for fam in family_order({o.inst.family for o in outcomes}):
        mine = [o for o in outcomes if o.inst.family == fam]
        gaps = [g for o in mine if (g := o.gap) is not None]
        total = sum(1 for i in listed if i.family == fam)
        mean = sum(gaps) / len(gaps) if gaps else None
        target = TARGETS.get(fam)
        ok: bool | None = None
        if target is not None:
            ok = mean is not None and len(gaps) == len(mine) and mean <= target + 1e-9
        at_best = sum(1 for o in mine if (g := o.gap) is not None and g <= 1e-9)
        judged = verdict(ok)
        if ok is not None and len(mine) < total:
            judged += " (subset)"
        rows.append([
            fam,
            f"{len(mine)}/{total}",
            fmt_pct(mean),
            fmt_pct(max(gaps) if gaps else None),
            f"{at_best}/{len(mine)}",
            fmt_pct(target, 1) if target is not None else MISSING,
            judged,
        ])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the classic benchmarks and print the tables; the exit code (see the module doc)."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(ap, time_limit=60.0, workers=2)
    ap.add_argument(
        "--bench-dir", type=Path, default=None,
        help=f"the shared bench folder (default ${BENCH_ENV}, else {DEFAULT_BENCH_DIR})",
    )
    ap.add_argument(
        "--family", type=name_list, default=None, metavar="F[,F]",
        help="only these families (" + ", ".join(FAMILIES) + ")",
    )
    ap.add_argument(
        "--only", type=name_list, default=None, metavar="NAME[,NAME]",
        help="only these instances: file stem (mk01; la01 means both families), "
        "family/stem (lawrence/la01) or the path in bks.csv",
    )
    args = ap.parse_args(argv)

    root = bench_dir(args.bench_dir)
    bks = root / "bks.csv"
    if not bks.is_file():
        ap.error(f"no bks.csv in {root} (set --bench-dir or ${BENCH_ENV})")
    try:
        listed = read_bks(bks)
    except ValueError as exc:
        ap.error(str(exc))
    chosen = listed
    if args.family is not None:
        unknown = sorted(set(args.family) - {i.family for i in listed})
        if unknown:
            ap.error(f"unknown family: {', '.join(unknown)}")
        chosen = [i for i in chosen if i.family in args.family]
    if args.only is not None:
        unknown = [k for k in args.only if not any(i.matches(k) for i in listed)]
        if unknown:
            ap.error(f"not in bks.csv: {', '.join(unknown)}")
        chosen = [i for i in chosen if any(i.matches(k) for k in args.only)]
    if not chosen:
        ap.error("no instance left after the filters")

    params = SolveParams(
        time_limit=args.time_limit, workers=args.workers, seed=args.seed,
        objective=Objective.MAKESPAN,
    )
    outcomes = []
    for n, inst in enumerate(chosen, start=1):
        progress(f"[{n}/{len(chosen)}] {inst.family}/{inst.name} ...")
        o = run_instance(inst, root, params)
        outcomes.append(o)
        progress(
            f"[{n}/{len(chosen)}] {inst.family}/{inst.name}: makespan {fmt_int(o.makespan)} "
            f"(best-known {inst.best_known}, gap {fmt_pct(o.gap)} %) {fmt_float(o.seconds)} s "
            f"{o.status}" + (f" FAILED: {o.failure}" if o.failure else "")
        )

    print(
        f"Classic benchmarks: objective makespan, time limit {args.time_limit:g} s, "
        f"{args.workers} workers, seed {args.seed}, bench {root}\n"
    )
    print_table(
        "Instances", INSTANCE_COLUMNS, [instance_row(o) for o in outcomes],
        markdown=args.markdown,
    )
    print_table(
        "Families (gap % to best-known)", FAMILY_COLUMNS, family_rows(outcomes, listed),
        markdown=args.markdown,
    )
    return report_failures(
        [f"{o.inst.family}/{o.inst.name}: {o.failure}" for o in outcomes if o.failure]
    )


if __name__ == "__main__":
    sys.exit(main())
