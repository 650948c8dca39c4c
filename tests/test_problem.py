"""Tests of solver/problem.py: `load_problem` on a valid problem and on each load-time fault.

Each fault test asserts that `ProblemError` is raised and that its message names the id and
the field at fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from solver.problem import Objective, Problem, ProblemError, eligible, load_problem


def _data() -> dict[str, Any]:
    """A small valid problem in the shape of SPEC section 1."""
    return {
        "name": "dec-week-1",
        "horizon_start": "2026-12-01T00:00:00Z",
        "sites": [
            {"id": "HOU", "name": "Houston, TX", "timezone": "America/Chicago",
             "shifts": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                         "start": "06:00", "end": "22:00"}],
             "holidays": ["2026-12-25"], "power_cap_kw": 2400,
             "transit_min": {"us-west": 2880, "us-east": 1440}},
            {"id": "DAL", "timezone": "America/Chicago", "transit_min": {"us-west": 2000}},
        ],
        "resources": [
            {"id": "HOU-ASM-1", "site": "HOU", "kind": "assembly", "capacity": 1},
            {"id": "HOU-TST-1", "site": "HOU", "kind": "test"},
            {"id": "HOU-BI-1", "site": "HOU", "kind": "burn_in", "capacity": 8,
             "calendar": "24x7",
             "downtime": [{"start": "2026-12-03T00:00:00Z", "end": "2026-12-03T08:00:00Z"}],
             "products": ["NVL72-G2"]},
            {"id": "DAL-ASM-1", "site": "DAL", "kind": "assembly"},
        ],
        "products": [
            {"id": "NVL72-G2", "family": "G2", "routing": [
                {"op": "assembly", "kind": "assembly", "duration_min": 480},
                {"op": "test", "kind": "test", "duration_min": 240},
                {"op": "burn_in", "kind": "burn_in", "duration_min": 1440, "power_kw": 130}]},
            {"id": "SW", "routing": [
                {"op": "flash", "alternatives": [{"resource": "HOU-TST-1", "duration_min": 5},
                                                 {"resource": "DAL-ASM-1", "duration_min": 9}]}]},
        ],
        "orders": [
            {"id": "SO-1001", "customer": "acme", "product": "NVL72-G2", "quantity": 16,
             "due": "2026-12-20T00:00:00Z", "release": "2026-12-02T00:00:00Z",
             "weight": 3, "destination": "us-west", "allowed_sites": ["HOU"]},
            {"id": "SO-1002", "product": "SW", "quantity": 2, "due": "2026-12-05T00:00:00Z"},
        ],
        "objective": "tardiness",
    }


def _errors(change: Callable[[dict[str, Any]], None]) -> list[str]:
    """The messages `load_problem` raises for the valid problem after `change`."""
    data = _data()
    change(data)
    with pytest.raises(ProblemError) as info:
        load_problem(data)
    assert info.value.errors, "a ProblemError must list its faults"
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def _one_mentions(errors: list[str], *words: str) -> None:
    """Assert some message contains every one of `words`."""
    assert any(all(w in e for w in words) for e in errors), errors


# ---- valid input ---------------------------------------------------------------------------


def test_valid_problem_loads_with_defaults() -> None:
    """The SPEC example loads, and the documented defaults are filled in."""
    p = load_problem(_data())
    assert isinstance(p, Problem)
    assert p.objective is Objective.TARDINESS
    assert p.resources[1].capacity == 1 and p.resources[1].calendar == "site"
    assert p.orders[1].weight == 1 and p.orders[1].release is None
    assert p.orders[1].allowed_sites is None and p.orders[1].destination is None
    assert p.products[0].routing[0].power_kw == 0
    assert p.site("DAL").shifts == [] and p.product("SW").routing[0].op == "flash"
    assert p.fixed == []


def test_load_from_text_bytes_and_path(tmp_path: Path) -> None:
    """load_problem accepts a JSON string, bytes and a file path alike."""
    text = json.dumps(_data())
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    assert load_problem(text) == load_problem(text.encode()) == load_problem(path)


def test_not_json_and_not_an_object() -> None:
    """Bad JSON, a JSON array and a missing file are ProblemErrors, not tracebacks."""
    with pytest.raises(ProblemError, match="not valid JSON"):
        load_problem("{oops")
    with pytest.raises(ProblemError, match="JSON object"):
        load_problem("[1, 2]")
    with pytest.raises(ProblemError, match="cannot read"):
        load_problem(Path("/nonexistent/problem.json"))


def test_eligible_kind_qualification_and_alternatives() -> None:
    """eligible lists same-kind qualified resources, or exactly the listed alternatives."""
    p = load_problem(_data())
    g2, sw = p.product("NVL72-G2"), p.product("SW")
    assert [(r.id, d) for r, d in eligible(p, g2, g2.routing[0])] == [
        ("HOU-ASM-1", 480), ("DAL-ASM-1", 480)]
    assert [(r.id, d) for r, d in eligible(p, g2, g2.routing[2])] == [("HOU-BI-1", 1440)]
    assert [(r.id, d) for r, d in eligible(p, sw, sw.routing[0])] == [
        ("HOU-TST-1", 5), ("DAL-ASM-1", 9)]


# ---- unknown ids ---------------------------------------------------------------------------


def test_unknown_site_of_resource() -> None:
    """A resource at an unknown site is refused, naming the resource and the site."""
    errs = _errors(lambda d: d["resources"][1].__setitem__("site", "AUS"))
    _one_mentions(errs, "resource 'HOU-TST-1'", "site 'AUS'")


def test_unknown_site_in_allowed_sites() -> None:
    """An order allowed at an unknown site is refused, naming the order and allowed_sites."""
    errs = _errors(lambda d: d["orders"][0].__setitem__("allowed_sites", ["HOU", "AUS"]))
    _one_mentions(errs, "order 'SO-1001'", "allowed_sites", "'AUS'")


def test_unknown_product_of_order() -> None:
    """An order of an unknown product is refused, naming the order and the product."""
    errs = _errors(lambda d: d["orders"][1].__setitem__("product", "GB300"))
    _one_mentions(errs, "order 'SO-1002'", "product 'GB300'")


def test_unknown_product_qualified_on_resource() -> None:
    """A resource qualified for an unknown product is refused, naming both."""
    errs = _errors(lambda d: d["resources"][2].__setitem__("products", ["NVL72-G3"]))
    _one_mentions(errs, "resource 'HOU-BI-1'", "products", "'NVL72-G3'")


def test_unknown_resource_in_alternatives() -> None:
    """An alternative naming an unknown resource is refused, naming product, step, resource."""
    errs = _errors(
        lambda d: d["products"][1]["routing"][0]["alternatives"][1].__setitem__(
            "resource", "DAL-TST-9"))
    _one_mentions(errs, "product 'SW'", "step 'flash'", "'DAL-TST-9'")


def test_unknown_ids_in_fixed() -> None:
    """A fixed step naming an unknown order or resource is refused, naming them."""
    def fixed(d: dict[str, Any]) -> None:
        d["fixed"] = [
            {"order": "SO-9", "unit": 1, "op": "assembly", "resource": "HOU-ASM-1",
             "start": "2026-12-01T06:00:00Z", "end": "2026-12-01T14:00:00Z"},
            {"order": "SO-1001", "unit": 1, "op": "assembly", "resource": "NOPE",
             "start": "2026-12-01T06:00:00Z", "end": "2026-12-01T14:00:00Z"},
        ]

    errs = _errors(fixed)
    _one_mentions(errs, "fixed[0]", "order 'SO-9'")
    _one_mentions(errs, "fixed[1]", "resource 'NOPE'")


# ---- duplicates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [("site", "sites"), ("resource", "resources"), ("product", "products"),
     ("order", "orders")],
)
def test_duplicate_ids(kind: str, path: str) -> None:
    """Two sites, resources, products or orders with one id are refused, naming the id."""
    def dup(d: dict[str, Any]) -> None:
        d[path][1]["id"] = d[path][0]["id"]

    data = _data()
    dup(data)
    errs = _errors(dup)
    _one_mentions(errs, f"{kind} '{data[path][0]['id']}'", "duplicate")


def test_duplicate_routing_op() -> None:
    """A routing with the same op twice is refused, naming the product and the op."""
    errs = _errors(lambda d: d["products"][0]["routing"][1].__setitem__("op", "assembly"))
    _one_mentions(errs, "product 'NVL72-G2'", "'assembly'", "duplicate")


# ---- times and zones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.__setitem__("horizon_start", "2026-12-01T00:00:00"), "horizon_start"),
        (lambda d: d["orders"][0].__setitem__("due", "2026-12-20T00:00:00"),
         "orders[0] (id 'SO-1001').due"),
        (lambda d: d["orders"][0].__setitem__("release", "2026-12-02T00:00"),
         "orders[0] (id 'SO-1001').release"),
        (lambda d: d["resources"][2]["downtime"][0].__setitem__("end", "2026-12-03T08:00:00"),
         "resources[2] (id 'HOU-BI-1').downtime[0].end"),
    ],
)
def test_naive_datetimes(change: Callable[[dict[str, Any]], None], where: str) -> None:
    """A time without a UTC offset is refused, naming where it is and why."""
    errs = _errors(change)
    _one_mentions(errs, where, "no UTC offset")


def test_unknown_time_zone() -> None:
    """An unknown IANA zone is refused, naming the site and the timezone field."""
    errs = _errors(lambda d: d["sites"][1].__setitem__("timezone", "Texas/Dallas"))
    _one_mentions(errs, "sites[1] (id 'DAL').timezone", "'Texas/Dallas'")


def test_bad_shift_time() -> None:
    """A shift time that is not HH:MM is refused, naming the site and the field."""
    errs = _errors(lambda d: d["sites"][0]["shifts"][0].__setitem__("end", "25:00"))
    _one_mentions(errs, "sites[0] (id 'HOU').shifts[0].end", "'25:00'")


def test_downtime_ending_before_start() -> None:
    """Downtime that ends before it starts is refused, naming the resource."""
    errs = _errors(lambda d: d["resources"][2]["downtime"][0].__setitem__(
        "end", "2026-12-02T00:00:00Z"))
    _one_mentions(errs, "resource 'HOU-BI-1'", "downtime")


# ---- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -30])
def test_non_positive_duration(value: int) -> None:
    """A zero or negative duration_min is refused, naming the product and the field."""
    errs = _errors(lambda d: d["products"][0]["routing"][1].__setitem__("duration_min", value))
    _one_mentions(errs, "products[0] (id 'NVL72-G2').routing[1].duration_min")


def test_non_positive_alternative_duration() -> None:
    """A zero duration on an alternative is refused, naming product and alternative."""
    errs = _errors(lambda d: d["products"][1]["routing"][0]["alternatives"][0].__setitem__(
        "duration_min", 0))
    _one_mentions(errs, "products[1] (id 'SW').routing[0].alternatives[0].duration_min")


@pytest.mark.parametrize("value", [0, -1])
def test_quantity_below_one(value: int) -> None:
    """A quantity below 1 is refused, naming the order and the field."""
    errs = _errors(lambda d: d["orders"][1].__setitem__("quantity", value))
    _one_mentions(errs, "orders[1] (id 'SO-1002').quantity")


def test_non_positive_weight_and_capacity() -> None:
    """A weight of 0 and a capacity of 0 are refused, each naming its id and field."""
    def change(d: dict[str, Any]) -> None:
        d["orders"][0]["weight"] = 0
        d["resources"][0]["capacity"] = 0

    errs = _errors(change)
    _one_mentions(errs, "orders[0] (id 'SO-1001').weight")
    _one_mentions(errs, "resources[0] (id 'HOU-ASM-1').capacity")


# ---- cross-references that make a problem unrunnable --------------------------------------


def test_destination_missing_from_transit() -> None:
    """A destination absent from an allowed site's transit_min is refused, naming both."""
    errs = _errors(lambda d: d["orders"][1].__setitem__("destination", "us-east"))
    _one_mentions(errs, "order 'SO-1002'", "'us-east'", "site 'DAL'", "transit_min")


def test_step_without_resource_at_allowed_sites() -> None:
    """A step no resource can run at any allowed site is refused, naming order, step, sites."""
    errs = _errors(lambda d: d["orders"][0].__setitem__("allowed_sites", ["DAL"]))
    _one_mentions(errs, "order 'SO-1001'", "step 'test'", "DAL")
    _one_mentions(errs, "order 'SO-1001'", "step 'burn_in'", "DAL")


def test_step_with_unqualified_resources_only() -> None:
    """A burn-in whose only resource is qualified for another product is refused."""
    errs = _errors(lambda d: d["resources"][2].__setitem__("products", ["SW"]))
    _one_mentions(errs, "order 'SO-1001'", "step 'burn_in'", "product 'NVL72-G2'")


def test_power_above_every_cap() -> None:
    """A step drawing more than every site's power_cap_kw is refused, naming the step."""
    def change(d: dict[str, Any]) -> None:
        d["sites"][1]["power_cap_kw"] = 100
        d["products"][0]["routing"][2]["power_kw"] = 5000

    errs = _errors(change)
    _one_mentions(errs, "product 'NVL72-G2' step 'burn_in'", "power_kw")


def test_unknown_json_field() -> None:
    """An unknown field, top-level or nested, is refused, naming where it is."""
    def change(d: dict[str, Any]) -> None:
        d["horizon"] = 5
        d["orders"][1]["priority"] = "high"

    errs = _errors(change)
    _one_mentions(errs, "horizon", "unknown field")
    _one_mentions(errs, "orders[1] (id 'SO-1002').priority", "unknown field")


# ---- every fault at once -------------------------------------------------------------------


def test_several_shape_faults_reported_together() -> None:
    """Several field faults are all reported in one ProblemError, not just the first."""
    def change(d: dict[str, Any]) -> None:
        d["horizon_start"] = "2026-12-01T00:00:00"
        d["sites"][1]["timezone"] = "Nowhere/City"
        d["products"][0]["routing"][0]["duration_min"] = 0
        d["orders"][1]["quantity"] = 0
        d["extra"] = True

    errs = _errors(change)
    assert len(errs) == 5, errs
    for where in ("horizon_start", "sites[1]", "routing[0].duration_min",
                  "orders[1] (id 'SO-1002').quantity", "extra"):
        _one_mentions(errs, where)


def test_several_reference_faults_reported_together() -> None:
    """Several cross-reference faults are all reported in one ProblemError."""
    def change(d: dict[str, Any]) -> None:
        d["resources"][1]["site"] = "AUS"
        d["orders"][1]["product"] = "GB300"
        d["orders"][0]["destination"] = "eu-north"
        d["resources"].append({"id": "HOU-ASM-1", "site": "HOU", "kind": "assembly"})

    errs = _errors(change)
    _one_mentions(errs, "resource 'HOU-TST-1'", "'AUS'")
    _one_mentions(errs, "order 'SO-1002'", "'GB300'")
    _one_mentions(errs, "order 'SO-1001'", "'eu-north'")
    _one_mentions(errs, "resource 'HOU-ASM-1'", "duplicate")


# ---- faults that once slipped through ----------------------------------------------------


def test_zone_directory_name_is_a_problem_error() -> None:
    """A time zone naming a tzdata directory ('America') is a ProblemError, not a traceback."""
    errs = _errors(lambda d: d["sites"][1].__setitem__("timezone", "America"))
    _one_mentions(errs, "sites[1] (id 'DAL').timezone")


def test_infinite_numbers_refused() -> None:
    """Infinity as an order weight or a site's power_cap_kw is refused."""
    errs = _errors(lambda d: d["orders"][0].__setitem__("weight", float("inf")))
    _one_mentions(errs, "orders[0] (id 'SO-1001').weight")
