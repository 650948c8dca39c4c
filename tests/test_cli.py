"""Tests of the rackplan command line (SPEC section 4) in solver.cli."""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from solver.cli import main
from solver.problem import ProblemError, load_problem
from solver.tuning import Tuning

BENCH = Path("/work/shared/bench")
MK01 = BENCH / "fjsp" / "brandimarte" / "mk01.fjs"
FT06 = BENCH / "jssp" / "fisher-thompson" / "ft06.txt"

TINY: dict[str, Any] = {
    "name": "tiny",
    "horizon_start": "2026-01-05T00:00:00Z",
    "sites": [{"id": "S", "timezone": "UTC"}],
    "resources": [
        {"id": "A1", "site": "S", "kind": "assembly"},
        {"id": "T1", "site": "S", "kind": "test"},
    ],
    "products": [
        {
            "id": "P",
            "routing": [
                {"op": "assembly", "kind": "assembly", "duration_min": 30},
                {"op": "test", "kind": "test", "duration_min": 45},
            ],
        }
    ],
    "orders": [{"id": "SO-1", "product": "P", "quantity": 1, "due": "2026-01-06T00:00:00Z"}],
}


def _item(
    op: str, group: str, start: str, end: str, start_min: int, end_min: int
) -> dict[str, Any]:
    deps = [] if op == "assembly" else ["SO-1/1/assembly"]
    return {
        "id": f"SO-1/1/{op}",
        "group": group,
        "order": "SO-1",
        "unit": 1,
        "op": op,
        "product": "P",
        "site": "S",
        "start": start,
        "end": end,
        "start_min": start_min,
        "end_min": end_min,
        "depends_on": deps,
    }


TINY_SCHEDULE: dict[str, Any] = {
    "status": "FEASIBLE",
    "objective": "tardiness",
    "objective_value": 0,
    "lower_bound": 0,
    "gap": 0.0,
    "solve_seconds": 0.0,
    "kpis": {
        "orders": 1,
        "on_time": 1,
        "total_weighted_tardiness_min": 0,
        "makespan_min": 75,
        "utilization": {"A1": 0.4, "T1": 0.6},
    },
    "orders": [
        {
            "id": "SO-1",
            "delivery": "2026-01-05T01:15:00Z",
            "due": "2026-01-06T00:00:00Z",
            "tardiness_min": 0,
            "sites": ["S"],
        }
    ],
    "groups": [
        {"id": "A1", "site": "S", "kind": "assembly"},
        {"id": "T1", "site": "S", "kind": "test"},
    ],
    "items": [
        _item("assembly", "A1", "2026-01-05T00:00:00Z", "2026-01-05T00:30:00Z", 0, 30),
        _item("test", "T1", "2026-01-05T00:30:00Z", "2026-01-05T01:15:00Z", 30, 75),
    ],
}


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _tiny(tmp_path: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    data = copy.deepcopy(TINY)
    if change is not None:
        change(data)
    return _write(tmp_path / "problem.json", data)


def _assert_input_error(code: int, err: str, *needles: str) -> None:
    """Exit 2, every stderr line prefixed, each needle present, no traceback."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines
    assert all(line.startswith("rackplan: error: ") for line in lines), err
    for needle in needles:
        assert needle in err, err


# ---- invalid input: exit 2, a message naming the fault, never a traceback ----------------


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


BAD_PROBLEMS = [
    pytest.param(
        _set(("orders", 0, "product"), "NOPE"), ["order 'SO-1'", "product 'NOPE'"], id="product"
    ),
    pytest.param(
        _set(("orders", 0, "due"), "2026-01-06T00:00:00"),
        ["orders[0] (id 'SO-1').due", "no UTC offset"],
        id="naive-datetime",
    ),
    pytest.param(
        _set(("orders", 0, "quantity"), 0),
        ["orders[0] (id 'SO-1').quantity", "greater than or equal to 1"],
        id="quantity-0",
    ),
    pytest.param(
        _set(("sites", 0, "timezone"), "Mars/Olympus"),
        ["sites[0] (id 'S').timezone", "'Mars/Olympus' is not a known IANA time zone"],
        id="timezone",
    ),
]


@pytest.mark.parametrize(("change", "needles"), BAD_PROBLEMS)
@pytest.mark.parametrize("command", ["solve", "validate"])
def test_invalid_problem_exits_2_naming_the_fault(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], None],
    needles: list[str],
    command: str,
) -> None:
    """A problem load_problem rejects exits 2 with the faulty id and field on stderr."""
    problem = _tiny(tmp_path, change)
    schedule = _write(tmp_path / "schedule.json", TINY_SCHEDULE)
    argv = (
        ["solve", str(problem)] if command == "solve" else ["validate", str(problem), str(schedule)]
    )
    code = main(argv)
    out, err = capsys.readouterr()
    _assert_input_error(code, err, str(problem), *needles)
    assert out == ""


def test_every_problem_fault_is_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several faults give several prefixed stderr lines, not only the first."""

    def change(data: dict[str, Any]) -> None:
        data["orders"][0]["quantity"] = 0
        data["sites"][0]["timezone"] = "Nowhere/Land"

    code = main(["solve", str(_tiny(tmp_path, change))])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "quantity", "Nowhere/Land")
    assert len(err.splitlines()) == 2


def test_missing_problem_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A problem file that does not exist exits 2 naming the file."""
    missing = tmp_path / "nope.json"
    code = main(["solve", str(missing)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, str(missing), "no such file")


def test_directory_as_problem_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory given as the problem file exits 2 saying it is a directory."""
    code = main(["solve", str(tmp_path)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "is a directory")


def test_bad_json_problem_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A problem file that is not JSON exits 2 with the JSON error's line."""
    path = tmp_path / "p.json"
    path.write_text('{"name": "x",\n  "sites": [}\n', encoding="utf-8")
    code = main(["solve", str(path)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "the problem is not valid JSON", "line 2")


def test_non_utf8_problem_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A binary problem file exits 2 saying it is not UTF-8 text."""
    path = tmp_path / "p.json"
    path.write_bytes(b"\xff\xfe\x00junk")
    code = main(["solve", str(path)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "not UTF-8")


def test_problem_not_an_object_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON array as the problem exits 2 saying it must be an object."""
    code = main(["solve", str(_write(tmp_path / "p.json", [1, 2]))])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "must be a JSON object")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["frobnicate"], "invalid choice"),
        (["solve"], "required"),
        (["solve", "p.json", "--time-limit", "-3"], "positive"),
        (["solve", "p.json", "--workers", "0"], "at least 1"),
        (["solve", "p.json", "--objective", "profit"], "invalid choice"),
        (["import", "csv", "f.txt"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """Unknown commands and bad option values exit 2 with argparse's rackplan: error line."""
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines()[-1].startswith("rackplan: error: ")
    assert needle in err
    assert "Traceback" not in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints the usage naming the subcommands and exits 0."""
    assert main(["--help"]) == 0
    out, _ = capsys.readouterr()
    assert "solve" in out and "validate" in out and "import" in out


# ---- import ------------------------------------------------------------------------------


def test_import_fjsp_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """import fjsp writes a loadable makespan problem of the bench file to stdout."""
    assert main(["import", "fjsp", str(MK01)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    problem = load_problem(json.loads(out))
    assert problem.name == "mk01"
    assert problem.objective == "makespan"
    assert len(problem.resources) == 6
    assert len(problem.orders) == 10


def test_import_jssp_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """import jssp -o writes the problem file and nothing to stdout."""
    out_path = tmp_path / "ft06.json"
    assert main(["import", "jssp", str(FT06), "-o", str(out_path)]) == 0
    out, _ = capsys.readouterr()
    assert out == ""
    problem = load_problem(out_path)
    assert sum(len(p.routing) for p in problem.products) == 36


def test_import_malformed_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed benchmark file exits 2 naming the file, the line and the fault."""
    path = tmp_path / "bad.fjs"
    path.write_text("1 2\n1 1 3 5\n", encoding="utf-8")
    code = main(["import", "fjsp", str(path)])
    out, err = capsys.readouterr()
    _assert_input_error(code, err, str(path), "line 2", "machine 3 is out of range")
    assert out == ""


def test_import_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A benchmark file that does not exist exits 2."""
    code = main(["import", "jssp", str(tmp_path / "none.txt")])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "no such file")


def test_import_to_unwritable_output_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output path that is a directory exits 2 with a cannot-write message."""
    code = main(["import", "jssp", str(FT06), "-o", str(tmp_path)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "cannot write")


def test_installed_console_script_imports(tmp_path: Path) -> None:
    """The installed rackplan script runs import fjsp and exits 0 with a loadable file."""
    script = Path(sys.executable).parent / "rackplan"
    exe = str(script) if script.exists() else shutil.which("rackplan")
    assert exe is not None, "the rackplan console script is not installed"
    out_path = tmp_path / "mk01.json"
    run = subprocess.run(
        [exe, "import", "fjsp", str(MK01), "-o", str(out_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert load_problem(out_path).name == "mk01"
    bad = subprocess.run(
        [exe, "solve", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("rackplan: error: ")
    assert "Traceback" not in bad.stderr


# ---- validate ----------------------------------------------------------------------------


def test_validate_schedule_not_json_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schedule file that is not JSON exits 2 naming the schedule."""
    sched = tmp_path / "s.json"
    sched.write_text("status: FEASIBLE\n", encoding="utf-8")
    code = main(["validate", str(_tiny(tmp_path)), str(sched)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, str(sched), "the schedule is not valid JSON")


def test_validate_schedule_not_object_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schedule that is a JSON list exits 2."""
    sched = _write(tmp_path / "s.json", [])
    code = main(["validate", str(_tiny(tmp_path)), str(sched)])
    _, err = capsys.readouterr()
    _assert_input_error(code, err, "must be a JSON object")


def test_validate_valid_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A schedule obeying every rule prints 'valid' and exits 0."""
    pytest.importorskip("solver.validate")
    sched = _write(tmp_path / "s.json", TINY_SCHEDULE)
    code = main(["validate", str(_tiny(tmp_path)), str(sched)])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "valid\n", "")


def test_validate_invalid_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A test step starting before its assembly ends exits 1, one stdout line per violation."""
    validate_mod = pytest.importorskip("solver.validate")
    broken = copy.deepcopy(TINY_SCHEDULE)
    test_item = broken["items"][1]
    test_item.update(
        start="2026-01-05T00:10:00Z", end="2026-01-05T00:55:00Z", start_min=10, end_min=55
    )
    problem_path = _tiny(tmp_path)
    code = main(["validate", str(problem_path), str(_write(tmp_path / "s.json", broken))])
    out, err = capsys.readouterr()
    expected = validate_mod.validate(load_problem(problem_path), broken)
    assert code == 1
    assert expected
    assert out.splitlines() == expected
    assert out != "valid\n"
    assert err == ""


# ---- solve: exit codes and progress with a stand-in solver --------------------------------


@dataclass
class _FakeProgress:
    elapsed: float
    objective: float | None
    bound: float | None
    phase: str


def _fake_solver(
    monkeypatch: pytest.MonkeyPatch, schedule: dict[str, Any], calls: list[dict[str, Any]]
) -> None:
    """Install a stand-in solver.solve that records SolveParams and reports progress."""

    class SolveParams:
        def __init__(self, **kwargs: Any) -> None:
            calls.append(kwargs)
            self.progress = kwargs.get("progress")

    def solve(problem: Any, params: SolveParams) -> dict[str, Any]:
        if params.progress is not None:
            for i in range(50):
                params.progress(_FakeProgress(i * 0.01, 100.0 - i, 0.0, "cp-sat"))
        return copy.deepcopy(schedule)

    def solve_or_raise(problem: Any, params: SolveParams) -> dict[str, Any]:
        if "error" in schedule:
            raise ProblemError([str(schedule["error"])])
        return solve(problem, params)

    module = types.ModuleType("solver.solve")
    module.SolveParams = SolveParams  # type: ignore[attr-defined]
    module.solve = solve_or_raise  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "solver.solve", module)


def test_solve_passes_options_and_throttles_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Options reach SolveParams; 50 quick progress reports print one line; exit 0."""
    calls: list[dict[str, Any]] = []
    _fake_solver(monkeypatch, TINY_SCHEDULE, calls)
    argv = ["solve", str(_tiny(tmp_path)), "--time-limit", "2.5", "--workers", "3"]
    code = main([*argv, "--seed", "7", "--objective", "makespan"])
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == TINY_SCHEDULE
    (kwargs,) = calls
    assert {k: v for k, v in kwargs.items() if k != "progress"} == {
        "time_limit": 2.5,
        "workers": 3,
        "seed": 7,
        "objective": "makespan",
    }
    assert callable(kwargs["progress"])
    progress_lines = [line for line in err.splitlines() if line.startswith("[")]
    assert progress_lines == ["[    0.0s] cp-sat   best 100  bound 0"]


def test_solve_quiet_prints_nothing_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--quiet passes no progress callback and leaves stderr empty; -o writes the file."""
    calls: list[dict[str, Any]] = []
    _fake_solver(monkeypatch, TINY_SCHEDULE, calls)
    out_path = tmp_path / "out.json"
    code = main(["solve", str(_tiny(tmp_path)), "--quiet", "-o", str(out_path)])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "", "")
    assert calls == [{}]
    assert json.loads(out_path.read_text(encoding="utf-8")) == TINY_SCHEDULE


@pytest.mark.parametrize("status", ["INFEASIBLE", "UNKNOWN"])
def test_solve_without_schedule_exits_1_with_reasons(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    status: str,
) -> None:
    """An INFEASIBLE or UNKNOWN result exits 1, prints each reason on stderr, still writes it."""
    empty = {
        "status": status,
        "reasons": ["order 'SO-1' cannot fit.", "resource 'T1' is down."],
        "items": [],
    }
    _fake_solver(monkeypatch, empty, [])
    code = main(["solve", str(_tiny(tmp_path)), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["status"] == status
    assert err.splitlines() == [
        "rackplan: error: order 'SO-1' cannot fit.",
        "rackplan: error: resource 'T1' is down.",
    ]


def test_solve_problem_error_from_solver_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ProblemError raised by the solver itself is invalid input: exit 2, no traceback."""
    _fake_solver(monkeypatch, {"error": "order 'SO-1': step 'test' fits no window"}, [])
    code = main(["solve", str(_tiny(tmp_path)), "--quiet"])
    out, err = capsys.readouterr()
    _assert_input_error(code, err, "order 'SO-1': step 'test' fits no window")
    assert out == ""


def test_solve_tuning_file_reaches_solve_params(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--tuning FILE: the file's values reach SolveParams as a Tuning, the rest default."""
    calls: list[dict[str, Any]] = []
    _fake_solver(monkeypatch, TINY_SCHEDULE, calls)
    tuning = tmp_path / "fast.toml"
    tuning.write_text("sequence_share = 0.5\ntabu_stall = 100\n", encoding="utf-8")
    code = main(["solve", str(_tiny(tmp_path)), "--quiet", "--tuning", str(tuning)])
    capsys.readouterr()
    assert code == 0
    (kwargs,) = calls
    assert kwargs["tuning"] == Tuning(sequence_share=0.5, tabu_stall=100)


def test_solve_bad_tuning_file_exits_2_with_every_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tuning file with an unknown key and a wrong type exits 2 before solving, each
    fault on its own line naming the file and the key, with the problem's faults too."""
    calls: list[dict[str, Any]] = []
    _fake_solver(monkeypatch, TINY_SCHEDULE, calls)
    tuning = tmp_path / "bad.toml"
    tuning.write_text('no_such_value = 1\nlns_grow = "fast"\n', encoding="utf-8")
    problem = _tiny(tmp_path, _set(("orders", 0, "quantity"), 0))
    code = main(["solve", str(problem), "--tuning", str(tuning)])
    out, err = capsys.readouterr()
    _assert_input_error(code, err, f"{tuning}: 'no_such_value': not a tuning value",
                        f"{tuning}: 'lns_grow': expected a number > 0", "quantity")
    assert len(err.splitlines()) == 3
    assert out == "" and calls == []


# ---- solve: the real solver ----------------------------------------------------------------


def test_solve_tiny_problem_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real solver makes the tiny problem's optimal 75-minute schedule, which validates."""
    pytest.importorskip("solver.solve")
    validate_mod = pytest.importorskip("solver.validate")
    problem_path = _tiny(tmp_path)
    out_path = tmp_path / "schedule.json"
    argv = ["solve", str(problem_path), "-o", str(out_path), "--time-limit", "10"]
    code = main([*argv, "--workers", "1", "--seed", "1", "--objective", "makespan"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    schedule = json.loads(out_path.read_text(encoding="utf-8"))
    assert schedule["status"] == "OPTIMAL"
    assert schedule["objective"] == "makespan"
    assert schedule["objective_value"] == 75
    assert len(schedule["items"]) == 2
    assert validate_mod.validate(load_problem(problem_path), schedule) == []


def test_solve_infeasible_problem_for_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two fixed steps overlapping on a capacity-1 resource: exit 1, reasons on stderr."""
    pytest.importorskip("solver.solve")

    def change(data: dict[str, Any]) -> None:
        data["orders"][0]["quantity"] = 2
        data["fixed"] = [
            {"order": "SO-1", "unit": u, "op": "assembly", "resource": "A1", "start": s, "end": e}
            for u, s, e in [
                (1, "2026-01-05T00:00:00Z", "2026-01-05T00:30:00Z"),
                (2, "2026-01-05T00:10:00Z", "2026-01-05T00:40:00Z"),
            ]
        ]

    code = main(["solve", str(_tiny(tmp_path, change)), "--time-limit", "10", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    schedule = json.loads(out)
    assert schedule["status"] == "INFEASIBLE"
    assert schedule["items"] == []
    assert schedule["reasons"]
    assert err.splitlines() == [f"rackplan: error: {r}" for r in schedule["reasons"]]
    assert "A1" in err


class _ClosedPipe(io.StringIO):
    """A stdout whose reader has gone away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_stdout_is_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the reader of stdout goes away (`| head`) main returns 141 without a traceback."""
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main(["import", "jssp", str(FT06)])
    _, err = capsys.readouterr()
    assert code == 141
    assert err == ""
