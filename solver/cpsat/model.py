"""The CP-SAT formulation of SPEC section 2, over a chosen set of free ops.

The same builder serves the full model (every op free) and the sub-models of
large-neighbourhood search (a few units free, everything else fixed at the incumbent).
Each rule of SPEC section 2 has one method here, named after it.

Formulation: per free op, one optional fixed-size interval per eligible mode whose start
variable's *domain* is the resource's calendar (rule 6); a master start/end per op linked
to the chosen mode (a mode whose calendar has no gap in the op's window puts its interval
on the master start itself, not on a start variable of its own tied to it by an enforced
equality: fewer variables and direct propagation, docs/solver.md); one site literal per
unit and site (rule 4); NoOverlap or Cumulative per resource (rule 7); Cumulative per site
over power (rule 8, with fixed intervals where a power window lowers the cap); a linear
bound per customer and site on the site literals (rule 10). Ops that are not free appear
only as constant intervals on the resources and sites the free ops may use.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from ortools.sat.python import cp_model

from solver.compiled import UNIT, Compiled, hours
from solver.problem import Objective
from solver.solution import Assignment, order_tardiness


@dataclass
class _OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    modes: list[tuple[int, int, cp_model.IntVar | None, cp_model.IntVar]]  # (res, dur, lit, start)


@dataclass
class Built:
    """A CP-SAT model and the handles needed to read a solution back."""

    model: cp_model.CpModel
    ops: dict[int, _OpVars]
    tardiness_expr: cp_model.LinearExpr | int
    makespan: cp_model.IntVar
    weight: int  # objective = weight * primary + secondary
    site_lits: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    order_t: dict[int, cp_model.IntVar] = field(default_factory=dict)
    domains: dict[int, list[list[int]]] = field(default_factory=dict)
    # with a reference schedule: the cost of the moves, and (stay, shift, op) to hint
    moves: cp_model.LinearExpr | None = None
    move_vars: list[tuple[cp_model.IntVar, cp_model.IntVar, int]] = field(default_factory=list)


class ModelBuilder:
    """Build the model of SPEC section 2 for the ops of `free` (unit -> first free index).

    Parameters
    ----------
    c : Compiled
        The dense problem.
    current : Assignment | None
        The incumbent: fixes every op that is not free, and becomes the hint.
    free : dict[int, int] | None
        Free units and, for each, the position of its first free op (ops before it stay
        at the incumbent). None frees everything.
    window : tuple[int, int] | None
        Free ops must lie in [lo, hi]; None means the whole horizon.
    """

    def __init__(
        self,
        c: Compiled,
        current: Assignment | None,
        free: dict[int, int] | None = None,
        window: tuple[int, int] | None = None,
        pinned: set[int] | None = None,
        keep_site: set[int] | None = None,
    ) -> None:
        self.c = c
        self.cur = current
        # ops that are in the model but keep the incumbent's resource and, on unit-capacity
        # resources, their order among other pinned ops (times float)
        self.pinned = pinned or set()
        # units that stay at the incumbent's site (fewer modes, a smaller sub-model)
        self.keep_site = keep_site or set()
        if free is None:
            free = {u: 0 for u in range(len(c.unit_ops))}
        self.free = free
        self.lo, self.hi = window if window is not None else (0, c.horizon)
        self.m = cp_model.CpModel()
        self.ops: dict[int, _OpVars] = {}
        self.site_lits: dict[tuple[int, int], cp_model.IntVar] = {}
        self.domains: dict[int, list[list[int]]] = {}
        self.unit_site: dict[int, int] = {}
        self.free_set = {
            o for u, j in free.items() for o in c.unit_ops[u][j:] if c.op_fixed[o] is None
        }

    # ---- variables ---------------------------------------------------------------------

    def _site_choice(self, u: int) -> list[int]:
        """Sites this unit may use in the model: its own if anything of it stays put."""
        c = self.c
        for o in c.unit_ops[u]:
            f = c.op_fixed[o]
            if f is not None:
                return [c.res_site[f[0]]]
            if o not in self.free_set or o in self.pinned:
                return [c.res_site[self._cur_res(o)]]
        if u in self.keep_site:
            return [c.res_site[self._cur_res(c.unit_ops[u][0])]]
        return list(c.unit_sites[u])

    def _cur_res(self, o: int) -> int:
        assert self.cur is not None
        return self.cur.res[o]

    def _add_variables(self) -> None:
        """Rules 1 and 5: one start/end per op, one optional interval per eligible mode."""
        c, m = self.c, self.m
        heads = self._heads()
        for u, j in self.free.items():
            sites = self._site_choice(u)
            if len(sites) == 1:
                self.unit_site[u] = sites[0]
            else:
                for s in sites:
                    self.site_lits[u, s] = m.new_bool_var(f"y{u}_{s}")
            tail = 0
            ops = c.unit_ops[u]
            tails: dict[int, int] = {}
            for o in reversed(ops):
                tails[o] = tail
                tail += min(md.duration for md in c.op_modes[o])
            for o in ops[j:]:
                if o not in self.free_set:
                    continue
                lo = max(self.lo, heads[o])
                hi = self.hi - tails[o]
                start = m.new_int_var(lo, hi, f"s{o}")
                end = m.new_int_var(lo, hi, f"e{o}")
                modes: list[tuple[int, int, cp_model.IntVar]] = []
                for md in c.op_modes[o]:
                    if c.res_site[md.resource] not in sites:
                        continue
                    if o in self.pinned and md.resource != self._cur_res(o):
                        continue
                    dom = _clip(c.start_intervals(md.resource, md.duration), lo, hi - md.duration)
                    if not dom:
                        continue
                    if dom == [[lo, hi - md.duration]]:
                        # no calendar gap in the window: the mode's interval starts at
                        # the op's own start (fewer variables, direct propagation)
                        modes.append((md.resource, md.duration, start))
                        continue
                    sv = m.new_int_var_from_domain(
                        cp_model.Domain.from_intervals(dom), f"s{o}_{md.resource}"
                    )
                    self.domains[sv.index] = dom
                    modes.append((md.resource, md.duration, sv))
                if not modes:
                    m.add_bool_or([])  # nothing fits in the window: infeasible sub-model
                    self.ops[o] = _OpVars(start, end, [])
                    continue
                if len(modes) == 1:
                    r, d, sv = modes[0]
                    if sv is not start:
                        m.add(start == sv)
                    m.add(end == sv + d)
                    self.ops[o] = _OpVars(start, end, [(r, d, None, sv)])
                    continue
                ov = _OpVars(start, end, [])
                for r, d, sv in modes:
                    lit = m.new_bool_var(f"x{o}_{r}")
                    if sv is not start:
                        m.add(start == sv).only_enforce_if(lit)
                    m.add(end == sv + d).only_enforce_if(lit)
                    ov.modes.append((r, d, lit, sv))
                m.add_exactly_one([lit for _, _, lit, _ in ov.modes if lit is not None])
                self.ops[o] = ov

    def _heads(self) -> dict[int, int]:
        """Earliest start of each free op from release and fixed predecessors."""
        c = self.c
        out: dict[int, int] = {}
        for u in self.free:
            t = c.order_release[c.unit_order[u]]
            for o in c.unit_ops[u]:
                f = c.op_fixed[o]
                if f is not None:
                    t = f[2]
                elif o not in self.free_set:
                    assert self.cur is not None
                    t = self.cur.end[o]
                else:
                    out[o] = t
                    t += min(md.duration for md in c.op_modes[o])
        return out

    # ---- one method per rule --------------------------------------------------------------

    def _add_site_choice(self) -> None:
        """Rule 4: every step of a unit at the one site chosen for it."""
        c, m = self.c, self.m
        by_unit: dict[int, list[cp_model.IntVar]] = {}
        for (u, s), y in self.site_lits.items():
            by_unit.setdefault(u, []).append(y)
            for o in c.unit_ops[u]:
                ov = self.ops.get(o)
                if ov is None:
                    continue
                at = [1 if lit is None else lit for r, _, lit, _ in ov.modes if c.res_site[r] == s]
                m.add(sum(at) == y)
        for ys in by_unit.values():
            m.add_exactly_one(ys)

    def _add_precedence(self) -> None:
        """Rules 2 and 3: routing order, release and horizon start (via start domains)."""
        c, m = self.c, self.m
        for u in self.free:
            prev_end: cp_model.IntVar | int | None = None
            for o in c.unit_ops[u]:
                ov = self.ops.get(o)
                if ov is not None:
                    if prev_end is not None:
                        m.add(ov.start >= prev_end)
                    prev_end = ov.end
                else:
                    f = c.op_fixed[o]
                    s = f[1] if f is not None else self.cur.start[o]  # type: ignore[union-attr]
                    e = f[2] if f is not None else self.cur.end[o]  # type: ignore[union-attr]
                    if prev_end is not None and not isinstance(prev_end, int):
                        m.add(prev_end <= s)
                    prev_end = e

    def _fixed_on(self, resources: set[int]) -> Iterable[tuple[int, int, int, int]]:
        """(op, resource, start, end) of ops that are not free, on `resources`, in range."""
        c = self.c
        for o in range(c.n_ops):
            if o in self.free_set:
                continue
            f = c.op_fixed[o]
            if f is not None:
                r, s, e = f
            elif self.cur is not None:
                r, s, e = self.cur.res[o], self.cur.start[o], self.cur.end[o]
            else:
                continue
            if r in resources and e > self.lo and s < self.hi:
                yield o, r, s, e

    def _add_capacity(self, fixed: list[tuple[int, int, int, int]]) -> None:
        """Rule 7: NoOverlap (capacity 1) or Cumulative per resource."""
        c, m = self.c, self.m
        per_res: dict[int, list[tuple[cp_model.IntervalVar, int]]] = {}
        for o, ov in self.ops.items():
            for r, d, lit, sv in ov.modes:
                iv = _interval(m, sv, d, lit, f"i{o}_{r}")
                per_res.setdefault(r, []).append((iv, 1))
        for o, r, fs, fe in fixed:
            if r in per_res:
                per_res[r].append((m.new_interval_var(fs, fe - fs, fe, f"f{o}"), 1))
        for r, ivs in per_res.items():
            if c.res_cap[r] == 1:
                m.add_no_overlap([iv for iv, _ in ivs])
            elif len(ivs) > c.res_cap[r]:
                m.add_cumulative([iv for iv, _ in ivs], [1] * len(ivs), c.res_cap[r])

    def _add_power_caps(self, fixed: list[tuple[int, int, int, int]]) -> None:
        """Rule 8: per site, the running power never exceeds the cap in force: a
        Cumulative at the highest cap, where a power window (SPEC section 6) lowers it
        a fixed interval using the difference."""
        c, m = self.c, self.m
        per_site: dict[int, tuple[list[cp_model.IntervalVar], list[int]]] = {}
        for o, ov in self.ops.items():
            p = c.op_power[o]
            if p <= 0:
                continue
            for r, d, lit, sv in ov.modes:
                site = c.res_site[r]
                if c.site_cap[site] is None:
                    continue
                ivs, dem = per_site.setdefault(site, ([], []))
                ivs.append(_interval(m, sv, d, lit, f"p{o}_{r}"))
                dem.append(p)
        for o, r, fs, fe in fixed:
            site = c.res_site[r]
            if site in per_site and c.op_power[o] > 0:
                ivs, dem = per_site[site]
                ivs.append(m.new_interval_var(fs, fe - fs, fe, f"pf{o}"))
                dem.append(c.op_power[o])
        for site, (ivs, dem) in per_site.items():
            cap = c.site_cap[site]
            assert cap is not None
            dips = c.site_dips[site] if c.site_dips else []
            if dips:
                # only where a step of the model or a constant one can be
                lo = min([self.lo, *(fs for _, r, fs, _ in fixed if c.res_site[r] == site)])
                hi = max([self.hi, *(fe for _, r, _, fe in fixed if c.res_site[r] == site)])
                for k, (a, b, less) in enumerate(dips):
                    a, b = max(a, lo), min(b, hi)
                    if a < b:
                        ivs.append(m.new_interval_var(a, b - a, b, f"dip{site}_{k}"))
                        dem.append(less)
            m.add_cumulative(ivs, dem, cap)

    def _add_quotas(self) -> None:
        """Rule 10: per customer with a quota and site, its units built there (the
        model's and those that stay put) are at most the quota's limit."""
        c, m, cur = self.c, self.m, self.cur
        if not c.quota_limit:
            return
        # per quota group and site: the unit literals there, and the units counted fixed
        lits: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        const: dict[tuple[int, int], int] = {}
        fixed_site = c.unit_starts()[1]
        for u, oi in enumerate(c.unit_order):
            g = c.order_quota[oi]
            if g < 0:
                continue
            if u in self.free and u not in self.unit_site:
                for s in self._site_choice(u):
                    lits.setdefault((g, s), []).append(self.site_lits[u, s])
                continue
            if u in self.unit_site:
                site = self.unit_site[u]
            elif fixed_site[u] >= 0:
                site = fixed_site[u]
            elif cur is not None and cur.res[c.unit_ops[u][0]] >= 0:
                site = c.res_site[cur.res[c.unit_ops[u][0]]]
            else:
                continue  # not in the model and not placed: the bound counts it nowhere
            const[g, site] = const.get((g, site), 0) + 1
        for (g, s), ys in lits.items():
            m.add(sum(ys) <= c.quota_limit[g] - const.get((g, s), 0))

    def _add_pinned_sequences(self) -> None:
        """Pinned ops keep their incumbent order on unit-capacity resources."""
        c, m, cur = self.c, self.m, self.cur
        assert cur is not None
        per_res: dict[int, list[int]] = {}
        for o in self.pinned:
            if o in self.ops and c.res_cap[cur.res[o]] == 1:
                per_res.setdefault(cur.res[o], []).append(o)
        for ops in per_res.values():
            ops.sort(key=lambda o: cur.start[o])
            for x, y in pairwise(ops):
                m.add(self.ops[x].end <= self.ops[y].start)

    def _add_symmetry_breaking(self) -> None:
        """Identical wholly-free units of one order start in unit order (incumbent sorted).

        Not with a reference schedule, where units are racks the floor knows by number."""
        c, m = self.c, self.m
        if c.reference is not None:
            return
        for units in c.order_units:
            prev: int | None = None
            for u in units:
                if self.free.get(u) != 0 or any(c.op_fixed[o] is not None for o in c.unit_ops[u]):
                    continue
                first = c.unit_ops[u][0]
                if first not in self.ops:
                    continue
                if prev is not None and (
                    self._site_choice(u) == self._site_choice(prev)
                ):
                    m.add(self.ops[c.unit_ops[prev][0]].start <= self.ops[first].start)
                prev = u

    def _add_objective(self) -> Built:
        """Rule 9: delivery = last end + transit; weighted tardiness then makespan."""
        c, m = self.c, self.m
        cur = self.cur
        # makespan: free ends and the constant part of everything else
        const_mk = 0
        for o in range(c.n_ops):
            if o in self.free_set:
                continue
            f = c.op_fixed[o]
            if f is not None:
                const_mk = max(const_mk, f[2])
            elif cur is not None:
                const_mk = max(const_mk, cur.end[o])
        mk = m.new_int_var(max(const_mk, 0), max(self.hi, const_mk, 0), "makespan")
        for o, ov in self.ops.items():
            if o == c.unit_ops[c.op_unit[o]][-1]:
                m.add(mk >= ov.end)
        # tardiness of orders with a free unit
        terms = []
        order_t: dict[int, cp_model.IntVar] = {}
        orders: dict[int, list[int]] = {}
        for u in self.free:
            orders.setdefault(c.unit_order[u], []).append(u)
        for oi, us in orders.items():
            due = c.order_due[oi]
            base = 0
            if cur is not None:
                for u in c.order_units[oi]:
                    if u not in self.free:
                        last = c.unit_ops[u][-1]
                        tr0 = c.order_transit[oi][c.res_site[cur.res[last]]]
                        base = max(base, cur.end[last] + tr0 - due)
            tmax = max(self.hi + max(c.order_transit[oi].values(), default=0) - due, base, 0)
            t = m.new_int_var(max(base, 0), tmax, f"T{oi}")
            for u in us:
                last = c.unit_ops[u][-1]
                lv = self.ops.get(last)
                if lv is None:
                    continue
                tr: cp_model.LinearExpr | int
                if u in self.unit_site:
                    tr = c.order_transit[oi][self.unit_site[u]]
                else:
                    here = [s for s in c.unit_sites[u] if (u, s) in self.site_lits]
                    tr = cp_model.LinearExpr.weighted_sum(
                        [self.site_lits[u, s] for s in here],
                        [c.order_transit[oi][s] for s in here],
                    )
                m.add(t >= lv.end + tr - due)
            terms.append((c.order_weight[oi], t))
            order_t[oi] = t
        tard = sum(w * t for w, t in terms) if terms else 0
        weight = max(self.hi, const_mk, 1) + 1
        built = Built(m, self.ops, tard, mk, weight, self.site_lits, order_t, self.domains)
        if c.reference is not None:
            self._add_moves(built)
        return built

    def _add_moves(self, b: Built) -> None:
        """Stability: the cost of each free op's move away from the reference schedule,
        `site` / `resource` / `time` by the worst change plus a cost per minute of shift
        (`solver.compiled.MoveCosts`)."""
        c, m = self.c, self.m
        ref = c.reference
        assert ref is not None
        coefs: list[int] = []
        terms: list[cp_model.IntVar] = []
        const = 0
        for o, ov in self.ops.items():
            rr = ref.res[o]
            if rr < 0 or not ov.modes:
                continue
            rs = ref.start[o]
            u = c.op_unit[o]
            ref_site = c.res_site[rr]
            # site_same, x_ref: 1 / 0 constants or literals
            site_same: int | cp_model.IntVar
            if u in self.unit_site:
                site_same = int(self.unit_site[u] == ref_site)
            else:
                site_same = self.site_lits.get((u, ref_site), 0)
            x_ref: int | cp_model.IntVar = 0
            for r, _, lit, _ in ov.modes:
                if r == rr:
                    x_ref = 1 if lit is None else lit
            stay = m.new_bool_var(f"stay{o}")
            m.add(ov.start == rs).only_enforce_if(stay)
            if isinstance(x_ref, int):
                if x_ref == 0:
                    m.add(stay == 0)
            else:
                m.add_implication(stay, x_ref)
            # site_cost * (1 - site_same) + res_cost * (site_same - x_ref)
            #   + time_cost * (x_ref - stay) + hour_cost * ceil(|start - rs| / 60)
            const += ref.site_cost
            for value, coef in ((site_same, ref.res_cost - ref.site_cost),
                                (x_ref, ref.time_cost - ref.res_cost)):
                if isinstance(value, int):
                    const += coef * value
                else:
                    terms.append(value)
                    coefs.append(coef)
            terms.append(stay)
            coefs.append(-ref.time_cost)
            span = max(abs(self.lo - rs), abs(self.hi - rs))
            shift = m.new_int_var(0, hours(span), f"shift{o}")  # in started hours
            m.add(60 * shift >= ov.start - rs)
            m.add(60 * shift >= rs - ov.start)
            if ref.hour_cost:
                terms.append(shift)
                coefs.append(ref.hour_cost)
            b.move_vars.append((stay, shift, o))
        b.moves = cp_model.LinearExpr.weighted_sum(terms, coefs) + const

    # ---- assembly ---------------------------------------------------------------------------

    def build(self, *, symmetry: bool = True) -> Built:
        self._add_variables()
        self._add_site_choice()
        self._add_precedence()
        used = {r for ov in self.ops.values() for r, _, _, _ in ov.modes}
        power_sites = {
            self.c.res_site[r] for o, ov in self.ops.items() if self.c.op_power[o] > 0
            for r, _, _, _ in ov.modes
        }
        power_res = {r for r in range(len(self.c.res_ids)) if self.c.res_site[r] in power_sites}
        fixed = list(self._fixed_on(used | power_res))
        self._add_capacity([f for f in fixed if f[1] in used])
        self._add_power_caps(fixed)
        self._add_quotas()
        if self.pinned:
            self._add_pinned_sequences()
        if symmetry:
            self._add_symmetry_breaking()
        return self._add_objective()


def set_objective(
    b: Built, objective: Objective, secondary: bool = True, compact: bool = False
) -> None:
    """Minimise weighted tardiness then makespan, or makespan alone; with a reference
    schedule, `UNIT` times the primary figure plus the cost of the moves.

    `compact` (makespan only, for LNS sub-models): then the sum of the ends of the ops in
    the model, so that a step that cannot shorten the schedule still leaves it tighter:
    the next step starts from a schedule with more room (without it the search stalls on
    plateaus of equal makespan). Not for a model whose bound is reported: the objective is
    then not the makespan."""
    if b.moves is not None:
        primary = b.tardiness_expr if objective == Objective.TARDINESS else b.makespan
        b.model.minimize(UNIT * primary + b.moves)
    elif objective == Objective.TARDINESS:
        b.model.minimize(b.weight * b.tardiness_expr + (b.makespan if secondary else 0))
    elif compact and b.ops:
        ends = [ov.end for ov in b.ops.values()]
        # every end is below `weight`: the sum never outweighs one minute of makespan
        b.model.minimize(len(ends) * b.weight * b.makespan + sum(ends))
    else:
        b.model.minimize(b.makespan)


def add_hint(b: Built, c: Compiled, a: Assignment) -> None:
    """A complete hint from an assignment (every model variable gets a value)."""
    m = b.model
    for o, ov in b.ops.items():
        m.add_hint(ov.start, a.start[o])
        m.add_hint(ov.end, a.end[o])
        for r, _, lit, sv in ov.modes:
            chosen = r == a.res[o]
            if lit is not None:
                m.add_hint(lit, chosen)
            if sv is not ov.start:  # the op's start is hinted above
                m.add_hint(sv, a.start[o] if chosen else _nearest(b.domains[sv.index], a.start[o]))
    for (u, site), y in b.site_lits.items():
        m.add_hint(y, c.res_site[a.res[c.unit_ops[u][0]]] == site)
    for oi, t in b.order_t.items():
        m.add_hint(t, order_tardiness(c, a, oi))
    m.add_hint(b.makespan, max(a.end, default=0))
    ref = c.reference
    for stay, shift, o in b.move_vars:
        assert ref is not None
        m.add_hint(stay, a.res[o] == ref.res[o] and a.start[o] == ref.start[o])
        m.add_hint(shift, hours(abs(a.start[o] - ref.start[o])))


def read_back(b: Built, solver: cp_model.CpSolver, a: Assignment) -> Assignment:
    """The incumbent with the free ops replaced by the solver's values."""
    out = a.copy()
    for o, ov in b.ops.items():
        for r, d, lit, s in ov.modes:
            if lit is None or solver.boolean_value(lit):
                st = solver.value(s)
                out.res[o], out.start[o], out.end[o] = r, st, st + d
                break
    return out


def _interval(
    m: cp_model.CpModel, s: cp_model.IntVar, d: int, lit: cp_model.IntVar | None, name: str
) -> cp_model.IntervalVar:
    if lit is None:
        return m.new_fixed_size_interval_var(s, d, name)
    return m.new_optional_fixed_size_interval_var(s, d, lit, name)


def _nearest(dom: list[list[int]], t: int) -> int:
    """The value of a domain (sorted [lo, hi] pairs) nearest to `t`."""
    best = dom[0][0]
    for lo, hi in dom:
        cand = min(max(t, lo), hi)
        if abs(cand - t) < abs(best - t):
            best = cand
    return best


def _clip(ivs: Sequence[tuple[int, int]], lo: int, hi: int) -> list[list[int]]:
    out = []
    i = max(0, bisect_left(ivs, (lo, lo)) - 1)
    for a, b in ivs[i:]:
        if a > hi:
            break
        a2, b2 = max(a, lo), min(b, hi)
        if a2 <= b2:
            out.append([a2, b2])
    return out
