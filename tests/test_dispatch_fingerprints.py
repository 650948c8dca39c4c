"""The dispatch heuristic's schedules are those recorded in bench/dispatch-baseline.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import dispatch_fingerprints as fp

BASELINE = Path(fp.__file__).with_name("dispatch-baseline.json")
BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"


def test_fingerprints_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    """Every recorded pass (rules, best of them, repairs) gives the recorded placement."""
    if not (BENCH / "bks.csv").exists():
        pytest.skip(f"the shared bench is not at {BENCH}")
    code = fp.main(["--bench-dir", str(BENCH), "--check", str(BASELINE)])
    out = capsys.readouterr().out
    assert "62 instances" in out
    assert code == 0, out
