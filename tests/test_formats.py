"""Tests of the benchmark importers in solver.formats.benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solver.formats.benchmarks import HORIZON_START, read_fjsp, read_jssp
from solver.problem import Objective, ProblemError, load_problem

BENCH = Path("/work/shared/bench")
FJSP_FILES = sorted(BENCH.glob("fjsp/*/*.fjs"))
JSSP_FILES = sorted(BENCH.glob("jssp/*/*.txt"))


def _rows(path: Path) -> list[list[int]]:
    """The non-blank lines of a bench file as integer rows (header's third number dropped)."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [[int(t) for t in rows[0][:2]]] + [[int(t) for t in r] for r in rows[1:]]


def _fjsp_op_counts(path: Path) -> list[int]:
    """Operations per job, counted independently of the importer."""
    return [row[0] for row in _rows(path)[1:]]


# ---- every shared bench file ------------------------------------------------------------


def test_bench_files_are_present() -> None:
    """The shared bench holds FJSP and JSSP files to test against."""
    assert len(FJSP_FILES) >= 30
    assert len(JSSP_FILES) >= 23


@pytest.mark.parametrize("path", FJSP_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fjsp_bench_file_imports_and_loads(path: Path) -> None:
    """Each FJSP bench file imports to a problem load_problem accepts, with its op counts."""
    data = read_fjsp(path.read_text(), path.stem)
    problem = load_problem(json.loads(json.dumps(data)))
    n_jobs, n_machines = _rows(path)[0]
    assert problem.objective is Objective.MAKESPAN
    assert [r.id for r in problem.resources] == [f"M{i}" for i in range(1, n_machines + 1)]
    assert [o.id for o in problem.orders] == [f"J{j}" for j in range(1, n_jobs + 1)]
    assert [len(p.routing) for p in problem.products] == _fjsp_op_counts(path)


@pytest.mark.parametrize("path", JSSP_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_jssp_bench_file_imports_and_loads(path: Path) -> None:
    """Each JSSP/Taillard bench file imports and loads, one step per pair, one machine each."""
    data = read_jssp(path.read_text(), path.stem)
    problem = load_problem(json.loads(json.dumps(data)))
    rows = _rows(path)
    n_jobs, n_machines = rows[0]
    assert len(problem.resources) == n_machines
    assert len(problem.orders) == n_jobs
    for product, row in zip(problem.products, rows[1:], strict=True):
        assert len(product.routing) == len(row) // 2
        for step, (machine, duration) in zip(
            product.routing, zip(row[::2], row[1::2], strict=True), strict=True
        ):
            assert step.alternatives is not None
            assert [(a.resource, a.duration_min) for a in step.alternatives] == [
                (f"M{machine + 1}", duration)
            ]


# ---- exact shape on small inputs ---------------------------------------------------------

FJSP_SMALL = "2\t3\t1.5\n2  2 1 5 3 4  1 2 7 \n1 1 3 2\n\n"


def test_fjsp_small_file_gives_the_exact_problem() -> None:
    """A two-job FJSP file gives the documented site, resources, products and orders."""
    data = read_fjsp(FJSP_SMALL, "tiny")
    assert data == {
        "name": "tiny",
        "horizon_start": HORIZON_START,
        "sites": [{"id": "S", "timezone": "UTC", "shifts": []}],
        "resources": [
            {"id": f"M{m}", "site": "S", "kind": "machine", "capacity": 1} for m in (1, 2, 3)
        ],
        "products": [
            {
                "id": "J1",
                "routing": [
                    {
                        "op": "o1",
                        "alternatives": [
                            {"resource": "M1", "duration_min": 5},
                            {"resource": "M3", "duration_min": 4},
                        ],
                    },
                    {"op": "o2", "alternatives": [{"resource": "M2", "duration_min": 7}]},
                ],
            },
            {
                "id": "J2",
                "routing": [{"op": "o1", "alternatives": [{"resource": "M3", "duration_min": 2}]}],
            },
        ],
        "orders": [
            {"id": "J1", "product": "J1", "quantity": 1, "due": HORIZON_START, "weight": 1},
            {"id": "J2", "product": "J2", "quantity": 1, "due": HORIZON_START, "weight": 1},
        ],
        "objective": "makespan",
    }
    load_problem(data)


def test_fjsp_header_without_average_is_accepted() -> None:
    """The third number of the FJSP first line is optional."""
    data = read_fjsp("1 2\n1 1 2 9\n", "x")
    assert data["products"][0]["routing"][0]["alternatives"] == [
        {"resource": "M2", "duration_min": 9}
    ]


def test_jssp_machine_zero_is_m1() -> None:
    """JSSP machines are numbered from 0 in the file and become M1.. in routing order."""
    data = read_jssp("1 3\n2 4 0 5 1 6\n", "x")
    steps = data["products"][0]["routing"]
    assert [s["op"] for s in steps] == ["o1", "o2", "o3"]
    assert [s["alternatives"] for s in steps] == [
        [{"resource": "M3", "duration_min": 4}],
        [{"resource": "M1", "duration_min": 5}],
        [{"resource": "M2", "duration_min": 6}],
    ]
    load_problem(data)


def test_crlf_tabs_and_blank_lines_are_tolerated() -> None:
    """Windows line ends, tabs, leading/trailing blanks and blank lines do not matter."""
    text = "\r\n  2\t2 \r\n\r\n0\t3  1 4\t\r\n\r\n 1 2 0 1   \r\n\r\n"
    data = read_jssp(text, "x")
    assert [len(p["routing"]) for p in data["products"]] == [2, 2]
    load_problem(data)


# ---- malformed input --------------------------------------------------------------------

FJSP_BAD = [
    ("", "the FJSP file is empty"),
    ("  \n\n", "the FJSP file is empty"),
    ("2\n1 1 1 3\n", "line 1: the first line has 1 number"),
    ("1 2 3 4\n1 1 1 3\n", "line 1: the first line has 4 numbers"),
    ("x 2\n1 1 1 3\n", "line 1: the number of jobs 'x' is not a whole number"),
    ("1 0\n1 1 1 3\n", "line 1: the number of machines must be at least 1"),
    ("1 2 avg\n1 1 1 3\n", "line 1: the average number of alternatives 'avg' is not a number"),
    ("2 2\n1 1 1 3\n", "line 1 announces 2 jobs but the file has 1 job line"),
    ("1 2\n1 1 1 3\n1 1 1 3\n", "line 3: unexpected line after the 1 jobs"),
    ("1 2\n1 1 3 3\n", "line 2: job 1 operation 1: machine 3 is out of range 1..2"),
    ("1 2\n1 1 0 3\n", "line 2: job 1 operation 1: machine 0 is out of range 1..2"),
    ("1 2\n1 1 1 0\n", "line 2: job 1 operation 1: duration 0 must be at least 1 minute"),
    ("1 2\n1 1 1 2.5\n", "line 2: job 1 operation 1: duration '2.5' is not a whole number"),
    ("1 2\n1 1 a 2\n", "line 2: job 1 operation 1: machine 'a' is not a whole number"),
    ("1 2\n2 1 1 3\n", "line 2: job 1 announces 2 operations but the line ends after 1"),
    ("1 2\n1 2 1 3\n", "line 2: job 1 operation 1 announces 2 machine/duration pairs"),
    ("1 2\n1 1 1 3 7\n", "line 2: job 1 has 1 number after its 1 operation"),
    ("1 2\n0\n", "line 2: job 1: the number of operations must be at least 1"),
    ("1 2\n1 0\n", "line 2: job 1 operation 1: the number of machines must be at least 1"),
    ("1 2\n1 2 1 3 1 4\n", "line 2: job 1 operation 1: machine 1 is listed twice"),
]


@pytest.mark.parametrize(("text", "message"), FJSP_BAD)
def test_fjsp_malformed_input_names_line_and_fault(text: str, message: str) -> None:
    """Malformed FJSP input raises ProblemError naming the line number and the fault."""
    with pytest.raises(ProblemError) as exc:
        read_fjsp(text, "bad")
    assert any(message in e for e in exc.value.errors), exc.value.errors


JSSP_BAD = [
    ("", "the JSSP file is empty"),
    ("2 2 2\n0 1 1 1\n0 1 1 1\n", "line 1: the first line has 3 numbers"),
    ("2 2\n0 1 1 1\n", "line 1 announces 2 jobs but the file has 1 job line"),
    ("1 2\n0 1 1\n", "line 2: job 1 has 3 numbers, an odd count"),
    ("1 2\n0 1\n", "line 2: job 1 has 1 machine/duration pair, expected 2"),
    ("1 2\n0 1 2 1\n", "line 2: job 1 operation 2: machine 2 is out of range 0..1"),
    ("1 2\n0 1 1 0\n", "line 2: job 1 operation 2: duration 0 must be at least 1 minute"),
    ("1 2\n0 1 1 -4\n", "line 2: job 1 operation 2: duration -4 must be at least 1 minute"),
    ("1 2\n0 1 1 x\n", "line 2: job 1 operation 2: duration 'x' is not a whole number"),
    ("1 2\n\n0 1 1 1\n\n0 1 1 1\n", "line 5: unexpected line after the 1 jobs"),
]


@pytest.mark.parametrize(("text", "message"), JSSP_BAD)
def test_jssp_malformed_input_names_line_and_fault(text: str, message: str) -> None:
    """Malformed JSSP input raises ProblemError naming the line number and the fault."""
    with pytest.raises(ProblemError) as exc:
        read_jssp(text, "bad")
    assert any(message in e for e in exc.value.errors), exc.value.errors


def test_every_bad_line_is_reported() -> None:
    """All faulty job lines are reported together, not only the first."""
    with pytest.raises(ProblemError) as exc:
        read_jssp("3 2\n0 0 1 1\n0 1 1 1\n5 1 1 1\n", "bad")
    errors = exc.value.errors
    assert len(errors) == 2
    assert errors[0].startswith("line 2: ")
    assert errors[1].startswith("line 4: ")
