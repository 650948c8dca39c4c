"""Reschedule against solve-from-scratch after a disturbed day on the floor.

For each seed: `bench.instances.generate(racks, seed)` is planned (`solve`, the
"published" schedule); then the floor is simulated up to "now" (`--day` days in): every
step planned to start before now ran. Until the last publication (`--drift-days` before
now, 1 by default: the nightly reschedule) the floor followed the plan; since then
`--late-share` of the steps that ran (5 %) started late by 1 to `--max-late` minutes
(240), pushing what follows on their unit and resource (capacity, power caps and
calendars respected, as a floor would). One line (the busiest in the next 8 hours) goes
down for `--down-hours` (8) from now. `--drift-days 7` is a week without a reschedule.
What ran or is running becomes fixed, and the disturbed problem is solved with the same
limit each:

- `reschedule` (`solver.reschedule`): frozen window, start from the published plan, move
  costs;
- from scratch (`solve`), the published plan ignored;
- with `--frozen-scratch`, also from scratch but with the reschedule's frozen steps
  fixed: the due dates alone within the frozen window, which shows what the window
  itself costs (the reschedule has the same frozen steps, and the move costs on top;
  after a week off plan this figure can be far above the plain from-scratch one).

All are validated; moves are counted by `solver.diff` against the published schedule,
over the steps the solves place: a step the floor already ran (a fact, the same in both)
is not a move of either, so it is counted apart ("facts off plan"). Targets: the
reschedule moves at most a quarter of the steps the from-scratch solve moves, its weighted
tardiness is within 5 % of it, and it takes under 60 s.

    python bench/reschedule.py --time-limit 30
    python bench/reschedule.py --time-limit 30 --drift-days 7 --seeds 1,2,3,4 --frozen-scratch
    python bench/reschedule.py --racks 300 --seeds 0 --time-limit 10
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
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
    fmt_int,
    int_list,
    print_table,
    progress,
    report_failures,
    timed,
    verdict,
)
from bench.instances import generate  # noqa: E402
from solver.compiled import Mode, compile_problem, iso_minute  # noqa: E402
from solver.diff import diff  # noqa: E402
from solver.problem import Problem, load_problem  # noqa: E402
from solver.reschedule import reschedule  # noqa: E402
from solver.solve import SolveParams, solve  # noqa: E402
from solver.timeline import Timeline  # noqa: E402
from solver.validate import validate  # noqa: E402

TARGET_MOVES = 0.25
TARGET_TARDINESS = 1.05
TARGET_SECONDS = 60.0
DAY = 1440


@dataclass
class Disturbance:
    """The floor's day, as the numbers the table reports."""

    now_min: int
    late: int  # steps that started late
    fixed: int  # steps done or running
    down: str  # the resource that went down


def disturb(
    data: dict[str, Any],
    published: dict[str, Any],
    *,
    day: float,
    late_share: float,
    max_late: int,
    drift_days: float,
    down_hours: float,
    seed: int,
) -> tuple[dict[str, Any], Disturbance]:
    """The problem at "now" after a simulated floor (module docstring): a copy of `data`
    with `horizon_start` = now, the steps that ran or run as `fixed`, and the downtime."""
    problem = load_problem(data)
    c = compile_problem(problem)
    rng = random.Random(seed)
    now = round(day * DAY)
    order_ix = {oid: i for i, oid in enumerate(c.order_ids)}
    res_ix = {rid: i for i, rid in enumerate(c.res_ids)}
    planned: list[tuple[int, int, int]] = []  # (start, op, resource)
    for item in published["items"]:
        u = c.order_units[order_ix[item["order"]]][item["unit"] - 1]
        o = next(x for x in c.unit_ops[u] if c.op_name[x] == item["op"])
        planned.append((item["start_min"], o, res_ix[item["group"]]))
    planned.sort()
    recent = [o for s, o, _ in planned if now - drift_days * DAY <= s < now]
    n_late = round(late_share * len(recent))
    delay = {o: rng.randint(1, max_late) for o in rng.sample(recent, n_late)}

    # the floor: steps planned before now, in planned order, each as early as its plan
    # (plus its delay), its unit's previous step and its resource allow
    tl = Timeline(c)
    ends: dict[int, int] = {}
    fixed: list[dict[str, Any]] = []
    for s, o, r in planned:
        if s >= now:
            break
        u = c.op_unit[o]
        j = c.unit_ops[u].index(o)
        if j > 0 and c.unit_ops[u][j - 1] not in ends:
            continue  # its previous step has not started: neither has it
        ready = max(s + delay.get(o, 0), ends.get(c.unit_ops[u][j - 1], 0) if j else 0)
        d = next(m.duration for m in c.op_modes[o] if m.resource == r)
        got = tl.earliest(o, Mode(r, d), ready)
        if got is None or got[0] >= now:
            continue  # not started by now
        tl.place(o, r, got[0], got[0] + d, got[1])
        ends[o] = got[0] + d
        fixed.append({
            "order": c.order_ids[c.unit_order[u]], "unit": c.unit_no[u], "op": c.op_name[o],
            "resource": c.res_ids[r], "start": iso_minute(problem, got[0]),
            "end": iso_minute(problem, got[0] + d),
        })

    busy = Counter(item["group"] for item in published["items"]
                   if now <= item["start_min"] < now + down_hours * 60)
    down = busy.most_common(1)[0][0] if busy else published["items"][0]["group"]
    out = {**data, "horizon_start": iso_minute(problem, now), "fixed": fixed,
           "resources": [dict(r) for r in data["resources"]]}
    for r in out["resources"]:
        if r["id"] == down and down_hours > 0:
            r["downtime"] = [*r.get("downtime", []), {
                "start": iso_minute(problem, now),
                "end": iso_minute(problem, now + round(down_hours * 60))}]
    return out, Disturbance(now, sum(1 for o in delay if o in ends), len(fixed), down)


COLUMNS = (
    Column("instance", right=False),
    Column("steps"),
    Column("fixed"),
    Column("facts off plan"),
    Column("late"),
    Column("frozen"),
    Column("released"),
    Column("moved (resched)"),
    Column("moved (scratch)"),
    Column("moved ratio"),
    Column("site changes r/s"),
    Column("WT published"),
    Column("WT resched"),
    Column("WT scratch"),
    Column("WT ratio"),
    Column("WT frozen scratch"),
    Column("resched s"),
    Column("scratch s"),
    Column("target", right=False),
)


@dataclass
class Outcome:
    name: str
    steps: int = 0
    fixed: int = 0
    facts_moved: int | None = None
    late: int = 0
    frozen: int | None = None
    released: int | None = None
    moved_r: int | None = None
    moved_s: int | None = None
    sites_r: int | None = None
    sites_s: int | None = None
    wt_pub: float | None = None
    wt_r: float | None = None
    wt_s: float | None = None
    wt_f: float | None = None  # from scratch within the frozen window (--frozen-scratch)
    secs_r: float | None = None
    secs_s: float | None = None
    failure: str | None = None

    @property
    def moved_ratio(self) -> float | None:
        if self.moved_r is None or not self.moved_s:
            return None
        return self.moved_r / self.moved_s

    @property
    def wt_ratio(self) -> float | None:
        if self.wt_r is None or self.wt_s is None:
            return None
        if self.wt_s == 0:
            return 1.0 if self.wt_r == 0 else None
        return self.wt_r / self.wt_s

    @property
    def met(self) -> bool | None:
        if self.failure is not None or self.moved_r is None or self.wt_r is None:
            return None
        assert self.moved_s is not None and self.wt_s is not None and self.secs_r is not None
        return (self.moved_r <= TARGET_MOVES * self.moved_s
                and self.wt_r <= TARGET_TARDINESS * self.wt_s + 1e-9
                and self.secs_r < TARGET_SECONDS)


def run_instance(racks: int, seed: int, args: argparse.Namespace) -> Outcome:
    """Plan, disturb, reschedule and solve from scratch, validate, compare."""
    data = generate(racks, seed, steps=args.steps)
    out = Outcome(str(data["name"]))
    params = SolveParams(time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    published = solve(load_problem(data), SolveParams(
        time_limit=args.plan_time, workers=args.workers, seed=args.seed))
    if not published.get("items"):
        out.failure = f"no published plan: {published['status']}"
        return out
    out.wt_pub = published["kpis"]["total_weighted_tardiness_min"]
    disturbed, dist = disturb(
        data, published, day=args.day, late_share=args.late_share, max_late=args.max_late,
        drift_days=args.drift_days, down_hours=args.down_hours, seed=seed)
    problem: Problem = load_problem(disturbed)
    out.steps = len(published["items"])
    out.fixed, out.late = dist.fixed, dist.late

    problems: list[str] = []
    resched, out.secs_r = timed(lambda: reschedule(problem, published, params))
    scratch, out.secs_s = timed(lambda: solve(problem, params))
    checks = [("reschedule", resched.schedule, resched.problem), ("scratch", scratch, problem)]
    if args.frozen_scratch:
        # the due dates alone, with the reschedule's frozen steps fixed: what the frozen
        # window itself costs, apart from the moves
        frozen = solve(resched.problem, params)
        checks.append(("frozen scratch", frozen, resched.problem))
        if frozen.get("items"):
            out.wt_f = frozen["kpis"]["total_weighted_tardiness_min"]
    for what, sched, against in checks:
        if not sched.get("items"):
            problems.append(f"{what}: {sched['status']}: {sched.get('reasons', [])[:3]}")
            continue
        faults = validate(against, sched)
        if faults:
            problems.append(f"{what} invalid: {faults[:3]}")
    if problems:
        out.failure = "; ".join(problems)
        return out
    section = resched.schedule["reschedule"]
    out.frozen, out.released = section["frozen_steps"], len(section["released"])
    facts = {f"{f.order}/{f.unit}/{f.op}" for f in problem.fixed}
    out.facts_moved, out.moved_r, out.sites_r = moves(diff(published, resched.schedule), facts)
    _, out.moved_s, out.sites_s = moves(diff(published, scratch), facts)
    out.wt_r = resched.schedule["kpis"]["total_weighted_tardiness_min"]
    out.wt_s = scratch["kpis"]["total_weighted_tardiness_min"]
    return out


def moves(d: dict[str, Any], facts: set[str]) -> tuple[int, int, int]:
    """From a diff: (facts off plan, other steps moved, of which site changes)."""
    moved = [x for x in d["steps"] if x["change"] in ("site", "resource", "time")]
    placed = [x for x in moved if x["id"] not in facts]
    return (len(moved) - len(placed), len(placed),
            sum(1 for x in placed if x["change"] == "site"))


def row(o: Outcome) -> list[str]:
    sites = MISSING if o.sites_r is None else f"{o.sites_r}/{o.sites_s}"
    return [
        o.name, fmt_int(o.steps), fmt_int(o.fixed), fmt_int(o.facts_moved), fmt_int(o.late),
        fmt_int(o.frozen),
        fmt_int(o.released), fmt_int(o.moved_r), fmt_int(o.moved_s),
        fmt_float(o.moved_ratio, 3), sites, fmt_int(o.wt_pub), fmt_int(o.wt_r),
        fmt_int(o.wt_s), fmt_float(o.wt_ratio, 3), fmt_int(o.wt_f), fmt_float(o.secs_r),
        fmt_float(o.secs_s), verdict(o.met),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reschedule benchmark and print the table; exit 1 on a failure."""
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(ap, time_limit=30.0, workers=2)
    ap.add_argument("--racks", type=int, default=1000, help="racks per instance (1000)")
    ap.add_argument("--seeds", type=int_list, default=[1, 2], metavar="N[,N]",
                    help="instance seeds (default 1,2)")
    ap.add_argument("--plan-time", type=float, default=30.0, metavar="S",
                    help="time limit of the published plan's solve (30)")
    ap.add_argument("--day", type=float, default=7.0, help="days from start to now (7)")
    ap.add_argument("--drift-days", type=float, default=1.0,
                    help="days since the floor last matched the plan (1: nightly)")
    ap.add_argument("--late-share", type=float, default=0.05,
                    help="share of the steps run in the drift days that started late (0.05)")
    ap.add_argument("--max-late", type=int, default=240, help="largest delay, minutes (240)")
    ap.add_argument("--down-hours", type=float, default=8.0, help="hours the line is down (8)")
    ap.add_argument("--steps", type=int, choices=(3, 4), default=3, help="routing steps (3)")
    ap.add_argument("--frozen-scratch", action="store_true",
                    help="also solve from scratch with the frozen steps fixed (the due dates "
                    "alone): what the frozen window costs, apart from the moves")
    args = ap.parse_args(argv)

    outcomes = []
    for i, seed in enumerate(args.seeds, start=1):
        progress(f"[{i}/{len(args.seeds)}] {args.racks} racks, seed {seed} ...")
        o = run_instance(args.racks, seed, args)
        outcomes.append(o)
        progress(f"  moved {fmt_int(o.moved_r)} vs {fmt_int(o.moved_s)}, WT "
                 f"{fmt_int(o.wt_r)} vs {fmt_int(o.wt_s)}"
                 + (f" FAILED: {o.failure}" if o.failure else ""))
    print(
        f"Reschedule vs solve from scratch after a disturbed day: time limit "
        f"{args.time_limit:g} s each, {args.workers} workers; published plan "
        f"{args.plan_time:g} s; day {args.day:g}, {args.late_share:.0%} of the last "
        f"{args.drift_days:g} days' steps late by <= {args.max_late} min, one line down "
        f"{args.down_hours:g} h\n"
    )
    print_table("Instances", COLUMNS, [row(o) for o in outcomes], markdown=args.markdown)
    judged = [o.met for o in outcomes]
    overall = None if any(m is None for m in judged) else all(m for m in judged)
    print(
        f"Target: moves <= {TARGET_MOVES:g} x scratch, tardiness <= {TARGET_TARDINESS:g} x "
        f"scratch, < {TARGET_SECONDS:g} s: {verdict(overall)}\n"
    )
    return report_failures([f"{o.name}: {o.failure}" for o in outcomes if o.failure])


if __name__ == "__main__":
    sys.exit(main())
