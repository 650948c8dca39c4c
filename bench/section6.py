"""SPEC section 6 in the dispatch heuristic: what quotas and power windows cost and change.

Per generated instance (`bench.instances.generate`, seed 0, 4 sites), the dispatch pass
(priority rule EDD, the start of every solve) on four variants of the same problem:

- ``plain``: as generated;
- ``quota 0.5`` / ``quota 0.35``: ``policies.max_site_share`` of one half / 0.35 (no site
  builds more of a customer's racks than that);
- ``evenings``: a demand-response evening every day at every capped site, 17:00-21:00
  UTC, with the cap at 60 % of the site's;
- ``evenings at 100 %``: the same windows at the site's own cap, a check: the schedule
  must be the plain one (the windows change nothing).

For each: the processor seconds of the pass (`time.process_time`, so the load of a shared
machine matters less than wall clock would), its weighted tardiness, the largest share of
a customer's racks any site builds (rule 10 rounds up: a customer of two racks may have
one at a site, a share of 0.5 under any quota), and whether the validator passes the
schedule. A variant whose quota the orders cannot keep (an input error) is reported as
such. The exit code is 1 when a schedule fails the validator.

    python bench/section6.py
    python bench/section6.py --sizes 300 1000 3000 --markdown
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.instances import generate  # noqa: E402
from solver.compiled import compile_problem  # noqa: E402
from solver.dispatch import HorizonTooShort, dispatch, rule_keys  # noqa: E402
from solver.problem import ProblemError, load_problem  # noqa: E402
from solver.schedule import Status, build_schedule  # noqa: E402
from solver.solution import score  # noqa: E402
from solver.validate import validate  # noqa: E402


def _evenings(data: dict[str, Any], days: int, share: float = 0.6) -> dict[str, Any]:
    out = copy.deepcopy(data)
    t0 = datetime.fromisoformat(out["horizon_start"].replace("Z", "+00:00"))
    for site in out["sites"]:
        cap = site.get("power_cap_kw")
        if cap is None:
            continue
        site["power_windows"] = [
            {"start": (t0 + timedelta(days=d, hours=17)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "end": (t0 + timedelta(days=d, hours=21)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "power_cap_kw": round(cap * share)}
            for d in range(days)]
    return out


def _variants(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [("plain", data)]
    for share in (0.5, 0.35):
        out.append((f"quota {share:g}", {**data, "policies": {"max_site_share": share}}))
    out.append(("evenings", _evenings(data, 120)))
    out.append(("evenings at 100 %", _evenings(data, 120, 1.0)))
    return out


def _run(name: str, data: dict[str, Any]) -> list[str]:
    try:
        p = load_problem(data)
    except ProblemError as exc:
        return [name, "input error", "", "", exc.errors[0][:60]]
    horizon = None
    for _ in range(4):
        c = compile_problem(p, horizon)
        t = time.process_time()
        try:
            a = dispatch(c, rule_keys(c, "edd"))
        except HorizonTooShort:
            horizon = 2 * c.horizon
            continue
        secs = time.process_time() - t
        s = build_schedule(c, a, status=Status.FEASIBLE, lower_bound=0.0,
                           solve_seconds=secs, source="dispatch")
        faults = validate(p, s)
        units: dict[str, int] = {}
        at: dict[tuple[str, int], int] = {}
        for u, oi in enumerate(c.unit_order):
            cust = p.orders[oi].customer
            if cust is None:
                continue
            units[cust] = units.get(cust, 0) + 1
            site = c.res_site[a.res[c.unit_ops[u][0]]]
            at[cust, site] = at.get((cust, site), 0) + 1
        share = max((n / units[cust] for (cust, _), n in at.items()), default=0.0)
        wt = score(c, a)[0] / c.weight_scale
        return [name, f"{secs:.2f}", f"{wt:,.0f}", f"{share:.2f}",
                "valid" if not faults else f"{len(faults)} faults: {faults[0][:50]}"]
    return [name, "horizon too short", "", "", ""]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3000])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    head = ["racks", "variant", "dispatch s", "weighted tardiness", "max share", "validator"]
    rows = []
    bad = False
    for n in args.sizes:
        data = generate(n, 0, steps=4 if n >= 1000 else 3)
        for name, variant in _variants(data):
            row = [f"{n:,}", *_run(name, variant)]
            bad = bad or not (row[-1] == "valid" or row[2] == "input error")
            rows.append(row)
            print(" | ".join(row) if not args.markdown else "", end="" if args.markdown else "\n",
                  flush=True)
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
