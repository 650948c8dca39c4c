"""What changed between two schedules (SPEC section 3): steps moved, orders delivered later.

Steps are matched by (order, unit, op). A step in both schedules changed in exactly one
way, the worst that applies: its site (`"site"`), else its resource at the same site
(`"resource"`), else its start on the same resource (`"time"`). Times are compared as
absolute instants parsed from the ISO strings, never from `start_min`, so two schedules
with different `horizon_start` compare correctly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

Key = tuple[str, int, str]

#: the kinds of change of one step, worst first
CHANGE_KINDS = ("site", "resource", "time", "added", "removed")


def _instant(text: str) -> datetime:
    """An ISO 8601 time with an offset (a trailing `Z` included) as an aware datetime."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"time '{text}' has no offset")
    return when


def _minutes(a: str, b: str) -> int:
    """Whole minutes from time `a` to time `b` (positive when `b` is later)."""
    return round((_instant(b) - _instant(a)).total_seconds() / 60)


def _steps(schedule: Mapping[str, Any], which: str) -> dict[Key, tuple[int, dict[str, Any]]]:
    """The schedule's items by (order, unit, op), each with its position in its unit."""
    out: dict[Key, tuple[int, dict[str, Any]]] = {}
    position: dict[tuple[str, int], int] = {}
    for item in schedule.get("items") or []:
        unit_key = (str(item["order"]), int(item["unit"]))
        key = (*unit_key, str(item["op"]))
        if key in out:
            raise ValueError(f"{which} schedule has step {'/'.join(map(str, key))} twice")
        pos = position.get(unit_key, 0)
        position[unit_key] = pos + 1
        out[key] = (pos, item)
    return out


def _orders(schedule: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(o["id"]): o for o in schedule.get("orders") or []}


def _place(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"site": item["site"], "resource": item["group"],
            "start": item["start"], "end": item["end"]}


def _on_time(schedule: Mapping[str, Any], orders: Iterable[Mapping[str, Any]]) -> int:
    kpis = schedule.get("kpis") or {}
    if "on_time" in kpis:
        return int(kpis["on_time"])
    return sum(1 for o in orders if o.get("tardiness_min", 0) == 0)


def _weighted_tardiness(schedule: Mapping[str, Any]) -> float | None:
    value = (schedule.get("kpis") or {}).get("total_weighted_tardiness_min")
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The changes from schedule `before` to schedule `after`.

    Parameters
    ----------
    before, after
        Two SPEC section 3 schedules (``items`` with ``order``, ``unit``, ``op``,
        ``site``, ``group``, ``start``, ``end``; ``orders`` with ``id``, ``delivery``,
        ``tardiness_min``; ``kpis``).

    Returns
    -------
    dict
        JSON-ready: ``summary`` (counts: ``steps_compared`` in both, ``steps_moved`` =
        ``site_changes`` + ``resource_changes`` + ``time_shifts``, ``steps_added``,
        ``steps_removed``; ``mean_abs_shift_min`` and ``max_abs_shift_min`` of the start
        over the steps in both; ``orders_delivery_changed``, ``orders_added``,
        ``orders_removed``; ``on_time_before/after`` and
        ``weighted_tardiness_before/after`` from the schedules' KPIs), ``steps`` (each
        moved, added or removed step: ``id``, ``order``, ``unit``, ``op``, ``change`` —
        one of `CHANGE_KINDS` —, ``before`` and ``after`` places — ``site``,
        ``resource``, ``start``, ``end``, or None —, ``shift_min`` of the start, None for
        added or removed) in (order, unit, routing position) order, and ``orders`` (each
        order whose delivery changed, added or removed: ``id``, ``change`` —
        ``"delivery"``, ``"added"`` or ``"removed"`` —, ``delivery_before/after``,
        ``change_min`` — positive when later —, ``tardiness_before/after``) by id.

    Raises
    ------
    ValueError
        A schedule lists one step twice, or a time has no offset.
    """
    old, new = _steps(before, "before"), _steps(after, "after")
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    shifts: list[int] = []
    rows: list[tuple[tuple[str, int, int], dict[str, Any]]] = []
    for key in old.keys() | new.keys():
        order, unit, op = key
        was, now = old.get(key), new.get(key)
        shift: int | None = None
        if was is None:
            assert now is not None
            change, position = "added", now[0]
        elif now is None:
            change, position = "removed", was[0]
        else:
            position = now[0]
            shift = _minutes(was[1]["start"], now[1]["start"])
            shifts.append(abs(shift))
            if was[1]["site"] != now[1]["site"]:
                change = "site"
            elif was[1]["group"] != now[1]["group"]:
                change = "resource"
            elif shift != 0:
                change = "time"
            else:
                continue
        counts[change] += 1
        rows.append(((order, unit, position), {
            "id": f"{order}/{unit}/{op}", "order": order, "unit": unit, "op": op,
            "change": change,
            "before": None if was is None else _place(was[1]),
            "after": None if now is None else _place(now[1]),
            "shift_min": shift,
        }))
    rows.sort(key=lambda row: row[0])

    orders_before, orders_after = _orders(before), _orders(after)
    order_rows: list[dict[str, Any]] = []
    order_counts = {"delivery": 0, "added": 0, "removed": 0}
    for oid in sorted(orders_before.keys() | orders_after.keys()):
        ob, oa = orders_before.get(oid), orders_after.get(oid)
        change_min: int | None = None
        if ob is None:
            kind = "added"
        elif oa is None:
            kind = "removed"
        else:
            change_min = _minutes(ob["delivery"], oa["delivery"])
            if change_min == 0:
                continue
            kind = "delivery"
        order_counts[kind] += 1
        order_rows.append({
            "id": oid, "change": kind,
            "delivery_before": None if ob is None else ob["delivery"],
            "delivery_after": None if oa is None else oa["delivery"],
            "change_min": change_min,
            "tardiness_before": None if ob is None else ob.get("tardiness_min"),
            "tardiness_after": None if oa is None else oa.get("tardiness_min"),
        })

    summary = {
        "steps_compared": len(shifts),
        "steps_moved": counts["site"] + counts["resource"] + counts["time"],
        "site_changes": counts["site"],
        "resource_changes": counts["resource"],
        "time_shifts": counts["time"],
        "mean_abs_shift_min": round(sum(shifts) / len(shifts), 2) if shifts else 0.0,
        "max_abs_shift_min": max(shifts, default=0),
        "steps_added": counts["added"],
        "steps_removed": counts["removed"],
        "orders_delivery_changed": order_counts["delivery"],
        "orders_added": order_counts["added"],
        "orders_removed": order_counts["removed"],
        "on_time_before": _on_time(before, orders_before.values()),
        "on_time_after": _on_time(after, orders_after.values()),
        "weighted_tardiness_before": _weighted_tardiness(before),
        "weighted_tardiness_after": _weighted_tardiness(after),
    }
    return {"summary": summary, "steps": [row for _, row in rows], "orders": order_rows}
