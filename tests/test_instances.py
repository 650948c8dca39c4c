"""Tests of the instance generator (bench/instances.py) and the sample it makes
(data/make_sample.py, which writes the packaged app/sample/sample.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ and data/ are scripts' folders, not installed
    sys.path.insert(0, str(ROOT))

from app.services import seed  # noqa: E402
from bench.instances import dumps, generate  # noqa: E402
from data.make_sample import SAMPLE, make_sample  # noqa: E402
from solver.problem import Problem, eligible, load_problem  # noqa: E402


@pytest.fixture(scope="module")
def sample() -> Problem:
    return load_problem(SAMPLE)


def _units(problem: dict[str, Any]) -> int:
    return sum(o["quantity"] for o in problem["orders"])


def test_same_seed_same_instance() -> None:
    """Equal arguments give equal instances; another seed gives another one."""
    a = generate(300, 11)
    assert a == generate(300, 11)
    assert a != generate(300, 12)


@pytest.mark.parametrize(
    ("n_racks", "seed", "kwargs"),
    [
        (150, 1, {}),
        (150, 2, {"steps": 4}),
        (1000, 3, {}),
        (1000, 4, {"n_sites": 5, "tight_fraction": 0.5}),
        (37, 5, {"n_sites": 1, "weeks": 2}),
    ],
)
def test_generated_instances_load_and_sum_to_n_racks(
    n_racks: int, seed: int, kwargs: dict[str, Any]
) -> None:
    """`load_problem` accepts generated instances and their quantities sum to n_racks."""
    inst = generate(n_racks, seed, **kwargs)
    p = load_problem(inst)
    assert _units(inst) == n_racks
    assert len(p.sites) == kwargs.get("n_sites", 4)
    assert p.objective == "tardiness"
    assert all(1 <= o.quantity <= 32 for o in p.orders)
    assert all(len(x.routing) == kwargs.get("steps", 3) for x in p.products)


def test_generated_instance_shape() -> None:
    """A default instance crosses the November DST change and Thanksgiving, has binding
    power caps, restricted orders, alternatives, downtime and tight and easy due dates."""
    inst = generate(1000, 7)
    p = load_problem(inst)
    zones = {s.timezone for s in p.sites}
    assert {"America/Phoenix", "America/Chicago", "America/New_York"} <= zones
    assert all("2026-11-26" in d["holidays"] for d in inst["sites"])
    assert any(r.downtime for r in p.resources)
    assert any(o.allowed_sites for o in p.orders)
    assert any(st.alternatives for x in p.products for st in x.routing)
    assert sorted({o.weight for o in p.orders}) == [1, 2, 3, 4, 5]
    for s in p.sites:
        bays = [r for r in p.resources if r.site == s.id and r.kind == "burn_in"]
        full = sum(r.capacity * 140 for r in bays)
        assert s.power_cap_kw is not None and 140 <= s.power_cap_kw < full
        assert {r.calendar for r in bays} == {"24x7"}
    slack = [(o.due - (o.release or p.horizon_start)).days for o in p.orders]
    assert min(slack) < 5 < 14 < max(slack)


def test_json_text_round_trips() -> None:
    """The compact JSON writer gives text that parses back to the same instance."""
    inst = generate(150, 3)
    assert json.loads(dumps(inst)) == inst


def test_sample_is_up_to_date() -> None:
    """The packaged sample the service loads is the file data/make_sample.py writes, and
    holds what it makes now."""
    assert Path(str(seed.SAMPLE)).resolve() == SAMPLE.resolve()
    assert json.loads(seed.SAMPLE.read_text(encoding="utf-8")) == make_sample()


def test_sample_has_the_features(sample: Problem) -> None:
    """The sample: 3-4 sites with binding power caps, holidays, downtime, 30-60 orders of
    300-600 racks from 2026-12-01, and every order runnable somewhere."""
    assert 3 <= len(sample.sites) <= 4
    assert sample.horizon_start.isoformat() == "2026-12-01T00:00:00+00:00"
    assert all(s.power_cap_kw is not None for s in sample.sites)
    assert any(str(d) == "2026-12-25" for s in sample.sites for d in s.holidays)
    assert any(r.downtime for r in sample.resources)
    assert 30 <= len(sample.orders) <= 60
    assert 300 <= sum(o.quantity for o in sample.orders) <= 600
    assert all(o.id.startswith("SO-") for o in sample.orders)
    for o in sample.orders:
        prod = sample.product(o.product)
        assert all(eligible(sample, prod, st) for st in prod.routing)
