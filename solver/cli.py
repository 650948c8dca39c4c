"""The ``rackplan`` command line (SPEC section 4): solve, validate, import, capacity, explain,
whatif, resilience.

A thin layer: it parses arguments, reads and writes files, calls the library and turns
the outcome into an exit code: 0 success, 1 infeasible / no schedule / invalid schedule,
2 invalid input. Every error goes to stderr as ``rackplan: error: ...``; bad input never
ends in a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from solver.formats.benchmarks import read_fjsp, read_jssp
from solver.problem import (
    Objective,
    Plannable,
    Problem,
    ProblemError,
    load_plannable,
    load_problem,
)
from solver.tuning import Tuning, TuningError, load_tuning

if TYPE_CHECKING:
    from solver.solve import Progress

PROG = "rackplan"
EXIT_OK = 0
EXIT_NO_SCHEDULE = 1
EXIT_INVALID = 2
SCHEDULE_STATUSES = ("OPTIMAL", "FEASIBLE")
PROGRESS_EVERY_S = 1.0

_IMPORTERS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "fjsp": read_fjsp,
    "jssp": read_jssp,
}


#: the Ray address the solves run on by default (`solver.execution`)
RAY_ENV = "RACKPLAN_RAY_ADDRESS"


class InputError(Exception):
    """Bad input found by the CLI itself; `errors` holds one message per fault."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def main(
    argv: list[str] | None = None,
    extend: Callable[[Any], None] | None = None,
) -> int:
    """Run the ``rackplan`` command line.

    Parameters
    ----------
    argv
        The arguments after the program name; ``sys.argv[1:]`` when None.
    extend
        Adds more subcommands (the service adds ``serve``); each sets ``run`` like ours.

    Returns
    -------
    int
        The exit code: 0 success, 1 no schedule (infeasible, none found) or an invalid
        schedule, 2 invalid input.
    """
    parser = _parser(extend)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help already
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except (InputError, ProblemError) as exc:
        for line in exc.errors:
            _error(line)
        return EXIT_INVALID
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # stdout closed early, e.g. `rackplan import ... | head`
        _silence_stdout()
        return 141  # what a shell reports for a program ended by SIGPIPE


# ---- arguments ----------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive number of seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return value

def _ray_option(parser: Any, what: str) -> None:
    parser.add_argument(
        "--ray", metavar="ADDRESS", default=os.environ.get(RAY_ENV) or None,
        help=f"run {what} on Ray: local (a Ray of this machine), auto (the cluster of "
        f"this machine) or ray://host:10001; default ${RAY_ENV}, else local processes")


def _backend(args: argparse.Namespace, processes: int) -> Any:
    """The execution backend of ``--ray`` (`solver.execution`); exit 2 when Ray is
    missing or cannot be reached."""
    from solver.execution import BackendError, RayBackend, backend_for

    try:
        backend = backend_for(args.ray, processes)
        if isinstance(backend, RayBackend):
            backend.start()
    except BackendError as exc:
        raise InputError([f"--ray: {exc}"]) from None
    return backend


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors read ``rackplan: error: ...`` in subcommands too."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{PROG}: error: {message}\n")


def _parser(
    extend: Callable[[Any], None] | None = None,
) -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Production scheduling optimizer for rack factories.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    solve = sub.add_parser("solve", help="solve a problem file and write the schedule")
    solve.add_argument("problem", metavar="PROBLEM.json", type=Path)
    solve.add_argument("-o", "--output", metavar="SCHEDULE.json", type=Path, help="default: stdout")
    solve.add_argument("--time-limit", metavar="S", type=_positive_float, help="seconds to search")
    solve.add_argument("--workers", metavar="N", type=_positive_int, help="solver threads")
    solve.add_argument(
        "--objective",
        choices=[o.value for o in Objective],
        help="override the problem's objective",
    )
    solve.add_argument("--seed", metavar="N", type=int, help="random seed")
    solve.add_argument(
        "--tuning", metavar="FILE.toml", type=Path,
        help="override the solver's tuning values (docs/tuning.md)",
    )
    solve.add_argument(
        "--decompose", action=argparse.BooleanOptionalAction, default=None,
        help="solve site by site after a site allocation (default: above the tuning's "
        "decompose_min_racks)",
    )
    solve.add_argument(
        "--plan-buildable", action="store_true",
        help="plan the orders that can be built and list the others in the schedule's "
        "'unplanned' section (exit 0), instead of answering INFEASIBLE (exit 1)",
    )
    _ray_option(solve, "a decomposed solve's site parts")
    solve.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    solve.set_defaults(run=_cmd_solve)

    validate = sub.add_parser("validate", help="check a schedule against every SPEC rule")
    validate.add_argument("problem", metavar="PROBLEM.json", type=Path)
    validate.add_argument("schedule", metavar="SCHEDULE.json", type=Path)
    validate.set_defaults(run=_cmd_validate)

    ex = sub.add_parser(
        "explain", help="why each late order of a schedule is late (and what would help)",
    )
    ex.add_argument("problem", metavar="PROBLEM.json", type=Path)
    ex.add_argument("schedule", metavar="SCHEDULE.json", type=Path)
    ex.add_argument("--order", metavar="ID", help="explain only this order")
    ex.add_argument(
        "--what-if", action="store_true",
        help="also try changes that would make each order on time, each checked by a "
        "re-solve (a few seconds per change)",
    )
    ex.add_argument(
        "--what-if-time", metavar="S", type=_positive_float, default=1.0,
        help="CP-SAT's deterministic seconds per re-solve of --what-if (about two processor "
        "seconds each, the same answer at any load; default 1)",
    )
    ex.add_argument("--json", action="store_true", help="the explanation as JSON")
    ex.set_defaults(run=_cmd_explain)

    imp = sub.add_parser("import", help="convert a benchmark file to a problem file")
    imp.add_argument("format", choices=sorted(_IMPORTERS))
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.add_argument("-o", "--output", metavar="PROBLEM.json", type=Path, help="default: stdout")
    imp.set_defaults(run=_cmd_import)

    cap = sub.add_parser("capacity", help="the capacity report: load, bottlenecks, late orders")
    cap.add_argument("problem", metavar="PROBLEM.json", type=Path)
    cap.add_argument("--bucket", default="week", metavar="day|week",
                     help="time buckets: day, week (default) or whole minutes")
    cap.add_argument("--schedule", metavar="SCHEDULE.json", type=Path,
                     help="a schedule of the problem: the report shows its load too")
    cap.add_argument("--allocation-time", metavar="S", type=_positive_float, default=20.0,
                     help="seconds for the allocation's model (default 20)")
    cap.add_argument("-o", "--output", metavar="REPORT.json", type=Path, help="default: stdout")
    cap.add_argument("--html", metavar="REPORT.html", type=Path,
                     help="also write the report as a page of heat maps")
    cap.set_defaults(run=_cmd_capacity)

    wi = sub.add_parser("whatif", help="solve the problem and variants of it side by side "
                        "and compare them (docs/scenarios.md)")
    wi.add_argument("problem", metavar="PROBLEM.json", type=Path)
    wi.add_argument("changes", metavar="CHANGES.json", type=Path, nargs="+",
                    help="one variant per file: a list of changes, or {name, changes}")
    wi.add_argument("-o", "--output", metavar="COMPARE.json", type=Path,
                    help="also write the comparison as JSON")
    wi.add_argument("--time-limit", metavar="S", type=_positive_float, default=10.0,
                    help="seconds per solve, the same for the base and every variant "
                    "(default 10)")
    wi.add_argument("--seed", metavar="N", type=int, default=0, help="random seed (default 0)")
    wi.add_argument("--workers", metavar="N", type=_positive_int, default=1,
                    help="CP-SAT threads per solve (default 1)")
    wi.add_argument("--jobs", metavar="N", type=_positive_int, default=1,
                    help="solves at once, each in a process of its own (default 1)")
    _ray_option(wi, "the solves")
    wi.set_defaults(run=_cmd_whatif)

    rs = sub.add_parser("resilience", help="per site, the cost of losing it for a few days: "
                        "sites ranked by the weighted tardiness their loss adds")
    rs.add_argument("problem", metavar="PROBLEM.json", type=Path)
    rs.add_argument("--days", metavar="D", type=_positive_float, default=14.0,
                    help="days each site is down from horizon_start (default 14)")
    rs.add_argument("-o", "--output", metavar="RESILIENCE.json", type=Path,
                    help="also write the answer as JSON")
    rs.add_argument("--time-limit", metavar="S", type=_positive_float, default=10.0,
                    help="seconds per solve (default 10)")
    rs.add_argument("--seed", metavar="N", type=int, default=0, help="random seed (default 0)")
    rs.add_argument("--workers", metavar="N", type=_positive_int, default=1,
                    help="CP-SAT threads per solve (default 1)")
    rs.add_argument("--jobs", metavar="N", type=_positive_int, default=1,
                    help="solves at once, each in a process of its own (default 1)")
    _ray_option(rs, "the solves")
    rs.set_defaults(run=_cmd_resilience)
    if extend is not None:
        extend(sub)
    return parser


# ---- commands -----------------------------------------------------------------------------


def _cmd_solve(args: argparse.Namespace) -> int:
    """``rackplan solve``: load, solve, write the schedule; exit 0 only with a schedule."""
    errors: list[str] = []
    try:
        plannable = _load_plannable(args.problem)
    except InputError as exc:
        errors += exc.errors
    tuning: Tuning | None = None
    if args.tuning is not None:
        try:
            tuning = load_tuning(args.tuning)
        except TuningError as exc:
            errors += [f"{args.tuning}: {e}" for e in exc.errors]
    if errors:
        raise InputError(errors)
    if plannable.unplanned and not (args.plan_buildable and plannable.problem.orders):
        return _unbuildable(plannable, args.output)
    problem = plannable.problem
    from solver.solve import SolveParams, solve  # imports ortools: only when solving

    options: dict[str, Any] = {}
    if tuning is not None:
        options["tuning"] = tuning
    if args.time_limit is not None:
        options["time_limit"] = args.time_limit
    if args.workers is not None:
        options["workers"] = args.workers
    if args.seed is not None:
        options["seed"] = args.seed
    if args.objective is not None:
        options["objective"] = Objective(args.objective)
    if args.decompose is not None:
        options["decompose"] = args.decompose
    if args.ray is not None:
        options["backend"] = _backend(args, 1)
    if not args.quiet:
        options["progress"] = _ProgressPrinter()
    schedule = solve(problem, SolveParams(**options))
    unplanned = plannable.unplanned_dicts()
    if unplanned:
        schedule["unplanned"] = unplanned
    _write_json(schedule, args.output)
    status = str(schedule.get("status"))
    if not args.quiet:
        for entry in unplanned:
            _note(f"unplanned {entry['order']} ({entry['code']}): {entry['reason']}")
        _note(_summary(schedule))
    if status in SCHEDULE_STATUSES:
        return EXIT_OK
    reasons = schedule.get("reasons") or [f"no schedule (status {status})"]
    for reason in reasons:
        _error(str(reason))
    return EXIT_NO_SCHEDULE


def _unbuildable(plannable: Plannable, output: Path | None) -> int:
    """The INFEASIBLE answer of a problem with orders it cannot build (SPEC section 4:
    exit 1), its reasons naming each order and what is at fault."""
    from solver.schedule import Status, empty_schedule

    reasons = [u.reason for u in plannable.unplanned]
    if plannable.problem.orders:
        reasons.append("--plan-buildable plans the other orders and lists these as unplanned")
    else:
        reasons.append("no order of the problem can be built")
    schedule = empty_schedule(plannable.problem, Status.INFEASIBLE, reasons, 0.0)
    schedule["kpis"]["orders"] += len(plannable.unplanned_dicts())
    _write_json(schedule, output)
    for reason in reasons:
        _error(reason)
    return EXIT_NO_SCHEDULE


def _cmd_validate(args: argparse.Namespace) -> int:
    """``rackplan validate``: print ``valid`` (exit 0) or one line per violation (exit 1)."""
    plannable = _load_plannable(args.problem)
    schedule = _read_json(args.schedule, "schedule")
    if not isinstance(schedule, dict):
        raise InputError([f"{args.schedule}: the schedule must be a JSON object"])
    from solver.validate import validate_plannable

    violations = validate_plannable(plannable, schedule)
    if not violations:
        print("valid")
        return EXIT_OK
    for violation in violations:
        print(violation)
    return EXIT_NO_SCHEDULE


def _cmd_explain(args: argparse.Namespace) -> int:
    """``rackplan explain``: the text report (or JSON) of why the late orders are late;
    exit 0 with an explanation, 2 for a bad file, an invalid schedule or an unknown order."""
    errors: list[str] = []
    problem: Problem | None = None
    schedule: Any = None
    try:
        problem = _load_plannable(args.problem).problem
    except InputError as exc:
        errors += exc.errors
    try:
        schedule = _read_json(args.schedule, "schedule")
        if not isinstance(schedule, dict):
            errors.append(f"{args.schedule}: the schedule must be a JSON object")
    except InputError as exc:
        errors += exc.errors
    if errors or problem is None:
        raise InputError(errors)
    if args.order is not None and all(o.id != args.order for o in problem.orders):
        raise InputError([f"--order: order '{args.order}' is not in {args.problem}"])
    from solver.explain import ExplainError, explain, render_text
    from solver.validate import validate

    if schedule.get("items"):
        faults = validate(problem, schedule)
        if faults:
            more = [f"... and {len(faults) - 20} more"] if len(faults) > 20 else []
            raise InputError([
                f"{args.schedule}: the schedule is not a valid schedule of {args.problem} "
                f"({len(faults)} violation{'s' if len(faults) > 1 else ''}):",
                *faults[:20], *more,
            ])
    try:
        explanation = explain(problem, schedule, args.order)
    except ExplainError as exc:
        raise InputError([f"{args.schedule}: {e}" for e in exc.errors]) from None
    if args.what_if and explanation["orders"]:
        from solver.whatif import add_what_if  # imports ortools: only when asked

        add_what_if(problem, schedule, explanation, seconds=args.what_if_time)
    if args.json:
        _write_json(explanation, None)
    else:
        sys.stdout.write(render_text(explanation))
        sys.stdout.flush()
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    """``rackplan import``: a benchmark file as a SPEC problem file."""
    text = _read_text(args.file)
    read = _IMPORTERS[args.format]
    try:
        problem = read(text, args.file.stem)
    except ProblemError as exc:
        raise InputError([f"{args.file}: {e}" for e in exc.errors]) from None
    _write_json(problem, args.output)
    return EXIT_OK


def _cmd_capacity(args: argparse.Namespace) -> int:
    """``rackplan capacity``: the capacity report as JSON (and HTML with ``--html``)."""
    from solver.planning.grid import bucket_minutes

    errors: list[str] = []
    try:
        bucket_minutes(args.bucket, "--bucket")
    except ProblemError as exc:
        errors += exc.errors
    problem: Problem | None = None
    try:
        problem = _load_problem(args.problem)
    except InputError as exc:
        errors += exc.errors
    schedule: Any = None
    if args.schedule is not None:
        try:
            schedule = _read_json(args.schedule, "schedule")
            if not isinstance(schedule, dict):
                errors.append(f"{args.schedule}: the schedule must be a JSON object")
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    assert problem is not None
    if schedule is not None:
        from solver.validate import validate

        faults = validate(problem, schedule)
        if faults:
            raise InputError([f"{args.schedule}: not a valid schedule of the problem: {f}"
                              for f in faults[:20]])
    from solver.planning.html import render
    from solver.planning.report import capacity_report

    try:
        report = capacity_report(problem, schedule, bucket=args.bucket,
                                 allocation_seconds=args.allocation_time).to_dict()
    except ProblemError as exc:
        raise InputError([f"{args.problem}: {e}" for e in exc.errors]) from None
    _write_json(report, args.output)
    if args.html is not None:
        try:
            args.html.write_text(render(report), encoding="utf-8")
        except OSError as exc:
            raise InputError([f"cannot write {args.html}: {exc.strerror or exc}"]) from None
    return EXIT_OK


def _read_variant(path: Path) -> tuple[str, Any]:
    """A CHANGES.json file: (the variant's name, its raw list of changes)."""
    data = _read_json(path, "changes")
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"name", "changes"})
        if unknown:
            raise InputError([f"{path}: {k}: unknown field (give name and changes)"
                              for k in unknown])
        name = data.get("name", path.stem)
        if not isinstance(name, str) or not name.strip():
            raise InputError([f"{path}: name: must be a non-empty text"])
        return name, data.get("changes")
    return path.stem, data


def _cmd_whatif(args: argparse.Namespace) -> int:
    """``rackplan whatif``: the base and one variant per changes file solved side by side;
    a table on stdout, the comparison as JSON with ``-o``; exit 2 naming the file, the
    change's index and field for a bad change."""
    from solver.scenario import ChangeError, load_changes

    errors: list[str] = []
    problem: Problem | None = None
    try:
        problem = _load_problem(args.problem)
    except InputError as exc:
        errors += exc.errors
    variants = []
    names: list[tuple[Path, str]] = []
    for path in args.changes:
        try:
            name, raw = _read_variant(path)
            names.append((path, name))
            variants.append((name, load_changes(raw, problem)))
        except InputError as exc:
            errors += exc.errors
        except ChangeError as exc:
            errors += [f"{path}: {e}" for e in exc.errors]
    taken = [n for _, n in names]
    errors += [f"{p}: name '{n}' is the name of another variant"
               for p, n in names if taken.count(n) > 1]
    if errors or problem is None:
        raise InputError(errors)
    from solver.resilience import Variant, what_if
    from solver.scenario import render_table

    out = what_if(problem, [Variant(n, c) for n, c in variants], time_limit=args.time_limit,
                  seed=args.seed, workers=args.workers, processes=args.jobs,
                  backend=_backend(args, args.jobs))
    if args.output is not None:
        _write_json(out, args.output)
    sys.stdout.write(render_table(out))
    sys.stdout.flush()
    return EXIT_OK


def _cmd_resilience(args: argparse.Namespace) -> int:
    """``rackplan resilience``: per site the loss of it for ``--days`` days from
    horizon_start, ranked by the weighted tardiness it adds; a table on stdout."""
    problem = _load_problem(args.problem)
    from solver.resilience import render_ranking, resilience

    out = resilience(problem, args.days, time_limit=args.time_limit, seed=args.seed,
                     workers=args.workers, processes=args.jobs,
                     backend=_backend(args, args.jobs))
    if args.output is not None:
        _write_json(out, args.output)
    sys.stdout.write(render_ranking(out))
    sys.stdout.flush()
    return EXIT_OK


# ---- files --------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The UTF-8 text of `path`; `InputError` when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise InputError([f"{path}: is a directory, not a file"]) from None
    except FileNotFoundError:
        raise InputError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise InputError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise InputError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None


def _read_json(path: Path, what: str) -> Any:
    """The parsed JSON content of `path`; `InputError` when unreadable or not JSON."""
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                f"{path}: the {what} is not valid JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}"
            ]
        ) from None
    except (ValueError, RecursionError) as exc:
        raise InputError([f"{path}: the {what} is not valid JSON: {exc}"]) from None


def _load_problem(path: Path) -> Problem:
    """The checked problem in `path`; `InputError` listing every fault otherwise."""
    data = _read_json(path, "problem")
    try:
        return load_problem(data)
    except ProblemError as exc:
        raise InputError([f"{path}: {e}" for e in exc.errors]) from None


def _load_plannable(path: Path) -> Plannable:
    """The problem in `path` with the orders it cannot build left out (and named);
    `InputError` listing every other fault."""
    data = _read_json(path, "problem")
    try:
        return load_plannable(data, require_orders=False)
    except ProblemError as exc:
        raise InputError([f"{path}: {e}" for e in exc.errors]) from None


def _write_json(data: Any, path: Path | None) -> None:
    """Write `data` as JSON to `path`, or to stdout when `path` is None."""
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        path.write_text(text, encoding="utf-8")
    except IsADirectoryError:
        raise InputError([f"cannot write {path}: is a directory"]) from None
    except OSError as exc:
        raise InputError([f"cannot write {path}: {exc.strerror or exc}"]) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (e.g. captured in tests)
        pass


# ---- messages -----------------------------------------------------------------------------


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _note(message: str) -> None:
    sys.stderr.write(f"{message}\n")


def _fmt(value: object) -> str:
    """A figure for a progress line: whole numbers without decimals, '-' for none."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


class _ProgressPrinter:
    """The solver's progress callback: one stderr line at most every second."""

    def __init__(self) -> None:
        self._last: float | None = None

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        _note(
            f"[{progress.elapsed:7.1f}s] {progress.phase:<8} best {_fmt(progress.objective)}"
            f"  bound {_fmt(progress.bound)}"
        )


def _summary(schedule: dict[str, Any]) -> str:
    """The closing stderr line of a solve: status, objective, bound, gap, time."""
    gap = schedule.get("gap")
    gap_text = f"{gap:.2%}" if isinstance(gap, int | float) else "-"
    return (
        f"{schedule.get('status')}  {schedule.get('objective')} "
        f"{_fmt(schedule.get('objective_value'))}  bound {_fmt(schedule.get('lower_bound'))}"
        f"  gap {gap_text}  {_fmt(schedule.get('solve_seconds'))}s"
    )
