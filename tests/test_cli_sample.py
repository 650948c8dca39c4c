"""`rackplan sample`: the packaged sample problem and order files, written where the user
asks, all of them or none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.services.seed import SAMPLE_FILES, sample_file
from solver.formats.orders import read_orders
from solver.problem import load_problem


def test_writes_every_sample_file_into_a_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The files land in the directory (created), byte for byte the packaged ones, and
    stdout names each."""
    out = tmp_path / "a" / "b"
    assert main(["sample", "-o", str(out)]) == 0
    printed, err = capsys.readouterr()
    assert printed.split() == [str(out / name) for name in SAMPLE_FILES]
    assert "rackplan solve" in err
    for name in SAMPLE_FILES:
        assert (out / name).read_bytes() == sample_file(name).read_bytes()


def test_written_files_are_a_problem_and_its_order_files(tmp_path: Path) -> None:
    """sample.json is a valid problem; the order files hold ten orders for its factory."""
    assert main(["sample", "-o", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "sample.json").read_text(encoding="utf-8"))
    assert len(load_problem(data).orders) == 39
    factory = {k: data[k] for k in ("sites", "resources", "products")}
    for name, kind in (("sample-orders.csv", "csv"), ("sample-orders.xlsx", "xlsx")):
        orders = read_orders((tmp_path / name).read_bytes(), kind, factory=factory)
        assert len(orders) == 10


def test_existing_files_exit_2_naming_each_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files in the way are listed, one line each, and no file is written or changed."""
    (tmp_path / "sample.json").write_text("mine")
    (tmp_path / "sample-orders.xlsx").write_text("mine too")
    assert main(["sample", "-o", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("rackplan: error: ") for line in lines)
    assert "sample.json exists" in lines[0] and "sample-orders.xlsx exists" in lines[1]
    assert (tmp_path / "sample.json").read_text() == "mine"
    assert not (tmp_path / "sample-orders.csv").exists()


def test_force_overwrites(tmp_path: Path) -> None:
    """With --force the files already there are replaced by the packaged ones."""
    (tmp_path / "sample.json").write_text("mine")
    assert main(["sample", "-o", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "sample.json").read_bytes() == sample_file("sample.json").read_bytes()


def test_output_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    """-o naming a file, not a directory, is a clear error, not a traceback."""
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["sample", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err and "Traceback" not in err
