"""Tests of the benchmark scripts (bench/classic.py, tardiness.py, scale.py, common.py)."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not installed
    sys.path.insert(0, str(ROOT))

from bench import classic, scale, tardiness  # noqa: E402
from bench.common import Column, first_schedule, int_list, render_table  # noqa: E402
from solver.solve import solve  # noqa: E402

SHARED_BENCH = classic.DEFAULT_BENCH_DIR
needs_shared = pytest.mark.skipif(
    not (SHARED_BENCH / "bks.csv").is_file(), reason="the shared bench folder is not here"
)

# 2 jobs x 2 machines, machines numbered from 0: optimum 7 (lower bound: job 2 takes 7)
TINY_JSSP = "2 2\n0 3 1 2\n1 4 0 3\n"


def _rows(out: str, header_start: str) -> list[list[str]]:
    """The cells of the plain table whose header line starts with `header_start`."""
    lines = out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[i + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def _tiny_bench(tmp_path: Path) -> Path:
    (tmp_path / "jssp").mkdir()
    (tmp_path / "jssp" / "tiny.txt").write_text(TINY_JSSP, encoding="utf-8")
    (tmp_path / "bks.csv").write_text(
        "file,format,family,lower_bound,best_known\njssp/tiny.txt,jssp,lawrence,7,7\n",
        encoding="utf-8",
    )
    return tmp_path


def test_plain_table_is_fixed_width() -> None:
    """Plain tables pad every column to its widest cell, numbers on the right."""
    text = render_table(
        [Column("name", right=False), Column("value")], [["a", "1"], ["longer", "1,234"]]
    )
    assert text.splitlines() == [
        "name    value",
        "------  -----",
        "a           1",
        "longer  1,234",
    ]


def test_markdown_table() -> None:
    """Markdown tables have an alignment row: numbers right-aligned."""
    text = render_table([Column("name", right=False), Column("v")], [["a", "10"]], markdown=True)
    assert text.splitlines() == ["| name |  v |", "|------|---:|", "| a    | 10 |"]


def test_table_rejects_a_short_row() -> None:
    """A row with the wrong number of cells is a bug, not a silently shifted table."""
    with pytest.raises(ValueError, match="2 columns"):
        render_table([Column("a"), Column("b")], [["1"]])


def test_int_list() -> None:
    """--sizes takes comma-separated whole numbers >= 1."""
    assert int_list("150, 300,") == [150, 300]
    for bad in ("", "x", "0", "10,-2"):
        with pytest.raises(argparse.ArgumentTypeError):
            int_list(bad)


@needs_shared
def test_classic_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """mk01 and ft06 at 2 s: a row each, makespans at or above the proven bounds."""
    rc = classic.main(["--only", "mk01,ft06", "--time-limit", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = {r[0]: r for r in _rows(out, "instance  family")}
    assert set(rows) == {"mk01", "ft06"}
    for name, proven in (("mk01", 40), ("ft06", 55)):
        makespan = int(rows[name][2].replace(",", ""))
        assert makespan >= proven
        assert rows[name][7] in ("OPTIMAL", "FEASIBLE")
    fams = {r[0]: r for r in _rows(out, "family  ")}
    assert fams["brandimarte"][1] == "1/10"
    assert fams["brandimarte"][-1] in ("met (subset)", "not met (subset)")
    assert fams["fisher-thompson"][-1] == "-"  # no target for this family


def test_classic_bench_dir_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """$RACKPLAN_BENCH_DIR names the bench folder; markdown output on request."""
    monkeypatch.setenv(classic.BENCH_ENV, str(_tiny_bench(tmp_path)))
    rc = classic.main(["--time-limit", "2", "--markdown"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "| instance | family   | makespan |" in out
    assert re.search(r"\| tiny +\| lawrence +\| +7 \|", out)


def test_classic_invalid_schedule_is_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schedule the validator rejects makes the run fail (exit 1, named in FAILURES)."""
    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        schedule = solve(*args, **kwargs)
        schedule["items"] = schedule["items"][1:]  # one step missing: rule 1
        return schedule

    monkeypatch.setattr(classic, "solve", broken)
    rc = classic.main(["--bench-dir", str(_tiny_bench(tmp_path)), "--time-limit", "1"])
    out = capsys.readouterr().out
    assert rc == 1
    assert _rows(out, "instance  family")[0][-1] == "INVALID"
    assert "FAILURES (1):" in out
    assert "lawrence/tiny: invalid schedule" in out


def test_classic_unknown_instance_is_a_usage_error(tmp_path: Path) -> None:
    """--only with a name not in bks.csv stops with exit code 2."""
    with pytest.raises(SystemExit) as exc:
        classic.main(["--bench-dir", str(_tiny_bench(tmp_path)), "--only", "nope"])
    assert exc.value.code == 2


def test_tardiness_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """One 40-rack instance at 2 s: validated, solver no worse than the heuristic."""
    rc = tardiness.main(["--sizes", "40", "--time-limit", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    (row,) = _rows(out, "instance  ")
    cells = dict(zip([c.header for c in tardiness.COLUMNS], row, strict=True))
    assert cells["racks"] == "40"
    assert cells["valid"] == "yes"
    heur = float(cells["heur WT"].replace(",", ""))
    solver = float(cells["solver WT"].replace(",", ""))
    assert float(cells["LB"].replace(",", "")) <= solver <= heur
    assert cells["target"] in ("met", "not met")
    assert "Target: solver / heuristic <= 0.5 on every instance:" in out


def test_tardiness_runs_give_the_mean_and_the_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--runs 3: three solves with seeds 5, 6, 7 on the instance of seed 5; the solver's
    figure is their mean, the range their least and greatest, the target on the mean.
    (The figures are set by hand, so the validator, which would flag them, only counts.)"""
    figures = {5: 100.0, 6: 400.0, 7: 250.0}  # a mean of 250: exactly half the heuristic
    seeds: list[int] = []
    checked: list[dict[str, Any]] = []

    def fake(problem: Any, params: Any) -> dict[str, Any]:
        schedule = solve(problem, replace(params, time_limit=0.5))
        seeds.append(params.seed)
        # the figures above, as if the runs differed
        schedule["objective_value"] = figures[params.seed]
        return schedule

    def heuristic(problem: Any, seed: int) -> Any:
        got = first_schedule(problem, seed=seed)
        assert got.schedule is not None
        got.schedule["kpis"]["total_weighted_tardiness_min"] = 500.0
        return got

    monkeypatch.setattr(tardiness, "solve", fake)
    monkeypatch.setattr(tardiness, "first_schedule", heuristic)
    monkeypatch.setattr(tardiness, "validate", lambda _p, s: checked.append(s) or [])
    rc = tardiness.main(["--sizes", "30", "--seed", "5", "--runs", "3"])
    out = capsys.readouterr().out
    assert rc == 0
    assert seeds == [5, 6, 7]
    assert [s["objective_value"] for s in checked] == [100.0, 400.0, 250.0]
    (row,) = _rows(out, "instance  ")
    cells = dict(zip([c.header for c in tardiness.COLUMNS], row, strict=True))
    assert cells["instance"].startswith("racks30-seed5-")
    assert (cells["solver WT"], cells["runs"], cells["WT range"]) == ("250", "3", "100-400")
    assert cells["ratio"] == "0.500"
    assert cells["target"] == "met"
    assert "mean of 3 runs" in out


def test_tardiness_runs_below_one_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        tardiness.main(["--sizes", "30", "--runs", "0"])
    assert exc.value.code == 2


def test_scale_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """60 racks at 2 s in a child process: both tables, a validated schedule, a peak."""
    rc = scale.main(["--sizes", "60", "--time-limit", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    (timing,) = _rows(out, "racks  sites")
    times = dict(zip([c.header for c in scale.TIME_COLUMNS], timing, strict=True))
    assert times["sites"] == "4"
    assert float(times["first schedule s"]) >= float(times["dispatch s"]) > 0
    (result,) = _rows(out, "racks  dispatch WT")
    cells = dict(zip([c.header for c in scale.RESULT_COLUMNS], result, strict=True))
    assert cells["valid"] == "yes"
    assert int(cells["peak MB"].replace(",", "")) > 10
    assert cells["target"] == cells["result"] == "-"  # no target at 60 racks


def test_scale_decomposed_says_where_the_time_went(capsys: pytest.CaptureFixture[str]) -> None:
    """--decompose on: the solve goes site by site and the third table shows its phases."""
    rc = scale.main(["--sizes", "60", "--time-limit", "4", "--decompose", "on"])
    out = capsys.readouterr().out
    assert rc == 0
    (result,) = _rows(out, "racks  dispatch WT")
    cells = dict(zip([c.header for c in scale.RESULT_COLUMNS], result, strict=True))
    assert (cells["valid"], cells["source"]) == ("yes", "decompose")
    assert "Where the decomposed solve's time went" in out
    assert "allocate s  model build s  LP/MIP s" in out
