"""Generated freeze cases and their recorded outcomes (`tests/data/freeze-baseline.json`).

Each case is a generated instance (`bench.instances.generate`) planned by the dispatch
heuristic (a solve with no time for search: deterministic), a floor simulated past the
plan (`bench.reschedule.disturb`: late starts and a line down), and one change of the
factory or the orders since publication (lower power caps, smaller burn-in bays, fewer
shifts, longer assembly, a line removed, a site no longer allowed, a later release, a
lost qualification), then frozen for a number of hours. The outcome is what
`solver.reschedule.freeze` keeps and releases, with each reason; the reasons of rules 6-8
are compared by rule number only (their wording belongs to the validator).

    python tests/freeze_cases.py --write tests/data/freeze-baseline.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.instances import generate  # noqa: E402
from bench.reschedule import disturb  # noqa: E402
from solver.compiled import iso_minute  # noqa: E402
from solver.problem import ProblemError, load_problem  # noqa: E402
from solver.reschedule import freeze  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402

BASELINE = Path(__file__).with_name("data") / "freeze-baseline.json"
CHANGES = ("none", "power", "bays", "shifts", "durations", "removed", "sites", "release",
           "qualification")
# (racks, seed, day, change, frozen hours)
CASES = [
    (racks, seed, day, what, (24.0, 48.0)[(seed + i) % 2])
    for racks, seed, day in ((100, 1, 2.0), (150, 2, 3.0), (100, 3, 1.5), (200, 4, 4.0))
    for i, what in enumerate(CHANGES)
]
# the reasons of rules 6-8 as the freeze gave them before they came from the validator
_OLD_RULE_REASONS = (
    (re.compile(r"^resource '[^']+' is (down from|not available then)"), "rule 6"),
    (re.compile(r"^resource '[^']+' is taken then by"), "rule 7"),
    (re.compile(r"^site '[^']+' would exceed its power cap"), "rule 8"),
)
_RULE = re.compile(r"^(rule [678]):")


def reason_key(reason: str) -> str:
    """A release reason as compared: ``rule N`` for rules 6-8, else the sentence."""
    m = _RULE.match(reason)
    if m:
        return m.group(1)
    for pattern, key in _OLD_RULE_REASONS:
        if pattern.match(reason):
            return key
    return reason


def _facts_on(data: dict[str, Any], rid: str) -> bool:
    return any(f["resource"] == rid for f in data.get("fixed", []))


def change(data: dict[str, Any], what: str, rng: random.Random) -> dict[str, Any]:
    """`data` with one change of the factory or the orders (module docstring)."""
    out: dict[str, Any] = json.loads(json.dumps(data))
    sites, resources = out["sites"], out["resources"]
    if what == "power":
        for s in sites:
            if s.get("power_cap_kw") is not None:
                s["power_cap_kw"] = round(0.4 * s["power_cap_kw"])
    elif what == "bays":
        for r in resources:
            if r["kind"] == "burn_in":
                r["capacity"] = max(1, r.get("capacity", 1) // 3)
    elif what == "shifts":
        for s in sites:
            s["shifts"] = s.get("shifts", [])[:1]
    elif what == "durations":
        for p in out["products"][:2]:
            p["routing"][0]["duration_min"] += 30
    elif what == "removed":
        gone = rng.choice([r for r in resources if not _facts_on(out, r["id"])])["id"]
        out["resources"] = [r for r in resources if r["id"] != gone]
        for p in out["products"]:
            for st in p["routing"]:
                if st.get("alternatives"):
                    st["alternatives"] = [a for a in st["alternatives"]
                                          if a["resource"] != gone]
    elif what == "sites":
        fact_sites = {
            f["order"]: {r["site"] for r in resources if r["id"] == f["resource"]}
            for f in out.get("fixed", [])
        }
        for o in out["orders"]:
            if o["id"] not in fact_sites and rng.random() < 0.5:
                o["allowed_sites"] = [rng.choice(sites)["id"]]
    elif what == "release":
        problem = load_problem(out)
        started = {f["order"] for f in out.get("fixed", [])}
        for o in out["orders"]:
            if o["id"] not in started and rng.random() < 0.5:
                o["release"] = iso_minute(problem, rng.randrange(60, 2880, 60))
    elif what == "qualification":
        orders = {o["id"]: o["product"] for o in out["orders"]}
        for r in resources:
            if rng.random() < 0.5:
                continue
            was = r.get("products")
            # only the products it has run: a fact stays eligible, the rest is cut off
            r["products"] = sorted({orders[f["order"]] for f in out.get("fixed", [])
                                    if f["resource"] == r["id"]})
            try:
                load_problem(out)
            except ProblemError:  # some product could no longer be built: keep this one
                r.pop("products")
                if was is not None:
                    r["products"] = was
    return out


def outcome(racks: int, seed: int, day: float, what: str, hours: float) -> dict[str, Any]:
    """What the freeze keeps and releases in one case (module docstring)."""
    data = generate(racks, seed)
    published = solve(load_problem(data), SolveParams(time_limit=0.0, workers=1, seed=0))
    disturbed, _ = disturb(data, published, day=day, late_share=0.3, max_late=300,
                           drift_days=2.0, down_hours=8.0, seed=seed)
    problem = load_problem(change(disturbed, what, random.Random(seed)))
    fz = freeze(problem, published, hours)
    return {
        "kept": sorted(fz.kept),
        "released": {r["step"]: reason_key(r["reason"]) for r in fz.released},
    }


def name(case: tuple[int, int, float, str, float]) -> str:
    racks, seed, day, what, hours = case
    return f"gen-{racks}-{seed}-day{day:g}-{what}-{hours:g}h"


def main(argv: list[str] | None = None) -> int:
    """Write the outcomes of every case as JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--write", type=Path, default=BASELINE)
    args = ap.parse_args(argv)
    table = {name(c): outcome(*c) for c in CASES}
    args.write.parent.mkdir(parents=True, exist_ok=True)
    args.write.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    for key, got in table.items():
        kinds: dict[str, int] = {}
        for r in got["released"].values():
            k = r if r.startswith("rule ") else r.split(" ")[0] + " " + r.split(" ")[1]
            kinds[k] = kinds.get(k, 0) + 1
        print(f"{key}: kept {len(got['kept'])}, released {len(got['released'])} {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
