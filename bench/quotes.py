"""Capable-to-promise quotes against a published plan, and what a from-scratch solve gives.

`bench.instances.generate(racks, seed)` is planned (`solve`, `--plan-time` seconds: the
published plan). Then `--quotes` random requests (a product, 1 to `--max-quantity` racks,
a destination and a customer of the instance, seeded) are quoted against it one after
the other with `solver.quote.quote` and the service's search times (`QuoteParams`'
defaults), each timed from the call to the validated answer (both plans). Then, for the
first `--scratch` requests, the problem with the order added, due now and ahead of every
other order (as the quote's "others may be later" answer has it), is also solved from
scratch (`solve`, `--time-limit` seconds, the published plan ignored), and its date is
compared.

Columns per quote: seconds; the held delivery (no other order later, no step moved), the
delivery if others may be later, and the from-scratch delivery, in days from now; the
held and the alternative's delivery minus the from-scratch one (hours; negative when the
quote is earlier); the orders the alternative makes later. Target: p95 of the quote's
seconds under 5 s at 1,000 racks.

    python bench/quotes.py
    python bench/quotes.py --racks 300 --quotes 10 --scratch 3 --time-limit 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts' folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    MISSING,
    Column,
    add_common_args,
    fmt_float,
    print_table,
    progress,
    report_failures,
    timed,
    verdict,
)
from bench.instances import generate  # noqa: E402
from solver.calendar import minutes_between  # noqa: E402
from solver.problem import MAX_WEIGHT, Order, Problem, load_problem  # noqa: E402
from solver.quote import Quoted, QuoteParams, quote  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.validate import validate  # noqa: E402

TARGET_P95_S = 5.0

COLUMNS = [
    Column("quote", right=False), Column("product", right=False), Column("racks"),
    Column("seconds"), Column("held d"), Column("others later d"), Column("scratch d"),
    Column("held - scratch h"), Column("others later - scratch h"), Column("orders later"),
]


def _days(t0: datetime, iso: str | None) -> float | None:
    return None if iso is None else minutes_between(t0, datetime.fromisoformat(iso)) / 1440


def _requests(data: dict[str, Any], n: int, most: int, seed: int) -> list[Order]:
    rng = random.Random(seed)
    products = [p["id"] for p in data["products"]]
    dests = sorted({d for s in data["sites"] for d in s.get("transit_min", {})})
    customers = sorted({o["customer"] for o in data["orders"] if o.get("customer")})
    return [Order(id=f"Q-{i + 1:02d}", product=rng.choice(products),
                  quantity=rng.randint(1, most), due=data["horizon_start"],
                  destination=rng.choice(dests) if dests else None,
                  customer=rng.choice(customers) if customers else None)
            for i in range(n)]


def _scratch(problem: Problem, order: Order, args: argparse.Namespace) -> str | None:
    """The order's delivery when the problem with it added (ahead of all) is solved anew."""
    first = order.model_copy(update={
        "due": problem.horizon_start,
        "weight": min(MAX_WEIGHT, 1.0 + sum(o.weight for o in problem.orders))})
    data = problem.model_dump(mode="json", exclude_none=True)
    data["orders"].append(first.model_dump(mode="json", exclude_none=True))
    p = load_problem(data)
    s = solve(p, SolveParams(time_limit=args.time_limit, workers=args.workers, seed=args.seed))
    if not s.get("items") or validate(p, s):
        return None
    return next(str(o["delivery"]) for o in s["orders"] if o["id"] == order.id)


def _row(q: Quoted, order: Order, seconds: float, scratch: str | None,
         t0: datetime) -> list[str]:
    alt = q.alternative
    held = _days(t0, q.delivery)
    other = _days(t0, None if alt is None else str(alt["delivery"]))
    base = _days(t0, scratch)

    def hours(d: float | None) -> str:
        return MISSING if d is None or base is None else fmt_float((d - base) * 24)

    return [order.id, order.product, str(order.quantity), fmt_float(seconds, 2),
            fmt_float(held), fmt_float(other), fmt_float(base), hours(held), hours(other),
            MISSING if alt is None else str(len(alt["later"]))]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the quote benchmark and print the table; exit 1 on a failure."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(ap, time_limit=20.0, workers=2)
    ap.add_argument("--racks", type=int, default=1000, help="racks in the instance (1000)")
    ap.add_argument("--plan-time", type=float, default=20.0, metavar="S",
                    help="time limit of the published plan's solve (20)")
    ap.add_argument("--quotes", type=int, default=20, help="quotes to time (20)")
    ap.add_argument("--max-quantity", type=int, default=16, help="racks per quote, most (16)")
    ap.add_argument("--scratch", type=int, default=5,
                    help="quotes also solved from scratch with --time-limit (5)")
    args = ap.parse_args(argv)

    data = generate(args.racks, args.seed)
    problem = load_problem(data)
    progress(f"planning {args.racks} racks ({args.plan_time:g} s) ...")
    published = solve(problem, SolveParams(time_limit=args.plan_time, workers=args.workers,
                                           seed=args.seed))
    failures: list[str] = []
    if not published.get("items"):
        return report_failures([f"the published plan is {published.get('status')}"])
    params = QuoteParams(seed=args.seed)
    rows, seconds, gaps = [], [], []
    t0 = problem.horizon_start
    requests = _requests(data, args.quotes, args.max_quantity, args.seed)
    quoted: list[tuple[Quoted, float]] = []
    for order in requests:  # the quotes first, one after the other, nothing else running
        q, s = timed(partial(quote, problem, published, order, params=params))
        seconds.append(s)
        quoted.append((q, s))
        if validate(q.problem, q.schedule):
            failures.append(f"{order.id}: the held plan fails the validator")
        progress(f"  {order.id}: {s:.2f} s, held {q.delivery}, "
                 f"others later {q.alternative and q.alternative['delivery']}")
    for i, (order, (q, s)) in enumerate(zip(requests, quoted, strict=True)):
        scratch = None
        if i < args.scratch:  # then the from-scratch solves
            progress(f"  {order.id}: from scratch ({args.time_limit:g} s) ...")
            scratch = _scratch(problem, order, args)
            if scratch is not None:
                gaps.append(minutes_between(datetime.fromisoformat(scratch),
                                            datetime.fromisoformat(q.delivery)) / 60)
        rows.append(_row(q, order, s, scratch, t0))
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[-1] if len(seconds) > 1 \
        else seconds[0]
    print(f"Quotes against a published {args.racks}-rack plan ({args.plan_time:g} s, "
          f"{len(published['items'])} steps); from scratch {args.time_limit:g} s, "
          f"{args.workers} workers; seed {args.seed}\n")
    print_table("Quotes", COLUMNS, rows, markdown=args.markdown)
    print(f"quote seconds: median {statistics.median(seconds):.2f}, p95 {p95:.2f}, most "
          f"{max(seconds):.2f} (target p95 < {TARGET_P95_S:g} s: "
          f"{verdict(p95 < TARGET_P95_S)})")
    if gaps:
        print(f"held date later than from scratch: median {statistics.median(gaps):.1f} h, "
              f"most {max(gaps):.1f} h over {len(gaps)} quotes")
    return report_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
