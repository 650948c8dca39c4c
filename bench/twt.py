"""Weighted tardiness on job shops with due dates: rackplan, its local search, plain CP-SAT.

The instances are the classic job shops of the shared bench (Fisher-Thompson, Lawrence,
Taillard) and seeded random ones (`generate`), each at due-date factors 1.3, 1.5 and 1.6:
job j's due date is floor(factor x its total processing time) minutes after
horizon_start, its weight 4 for the first fifth of the jobs, 2 for the next three fifths
and 1 for the rest (the usual construction for these instances). Each is solved, at the
same time limit and workers:

- ``rackplan``: `solver.solve.solve` as it stands (on these job shops: the per-order
  bounds, the weighted-tardiness search `solver.search.twt`, then the full CP-SAT model
  hinted with its result);
- ``no twt``: the solve without the weighted-tardiness search (``twt_share = 0``: the
  plan of any small due-date problem, the full model with the makespan as its tie-break
  for 30 % of the time, relaxed LNS for the rest), the full model's own figure;
- ``plain``: a plain CP-SAT model (an interval per operation, no overlap per machine,
  max(0, end - due) per job, the weighted sum minimised);

and compared with the reference: the best value of a long CP-SAT run, cached in
``bench/twt-references.json`` (``--references`` recomputes the missing ones, see
`reference`), or the published optimum where there is one (`PUBLISHED`, marked like a
proven one). Gap % = (value - reference) / reference x 100 (0 when both are 0).
Targets: the mean gap of ``rackplan`` at most 2 %, and ``rackplan`` never worse than
``plain`` nor than ``no twt``.

Every schedule of rackplan is checked by the validator; the exit code is 1 when one is
missing or invalid, 2 on bad arguments, else 0 (missed targets are reported).

    python bench/twt.py --only ft10 --factors 1.3 --time-limit 20
    python bench/twt.py --markdown
    python bench/twt.py --set 10x10 --runs rp
    python bench/twt.py --references --ref-time 600 --only la01,la02
    python bench/twt.py --search 3000 --search-seeds 0,1,2 --factors 1.3

``--search N`` runs the weighted-tardiness search alone instead, from the dispatch
schedule, in one process, for exactly N iterations per seed: a comparison of search
variants that does not depend on the machine's load, and the iterations per CPU second.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from ortools.sat.python import cp_model  # noqa: E402

from bench.common import (  # noqa: E402
    MISSING,
    Column,
    add_common_args,
    fmt_int,
    fmt_pct,
    name_list,
    print_table,
    progress,
    report_failures,
    verdict,
)
from solver.compiled import compile_problem  # noqa: E402
from solver.dispatch import best_dispatch  # noqa: E402
from solver.formats.benchmarks import HORIZON_START, read_jssp  # noqa: E402
from solver.problem import Problem, load_problem  # noqa: E402
from solver.search import twt  # noqa: E402
from solver.solution import evaluate  # noqa: E402
from solver.solve import SolveParams, dispatch_rules, solve  # noqa: E402
from solver.tuning import Tuning  # noqa: E402
from solver.validate import validate  # noqa: E402

BENCH_DIR = ROOT.parent / "shared" / "bench"
REFERENCES = ROOT / "bench" / "twt-references.json"
FACTORS = (1.3, 1.5, 1.6)
TARGET_GAP = 2.0
# proven optima published for these instances (Singer and Pinedo's branch and bound of
# 1998): they replace the long run's value as the reference where it is higher
PUBLISHED = {"ft10@1.3": 1363, "ft10@1.5": 394, "ft10@1.6": 141}

# the classic instances (file under the shared bench's jssp folder)
CLASSIC = {
    "ft10": "fisher-thompson/ft10.txt",
    "ft20": "fisher-thompson/ft20.txt",
    **{f"la{i:02d}": f"lawrence/la{i:02d}.txt" for i in range(1, 11)},
    **{f"ta{i:02d}": f"taillard/ta{i:02d}.txt" for i in range(1, 11)},
}
# seeded random job shops: name -> (jobs, machines, seed)
GENERATED = {
    **{f"g10x10-{s}": (10, 10, s) for s in range(1, 6)},
    "g15x10-1": (15, 10, 1),
    "g20x10-1": (20, 10, 1),
}
# named sets of instances (--set)
SETS = {
    "10x10": ["ft10", *(f"g10x10-{s}" for s in range(1, 6))],
    "small": ["ft10", "la01", "la06", "g10x10-1", "g10x10-2"],
    # those with references in bench/twt-references.json (the benchmark page's table)
    "cached": ["ft10", "g10x10-1", "g10x10-2", "g10x10-3", "la01"],
    "all": [*CLASSIC, *GENERATED],
}


# ---- instances ----------------------------------------------------------------------------


def generate(jobs: int, machines: int, seed: int) -> str:
    """A random job shop file (JSSP format): every job visits every machine once, in a
    random order, for 1-99 minutes each (Taillard's construction), the same for a seed."""
    rng = random.Random(f"twt-{jobs}x{machines}-{seed}")
    lines = [f"{jobs} {machines}"]
    for _ in range(jobs):
        order = list(range(machines))
        rng.shuffle(order)
        lines.append(" ".join(f"{m} {rng.randint(1, 99)}" for m in order))
    return "\n".join(lines) + "\n"


def instance_text(name: str, bench_dir: Path = BENCH_DIR) -> str:
    """The JSSP file of a named instance (classic: from the shared bench)."""
    if name in GENERATED:
        return generate(*GENERATED[name])
    return (bench_dir / "jssp" / CLASSIC[name]).read_text(encoding="utf-8")


def weights(n_jobs: int) -> list[int]:
    """4 for the first fifth of the jobs, 2 for the next three fifths, 1 for the rest."""
    return [4 if j < n_jobs // 5 else 2 if j < n_jobs - n_jobs // 5 else 1
            for j in range(n_jobs)]


def with_due_dates(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """A job shop problem dict (`read_jssp`) with weighted due dates, objective tardiness:
    due = floor(factor x the job's total processing time) minutes."""
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(HORIZON_START)
    products = {p["id"]: p for p in data["products"]}
    ws = weights(len(data["orders"]))
    orders = []
    for o, w in zip(data["orders"], ws, strict=True):
        total = sum(min(a["duration_min"] for a in st["alternatives"])
                    for st in products[o["product"]]["routing"])
        due = t0 + timedelta(minutes=math.floor(factor * total + 1e-9))
        orders.append(dict(o, due=due.isoformat().replace("+00:00", "Z"), weight=w))
    return dict(data, name=f"{data['name']}-f{factor}", orders=orders, objective="tardiness")


def load(name: str, factor: float, bench_dir: Path = BENCH_DIR) -> Problem:
    """The checked problem of instance `name` at due-date factor `factor`."""
    return load_problem(with_due_dates(read_jssp(instance_text(name, bench_dir), name), factor))


# ---- the plain CP-SAT model ---------------------------------------------------------------


@dataclass
class Jobs:
    """A job shop in plain arrays: per job its (machine, duration) steps, due, weight."""

    steps: list[list[tuple[int, int]]]
    due: list[int]
    weight: list[int]
    n_machines: int


def jobs_of(name: str, factor: float, bench_dir: Path = BENCH_DIR) -> Jobs:
    """The plain arrays of instance `name` at `factor` (the same due dates and weights as
    `with_due_dates`)."""
    lines = [ln.split() for ln in instance_text(name, bench_dir).splitlines() if ln.strip()]
    n, m = int(lines[0][0]), int(lines[0][1])
    steps = [[(int(t[2 * k]), int(t[2 * k + 1])) for k in range(len(t) // 2)]
             for t in lines[1:n + 1]]
    due = [math.floor(factor * sum(d for _, d in s) + 1e-9) for s in steps]
    return Jobs(steps, due, weights(n), m)


def plain_model(
    jobs: Jobs, hint: list[list[int]] | None = None
) -> tuple[cp_model.CpModel, list[list[cp_model.IntVar]], cp_model.LinearExpr]:
    """The plain model: (model, per job its steps' starts, the weighted tardiness)."""
    m = cp_model.CpModel()
    horizon = sum(d for s in jobs.steps for _, d in s)
    starts: list[list[cp_model.IntVar]] = []
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(jobs.n_machines)]
    terms = []
    for j, s in enumerate(jobs.steps):
        row = []
        prev_end: cp_model.LinearExpr | None = None
        for k, (mc, d) in enumerate(s):
            st = m.new_int_var(0, horizon, f"s{j}_{k}")
            per_machine[mc].append(m.new_fixed_size_interval_var(st, d, f"i{j}_{k}"))
            if prev_end is not None:
                m.add(st >= prev_end)
            prev_end = st + d
            row.append(st)
        starts.append(row)
        t = m.new_int_var(0, horizon, f"T{j}")
        assert prev_end is not None
        m.add(t >= prev_end - jobs.due[j])
        terms.append(jobs.weight[j] * t)
    for ivs in per_machine:
        m.add_no_overlap(ivs)
    obj = cp_model.LinearExpr.sum(terms)
    m.minimize(obj)
    if hint is not None:
        for row, hrow in zip(starts, hint, strict=True):
            for v, h in zip(row, hrow, strict=True):
                m.add_hint(v, h)
    return m, starts, obj


@dataclass
class PlainResult:
    """What a plain model's run gave: its value, its bound, whether it proved it."""

    value: int | None
    bound: float
    optimal: bool
    seconds: float
    starts: list[list[int]] = field(default_factory=list)


def run_plain(
    jobs: Jobs, time_limit: float, workers: int, seed: int = 0,
    hint: list[list[int]] | None = None, log: bool = False,
) -> PlainResult:
    """Solve the plain model within `time_limit` seconds on `workers` workers."""
    model, starts, _ = plain_model(jobs, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = log
    t0 = time.monotonic()
    status = solver.solve(model)
    secs = time.monotonic() - t0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return PlainResult(None, solver.best_objective_bound, False, secs)
    return PlainResult(
        round(solver.objective_value), solver.best_objective_bound,
        status == cp_model.OPTIMAL, secs,
        [[solver.value(v) for v in row] for row in starts],
    )


def plain_value(jobs: Jobs, starts: list[list[int]]) -> int:
    """The weighted tardiness of a schedule given as per-job step starts."""
    return sum(
        w * max(0, row[-1] + s[-1][1] - due)
        for s, row, due, w in zip(jobs.steps, starts, jobs.due, jobs.weight, strict=True)
    )


Solver = Callable[[Problem, float, int, int], dict[str, Any]]


# ---- references ---------------------------------------------------------------------------


def read_references(path: Path = REFERENCES) -> dict[str, dict[str, Any]]:
    """The cached references, by ``name@factor`` (empty when the file is not there)."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("references", {}))


def ref_key(name: str, factor: float) -> str:
    return f"{name}@{factor:g}"


def reference(
    name: str, factor: float, time_limit: float, workers: int, hint_time: float = 0.0,
) -> dict[str, Any]:
    """A reference entry: the plain model solved for `time_limit` seconds, from the
    schedule of a `hint_time`-second weighted-tardiness search as its hint when given."""
    jobs = jobs_of(name, factor)
    hint = None
    if hint_time > 0:
        c = compile_problem(load(name, factor))
        a = twt.search(c, best_dispatch(c, dispatch_rules(c, Tuning())), twt.TwtParams(hint_time),
                       workers=workers)
        hint = [[a.start[o] for o in ops] for ops in c.unit_ops]
    r = run_plain(jobs, time_limit, workers, seed=0, hint=hint)
    return {
        "value": r.value, "bound": round(r.bound), "optimal": r.optimal,
        "seconds": round(r.seconds, 1), "time_limit": time_limit, "workers": workers,
        "hint_time": hint_time,
    }


def write_references(refs: dict[str, dict[str, Any]], path: Path = REFERENCES) -> None:
    doc = {
        "about": (
            "Reference weighted tardiness of the job shops with due dates of bench/twt.py: "
            "the plain CP-SAT model of bench/twt.py (an interval per operation, no overlap "
            "per machine, max(0, end - due) per job, the weighted sum minimised) solved for "
            "`time_limit` seconds on `workers` workers with seed 0 (OR-Tools 9.15); with "
            "`hint_time` > 0 from the schedule of a `hint_time`-second run of the "
            "weighted-tardiness search (solver.search.twt) as its hint. `value` is its best "
            "weighted tardiness, `bound` its proven lower bound, `optimal` whether it "
            "proved the value optimal. Made with `python bench/twt.py --references` "
            "(`--refresh` redoes the entries not proven optimal)."
        ),
        "references": dict(sorted(refs.items())),
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


# ---- rackplan without the local search ----------------------------------------------------


def without_twt(problem: Problem, params: SolveParams) -> dict[str, Any]:
    """The solve with no weighted-tardiness search in its plan (``twt_share = 0``)."""
    return solve(problem, replace(params, tuning=replace(params.tuning, twt_share=0.0)))


# ---- the search alone at a fixed iteration budget -----------------------------------------


@dataclass
class SearchRun:
    """The search alone on one instance at one factor: its values per seed, and the
    iterations it made per CPU second."""

    name: str
    factor: float
    ref: float | None
    values: list[int]
    per_second: float


def run_search(name: str, factor: float, iterations: int, seeds: Sequence[int],
               refs: dict[str, dict[str, Any]]) -> SearchRun:
    """`iterations` iterations of the search from the dispatch schedule, once per seed."""
    c = compile_problem(load(name, factor))
    start = best_dispatch(c, dispatch_rules(c, Tuning()))
    values: list[int] = []
    made = 0
    cpu = 0.0
    for seed in seeds:
        stats = twt.SearchStats()
        t0 = time.process_time()
        a = twt.search(c, start, twt.TwtParams(1e9, seed=seed, max_iterations=iterations),
                       stats=stats)
        cpu += time.process_time() - t0
        made += stats.iterations
        values.append(round(evaluate(c, a)[0] / c.weight_scale))
    out = Outcome(name, factor, refs.get(ref_key(name, factor)))
    return SearchRun(name, factor, out.ref_value, values, made / cpu if cpu > 0 else 0.0)


def search_table(runs: Sequence[SearchRun], iterations: int, markdown: bool) -> None:
    """The fixed-iteration table: per instance the values per seed, the mean gap and the
    speed; then the totals."""
    cols = (Column("instance", right=False), Column("factor"), Column("reference"),
            Column("values per seed", right=False), Column("mean gap %"),
            Column("iterations / CPU s"))
    rows = []
    for r in runs:
        gaps = [gap(v, r.ref) for v in r.values]
        rows.append([r.name, f"{r.factor:g}", fmt_int(r.ref),
                     " / ".join(fmt_int(v) for v in r.values), fmt_pct(_mean(gaps)),
                     fmt_int(round(r.per_second))])
    print_table(f"The search alone, {iterations:,} iterations from the dispatch schedule",
                cols, rows, markdown=markdown)
    total = sum(sum(r.values) for r in runs)
    mean = _mean([g for r in runs for g in (gap(v, r.ref) for v in r.values)])
    speed = _mean([r.per_second for r in runs])
    per_second = fmt_int(None if speed is None else round(speed))
    print(f"sum of values {total:,}; mean gap {fmt_pct(mean)} %; "
          f"{per_second} iterations per CPU second on average")


# ---- the table ----------------------------------------------------------------------------


def gap(value: float | None, ref: float | None) -> float | None:
    """Gap % of `value` to `ref` (0 when both are 0; None when either is missing or the
    reference is 0 and the value is not)."""
    if value is None or ref is None:
        return None
    if ref == 0:
        return 0.0 if value == 0 else None
    return 100.0 * (value - ref) / ref


@dataclass
class Outcome:
    """What one instance at one factor gave."""

    name: str
    factor: float
    ref: dict[str, Any] | None
    rackplan: float | None = None
    notwt: float | None = None
    plain: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def ref_value(self) -> float | None:
        """The published optimum where there is one, else the long run's value."""
        if self.ref is None:
            return None
        published = PUBLISHED.get(ref_key(self.name, self.factor))
        return float(published) if published is not None else self.ref.get("value")

    @property
    def ref_optimal(self) -> bool:
        return ref_key(self.name, self.factor) in PUBLISHED or bool(
            self.ref and self.ref["optimal"])


def run_one(name: str, factor: float, params: SolveParams, refs: dict[str, dict[str, Any]],
            which: str) -> Outcome:
    """Solve one instance at one factor with each of `which` (r: rackplan, n: no twt, p:
    plain), validating rackplan's schedules."""
    problem = load(name, factor)
    out = Outcome(name, factor, refs.get(ref_key(name, factor)))
    runs: list[tuple[str, Callable[[Problem, SolveParams], dict[str, Any]]]] = []
    if "r" in which:
        runs.append(("rackplan", solve))
    if "n" in which:
        runs.append(("notwt", without_twt))
    for label, fn in runs:
        s = fn(problem, params)
        faults = validate(problem, s)
        if faults:
            out.failures.append(f"{name}@{factor:g} {label}: invalid schedule: {faults[0]}")
            continue
        if str(s["status"]).lower() not in ("optimal", "feasible"):
            out.failures.append(f"{name}@{factor:g} {label}: no schedule ({s['status']})")
            continue
        setattr(out, label, float(s["kpis"]["total_weighted_tardiness_min"]))
    if "p" in which:
        got = run_plain(jobs_of(name, factor), params.time_limit, params.workers, params.seed)
        out.plain = None if got.value is None else float(got.value)
    return out


COLUMNS = (
    Column("instance", right=False),
    Column("factor"),
    Column("reference"),
    Column("rackplan"),
    Column("gap %"),
    Column("no twt"),
    Column("gap %"),
    Column("plain"),
    Column("gap %"),
    Column("<= plain, no twt", right=False),
)


def _row(o: Outcome) -> list[str]:
    ref = o.ref_value
    ref_cell = MISSING if ref is None else fmt_int(ref) + (" *" if o.ref_optimal else "")
    return [
        o.name, f"{o.factor:g}", ref_cell,
        fmt_int(o.rackplan), fmt_pct(gap(o.rackplan, ref)),
        fmt_int(o.notwt), fmt_pct(gap(o.notwt, ref)),
        fmt_int(o.plain), fmt_pct(gap(o.plain, ref)),
        ", ".join(_cell(o.rackplan, x) for x in (o.plain, o.notwt)),
    ]


def _cell(value: float | None, other: float | None) -> str:
    return "-" if value is None or other is None else "yes" if value <= other else "no"


def _mean(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def seed_list(text: str) -> list[int]:
    """``"0,1,2"`` as ``[0, 1, 2]`` (an argparse type: whole numbers >= 0)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 0: {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, time_limit=20.0, workers=2)
    ap.add_argument("--only", type=name_list, help="instances, comma-separated")
    ap.add_argument("--set", choices=sorted(SETS), default="cached",
                    help="a named set of instances (default cached: those with references)")
    ap.add_argument("--factors", type=lambda t: [float(x) for x in t.split(",")],
                    default=list(FACTORS), help="due-date factors (default 1.3,1.5,1.6)")
    ap.add_argument("--runs", default="rnp",
                    help="which to run: r rackplan, n no twt, p plain (default rnp)")
    ap.add_argument("--references", action="store_true",
                    help="compute the missing references (no comparison)")
    ap.add_argument("--ref-time", type=float, default=240.0,
                    help="seconds of a reference run (default 240)")
    ap.add_argument("--hint-time", type=float, default=20.0,
                    help="seconds of the search whose schedule hints a reference run "
                         "(default 20; 0: no hint)")
    ap.add_argument("--refresh", action="store_true",
                    help="with --references: redo the entries not proven optimal, "
                         "keeping the better value")
    ap.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    ap.add_argument("--search", type=int, metavar="N",
                    help="the search alone for N iterations per seed (no solve)")
    ap.add_argument("--search-seeds", type=seed_list, default=[0, 1],
                    help="with --search: the seeds (default 0,1)")
    args = ap.parse_args(argv)
    names = args.only or SETS[args.set]
    unknown = [n for n in names if n not in CLASSIC and n not in GENERATED]
    if unknown:
        ap.error(f"unknown instances: {', '.join(unknown)}")
    if args.search is not None:
        if args.search <= 0:
            ap.error("--search takes a positive number of iterations")
        refs = read_references()
        runs = []
        for name in names:
            for f in args.factors:
                progress(f"{name}@{f:g}: the search alone")
                runs.append(run_search(name, f, args.search, args.search_seeds, refs))
        search_table(runs, args.search, args.markdown)
        return 0
    if args.references:
        for name in names:
            for f in args.factors:
                refs = read_references()
                old = refs.get(ref_key(name, f))
                if old is not None and (old["optimal"] or not args.refresh):
                    continue
                progress(f"reference {name}@{f:g} ({args.ref_time:g} s)")
                new = reference(name, f, args.ref_time, args.workers, args.hint_time)
                if old is not None and old["value"] is not None and (
                        new["value"] is None or old["value"] < new["value"]):
                    old["bound"] = max(old["bound"], new["bound"])
                    new = old
                refs = read_references()
                refs[ref_key(name, f)] = new
                write_references(refs)
        return 0
    refs = read_references()
    params = SolveParams(time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    outcomes: list[Outcome] = []
    for name in names:
        for f in args.factors:
            progress(f"{name}@{f:g}")
            outcomes.append(run_one(name, f, params, refs, args.runs))
    print_table(f"Weighted tardiness at {args.time_limit:g} s, {args.workers} workers "
                "(* reference proven optimal)", COLUMNS, [_row(o) for o in outcomes],
                markdown=args.markdown)
    mean = _mean([gap(o.rackplan, o.ref_value) for o in outcomes])
    summary = [
        ["rackplan", fmt_pct(mean), verdict(None if mean is None else mean <= TARGET_GAP)],
        ["no twt", fmt_pct(_mean([gap(o.notwt, o.ref_value) for o in outcomes])), "-"],
        ["plain", fmt_pct(_mean([gap(o.plain, o.ref_value) for o in outcomes])), "-"],
    ]
    print_table("Mean gap to the reference", (Column("solver", right=False),
                Column("mean gap %"), Column(f"<= {TARGET_GAP:g} %", right=False)),
                summary, markdown=args.markdown)
    for label, attr in (("plain", "plain"), ("no twt", "notwt")):
        pairs = [(o.rackplan, getattr(o, attr)) for o in outcomes]
        pairs = [(r, x) for r, x in pairs if r is not None and x is not None]
        held = sum(1 for r, x in pairs if r <= x)
        ok = held == len(pairs) if pairs else None
        print(f"rackplan never worse than {label}: {verdict(ok)} ({held} of {len(pairs)})")
    return report_failures([f for o in outcomes for f in o.failures])


if __name__ == "__main__":
    sys.exit(main())
