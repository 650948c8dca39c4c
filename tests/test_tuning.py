"""Tests of `solver.tuning`: the tuning object, its TOML file, and its documentation."""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import FrozenInstanceError, asdict, fields
from pathlib import Path

import pytest

from solver.tuning import Tuning, TuningError, load_tuning

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tuning.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tuning.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_overrides_the_values_it_names_and_keeps_the_others(tmp_path: Path) -> None:
    """Keys set in the file replace the defaults (a whole number where a number of
    seconds goes is fine); the patience list reads inf and "shift"; the rest stay."""
    path = write(tmp_path, 'sequence_share = 0.5\nlns_sub_time_large = 3\n'
                           'repair_patience = [inf, 240, "shift"]\ntabu_stall = 100\n')
    got = load_tuning(path)
    assert got.sequence_share == 0.5 and got.lns_sub_time_large == 3.0
    assert got.repair_patience == (math.inf, 240, None)
    assert got.tabu_stall == 100
    default = Tuning()
    changed = {"sequence_share", "lns_sub_time_large", "repair_patience", "tabu_stall"}
    assert all(getattr(got, f.name) == getattr(default, f.name)
               for f in fields(Tuning) if f.name not in changed)


def test_an_empty_file_is_the_default(tmp_path: Path) -> None:
    """No keys: exactly the default tuning."""
    assert load_tuning(write(tmp_path, "# nothing to change\n")) == Tuning()


def test_every_unknown_key_and_wrong_value_is_named_at_once(tmp_path: Path) -> None:
    """Unknown keys, wrong types and values out of range: one error per key, all of
    them, each naming the key and what it expects."""
    path = write(tmp_path, 'lns_grow = "fast"\nnot_a_key = 1\nsequence_share = 1.5\n'
                           'tabu_stall = 2.5\nlns_min_units = true\nlns_max_units = 0\n'
                           'repair_patience = [-5]\n[lns]\nsub_time = 1\n')
    with pytest.raises(TuningError) as err:
        load_tuning(path)
    assert err.value.errors == [
        "'lns_grow': expected a number > 0, got 'fast'",
        "'not_a_key': not a tuning value",
        "'sequence_share': expected a number from 0 to 1, got 1.5",
        "'tabu_stall': expected a whole number >= 1, got 2.5",
        "'lns_min_units': expected a whole number >= 1, got True",
        "'lns_max_units': expected a whole number >= 1, got 0",
        "'repair_patience': expected a list of waits: whole minutes >= 0, inf, or \"shift\", "
        "got [-5]",
        "'lns': not a tuning value",
    ]


def test_a_file_that_is_not_toml_or_not_there_is_an_error(tmp_path: Path) -> None:
    """Unreadable or unparsable files raise TuningError too, saying which."""
    with pytest.raises(TuningError, match="not valid TOML"):
        load_tuning(write(tmp_path, "x = ["))
    with pytest.raises(TuningError, match="cannot read"):
        load_tuning(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes(b"x = '\xe9'")
    with pytest.raises(TuningError, match="not UTF-8"):
        load_tuning(tmp_path / "latin1.toml")


def test_the_defaults_pass_their_own_checks() -> None:
    """Every default, written back as a file would set it, is accepted unchanged."""
    default = Tuning()
    values = asdict(default)
    values["repair_patience"] = [
        "shift" if v is None else v for v in values["repair_patience"]
    ]
    assert default.with_values(values) == default


def test_the_tuning_is_frozen_and_travels_to_helper_processes() -> None:
    """Frozen (a solve cannot change it under another) and picklable (helpers get it)."""
    t = Tuning(tabu_stall=7)
    with pytest.raises(FrozenInstanceError):
        t.tabu_stall = 8  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(t)) == t


def test_every_value_is_documented_with_its_default() -> None:
    """docs/tuning.md has a row for every field, giving its default."""
    text = DOCS.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, flags=re.MULTILINE))
    for f in fields(Tuning):
        assert f.name in rows, f.name
        shown = rows[f.name].strip()
        value = getattr(Tuning(), f.name)
        want = ("[inf, \"shift\"]" if f.name == "repair_patience" else f"{value:g}"
                if isinstance(value, float) else str(value))
        assert shown == want, (f.name, shown, want)
    assert set(rows) == {f.name for f in fields(Tuning)}
