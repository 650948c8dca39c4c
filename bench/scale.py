"""Time and memory on large generated instances: where the time goes, and the targets.

Each size runs in a fresh child process (``sys.executable`` on this script), so that the
peak resident memory (``ru_maxrss``) is that instance's alone. The child generates the
instance (`generate(n, seed, steps=4, n_sites=...)`, 4 sites up to 3,000 racks and 5
above unless ``--sites`` says otherwise), then times each phase of the way to a first
validated schedule: load (`load_problem`), compile (`compile_problem`), dispatch
(`best_dispatch`; both add up every horizon tried, as `solve` doubles a horizon the plan
does not fit), build (lower bound + `build_schedule`) and validate. Then `solve` runs with
the time limit and its schedule is validated too.

Targets: a validated schedule of 1,000 racks within 30 s; 3,000 within 120 s and under
4 GB; 10,000 within 300 s and under 6 GB. "Within" is the time to the first validated
schedule (load to validate); the memory is the child's peak over the whole run, solve
included. Sizes without a target show ``-``.

``--decompose on`` (or ``auto``: as `solve` decides from ``decompose_min_racks``) solves
site by site (`solver.decompose`); the third table then says where the solve's time
went: the allocation's model build and LP or MIP, the check of its sites (each site's
part dispatched, joined: "check WT", against the dispatch WT of the whole; the sites
come from the allocation only when it is better), the per-site solves (wall clock),
joining, the repair rounds, the polishing LNS and the rest (the dispatch of the whole
and the check's, the compile, the schedule document, the validator). With it, the
weighted-tardiness targets: at 10,000 racks and 300 s at most half the dispatch
heuristic's; at 3,000 racks and 120 s no worse than a
monolithic solve (``--decompose off``) at the same time limit.

The exit code is 1 when a child fails or a schedule is missing or invalid, 2 on bad
arguments, else 0 (a missed target is reported, not a failure).

    python bench/scale.py --time-limit 120
    python bench/scale.py --sizes 1000 --time-limit 10 --markdown
    python bench/scale.py --sizes 10000 --time-limit 300 --decompose on
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
    int_list,
    print_table,
    progress,
    report_failures,
    timed,
    verdict,
)

DEFAULT_SIZES = (1000, 3000, 10000)
STEPS = 4
MB = 1024 * 1024
# seconds past the time limit a solve may take before the report calls it an overrun
OVERRUN_SLACK = 2.0
GB = 1024 * MB


@dataclass(frozen=True)
class Target:
    """A validated schedule within `seconds` (and under `memory` bytes when set)."""

    seconds: float
    memory: int | None = None

    def describe(self) -> str:
        mem = f", < {self.memory // GB} GB" if self.memory is not None else ""
        return f"<= {self.seconds:g} s{mem}"


TARGETS = {1000: Target(30.0), 3000: Target(120.0, 4 * GB), 10000: Target(300.0, 6 * GB)}

TIME_COLUMNS = (
    Column("racks"),
    Column("sites"),
    Column("orders"),
    Column("ops"),
    Column("generate s"),
    Column("load s"),
    Column("compile s"),
    Column("dispatch s"),
    Column("horizons"),
    Column("build s"),
    Column("validate s"),
    Column("first schedule s"),
)
PHASE_COLUMNS = (
    Column("racks"),
    Column("allocate s"),
    Column("model build s"),
    Column("LP/MIP s"),
    Column("allocation", right=False),
    Column("rows"),
    Column("columns"),
    Column("check WT"),
    Column("sites from", right=False),
    Column("per-site s"),
    Column("site parts", right=False),
    Column("join s"),
    Column("join WT"),
    Column("repair s"),
    Column("polish s"),
    Column("rest s"),
)
RESULT_COLUMNS = (
    Column("racks"),
    Column("dispatch WT"),
    Column("final WT"),
    Column("LB"),
    Column("status", right=False),
    Column("source", right=False),
    Column("solve s"),
    Column("validate s"),
    Column("MB at first"),
    Column("peak MB"),
    Column("valid", right=False),
    Column("target", right=False),
    Column("result", right=False),
)


@dataclass
class Measure:
    """What a child reports for one instance (seconds, bytes); JSON between processes."""

    racks: int
    sites: int
    orders: int = 0
    ops: int = 0
    generate_s: float = 0.0
    load_s: float = 0.0
    compile_s: float = 0.0
    dispatch_s: float = 0.0
    horizons: int = 0
    build_s: float = 0.0
    validate_s: float = 0.0
    dispatch_wt: float | None = None
    final_wt: float | None = None
    bound: float | None = None
    status: str = MISSING
    source: str = MISSING
    solve_s: float | None = None
    solve_validate_s: float | None = None
    rss_first: int | None = None
    rss_peak: int | None = None
    failures: list[str] = field(default_factory=list)
    # the decomposed solve's log (empty for a monolithic one)
    solve_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_s(self) -> float:
        """Seconds from the problem data to the first validated schedule."""
        return self.load_s + self.compile_s + self.dispatch_s + self.build_s + self.validate_s

    @property
    def have_first(self) -> bool:
        return self.dispatch_wt is not None and not any(
            f.startswith("dispatch") for f in self.failures
        )


def peak_rss() -> int:
    """This process's peak resident set size in bytes (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def default_sites(n_racks: int) -> int:
    """4 sites up to 3,000 racks, 5 above."""
    return 4 if n_racks <= 3000 else 5


def measure(
    n_racks: int, sites: int, seed: int, time_limit: float, workers: int,
    decompose: bool | None = False,
) -> Measure:
    """Run one instance in this process (the child's work) and return its figures."""
    from bench.instances import generate
    from solver.problem import load_problem
    from solver.solve import SolveParams, solve
    from solver.validate import validate

    m = Measure(n_racks, sites)
    data, m.generate_s = timed(lambda: generate(n_racks, seed, steps=STEPS, n_sites=sites))
    problem, m.load_s = timed(lambda: load_problem(data))
    m.orders = len(problem.orders)
    first = first_schedule(problem, seed=seed)
    m.compile_s, m.dispatch_s, m.horizons = first.compile_s, first.dispatch_s, first.attempts
    m.build_s, m.validate_s = first.build_s, first.validate_s
    m.rss_first = peak_rss()
    if first.compiled is not None:
        m.ops = first.compiled.n_ops
    if first.error is not None or first.schedule is None:
        m.failures.append(f"dispatch: {first.error}")
    else:
        m.dispatch_wt = first.schedule["objective_value"]
        if first.faults:
            m.failures.append(
                f"dispatch schedule invalid ({len(first.faults)} faults): "
                + "; ".join(first.faults[:5])
            )
    del first  # let the solve start from the problem alone

    t0 = time.perf_counter()
    schedule: dict[str, Any] = solve(
        problem,
        SolveParams(time_limit=time_limit, workers=workers, seed=seed, decompose=decompose),
    )
    m.solve_s = time.perf_counter() - t0
    m.status = str(schedule["status"])
    m.source = str(schedule.get("source", MISSING))
    if any(e.get("phase") == "allocate" for e in schedule.get("solve_log", [])):
        m.solve_log = list(schedule["solve_log"])
    if not schedule.get("items"):
        m.failures.append(f"solver: {m.status}: " + "; ".join(schedule.get("reasons", [])[:5]))
    else:
        m.final_wt = schedule["objective_value"]
        m.bound = schedule["lower_bound"]
        faults, m.solve_validate_s = timed(lambda: validate(problem, schedule))
        if faults:
            m.failures.append(
                f"solver schedule invalid ({len(faults)} faults): " + "; ".join(faults[:5])
            )
    m.rss_peak = peak_rss()
    return m


def run_child(
    n_racks: int, sites: int, seed: int, time_limit: float, workers: int, timeout: float,
    decompose: str = "off",
) -> Measure:
    """`measure` in a fresh interpreter; a crash or a timeout is a failure."""
    with tempfile.TemporaryDirectory(prefix="rackplan-scale-") as tmp:
        out = Path(tmp) / "measure.json"
        cmd = [
            sys.executable, str(Path(__file__).resolve()), "--child", str(out),
            "--sizes", str(n_racks), "--sites", str(sites), "--seed", str(seed),
            "--time-limit", str(time_limit), "--workers", str(workers),
            "--decompose", decompose,
        ]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return Measure(n_racks, sites, failures=[f"child still running after {timeout:g} s"])
        if proc.returncode != 0 or not out.is_file():
            return Measure(
                n_racks, sites, failures=[f"child exited with code {proc.returncode}"]
            )
        raw = json.loads(out.read_text(encoding="utf-8"))
    return Measure(**raw)


def judge(m: Measure) -> bool | None:
    """The size's target (None when it has none or there is no schedule to judge)."""
    target = TARGETS.get(m.racks)
    if target is None:
        return None
    if not m.have_first or m.rss_peak is None:
        return False
    if m.first_s > target.seconds:
        return False
    return target.memory is None or m.rss_peak <= target.memory


def phase_row(m: Measure) -> list[str]:
    """Where a decomposed solve's time went (from its solve log)."""
    log = m.solve_log
    alloc = next(e for e in log if e["phase"] == "allocate")
    join = next((e for e in log if e["phase"] == "join"), {})
    check = next((e for e in log if e["phase"] == "check"), {})
    origin = "allocation" if check.get("kept") else "dispatch"
    sites = [e for e in log if str(e["phase"]).startswith("site ")]
    repair = sum(e["seconds"] for e in log if str(e["phase"]).startswith("repair ")
                 and ":" not in str(e["phase"]))
    polish = sum(e["seconds"] for e in log if e["phase"] == "lns")
    parts = join.get("parts_seconds")
    known = alloc["seconds"] + (parts or 0.0) + join.get("seconds", 0.0) + repair + polish
    rest = None if m.solve_s is None else m.solve_s - known
    return [
        fmt_int(m.racks), fmt_float(alloc["seconds"]), fmt_float(alloc.get("build_seconds")),
        fmt_float(alloc.get("solve_seconds")), str(alloc.get("status", MISSING)),
        fmt_int(alloc.get("rows")), fmt_int(alloc.get("columns")),
        fmt_int(check.get("objective")), origin, fmt_float(parts),
        ", ".join(f"{e['phase'][5:]} {e['racks']} racks {e['seconds']:.0f} s "
                  f"{fmt_int(e.get('start'))} -> {fmt_int(e['objective'])}" for e in sites),
        fmt_float(join.get("seconds"), 2), fmt_int(join.get("objective")), fmt_float(repair),
        fmt_float(polish), fmt_float(rest),
    ]


def time_row(m: Measure) -> list[str]:
    return [
        fmt_int(m.racks), str(m.sites), fmt_int(m.orders), fmt_int(m.ops),
        fmt_float(m.generate_s, 2), fmt_float(m.load_s, 2), fmt_float(m.compile_s, 2),
        fmt_float(m.dispatch_s, 2), str(m.horizons), fmt_float(m.build_s, 2),
        fmt_float(m.validate_s, 2), fmt_float(m.first_s, 2),
    ]


def result_row(m: Measure) -> list[str]:
    target = TARGETS.get(m.racks)
    return [
        fmt_int(m.racks), fmt_int(m.dispatch_wt), fmt_int(m.final_wt), fmt_int(m.bound),
        m.status, m.source, fmt_float(m.solve_s), fmt_float(m.solve_validate_s, 2),
        _mb(m.rss_first), _mb(m.rss_peak), "no" if m.failures else "yes",
        target.describe() if target else MISSING, verdict(judge(m)),
    ]


def _mb(n: int | None) -> str:
    return MISSING if n is None else f"{n / MB:,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scale benchmark and print the tables; the exit code (see the module doc)."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(ap, time_limit=120.0, workers=2)
    ap.add_argument(
        "--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N[,N]",
        help="rack counts (default " + ",".join(map(str, DEFAULT_SIZES)) + ")",
    )
    ap.add_argument(
        "--sites", type=int, default=None,
        help="sites per instance (default 4 up to 3,000 racks, 5 above)",
    )
    ap.add_argument(
        "--timeout", type=float, default=None, metavar="S",
        help="give up on a child after this many seconds (default time limit + 900)",
    )
    ap.add_argument(
        "--decompose", choices=("off", "on", "auto"), default="off",
        help="solve site by site: off (default), on, or auto (as solve decides)",
    )
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.sites is not None and not 1 <= args.sites <= 8:
        ap.error("--sites must be between 1 and 8")

    if args.child is not None:  # the child: one size, figures as JSON to the given file
        n = args.sizes[0]
        mode = {"off": False, "on": True, "auto": None}[args.decompose]
        m = measure(n, args.sites or default_sites(n), args.seed, args.time_limit, args.workers,
                    mode)
        args.child.write_text(json.dumps(asdict(m)), encoding="utf-8")
        return 0

    timeout = args.timeout if args.timeout is not None else args.time_limit + 900
    results = []
    for i, n in enumerate(args.sizes, start=1):
        sites = args.sites or default_sites(n)
        progress(f"[{i}/{len(args.sizes)}] {n} racks, {sites} sites ...")
        m = run_child(n, sites, args.seed, args.time_limit, args.workers, timeout,
                      args.decompose)
        results.append(m)
        progress(
            f"[{i}/{len(args.sizes)}] {n} racks: first schedule {m.first_s:.2f} s, final WT "
            f"{fmt_int(m.final_wt)}, peak {_mb(m.rss_peak)} MB"
            + (f" FAILED: {'; '.join(m.failures)}" if m.failures else "")
        )

    print(
        f"Scale: {STEPS} routing steps, time limit {args.time_limit:g} s, {args.workers} "
        f"workers, seed {args.seed}, decompose {args.decompose}; one fresh process per "
        "instance\n"
    )
    print_table(
        "Time to the first validated schedule (dispatch path, seconds)", TIME_COLUMNS,
        [time_row(m) for m in results], markdown=args.markdown,
    )
    print_table(
        "Solve at the time limit, memory and targets (WT = weighted tardiness, minutes)",
        RESULT_COLUMNS, [result_row(m) for m in results], markdown=args.markdown,
    )
    decomposed = [m for m in results if m.solve_log]
    if decomposed:
        print_table(
            "Where the decomposed solve's time went (seconds; per-site: wall clock of the "
            "parts, the sites' own seconds in the parts column)", PHASE_COLUMNS,
            [phase_row(m) for m in decomposed], markdown=args.markdown,
        )
        for m in decomposed:
            if m.racks == 10000 and m.final_wt is not None and m.dispatch_wt:
                ratio = m.final_wt / m.dispatch_wt
                met = "met" if ratio <= 0.5 else "not met"
                print(f"10,000 racks: final / dispatch weighted tardiness {ratio:.2f} "
                      f"(target <= 0.5): {met}")
        print()
    overruns = [
        f"{fmt_int(m.racks)} racks: solve took {m.solve_s:.1f} s for a {args.time_limit:g} s "
        f"time limit (the dispatch path alone took {m.first_s:.1f} s)"
        for m in results
        if m.solve_s is not None and m.solve_s > args.time_limit + OVERRUN_SLACK
    ]
    if overruns:
        print("Time limit overruns:")
        print("\n".join(f"  {line}" for line in overruns))
        print()
    return report_failures([f"{m.racks} racks: {f}" for m in results for f in m.failures])


if __name__ == "__main__":
    sys.exit(main())
