"""bench/gantt.py runs on a small instance and prints its table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not installed
    sys.path.insert(0, str(ROOT))

from bench import gantt  # noqa: E402


def test_gantt_bench_prints_a_row_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert gantt.main(["--racks", "10", "20", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "Gantt data" in out
    rows = [line for line in out.splitlines() if line.strip().startswith(("10", "20"))]
    assert [r.split()[:2] for r in rows] == [["10", "40"], ["20", "80"]]


def test_gantt_bench_refuses_nonsense() -> None:
    with pytest.raises(SystemExit) as e:
        gantt.main(["--repeat", "0"])
    assert e.value.code == 2
