"""Limits on the values a request holds, in one place: every time lies within the window
around now (`RACKPLAN_TIME_WINDOW_DAYS`), an order has at most `RACKPLAN_MAX_QUANTITY`
racks, a solve asks for at most `RACKPLAN_MAX_WORKERS` workers. The solver's
`limit_faults` finds the faults; this module names them as the API does and refuses them.
"""

from __future__ import annotations

from datetime import datetime

from app.config import Settings
from app.domain import Fault, Invalid
from solver.problem import limit_faults


def faults(node: object, settings: Settings, now: datetime, path: str = "") -> list[Fault]:
    """The faults of every time and size under `node` (a model, or a list of models) as
    `{field, message}`, the field a path like `[3].due` under `path`."""
    return [{"field": where or "body", "message": message}
            for where, message in limit_faults(node, settings.limits(), now, "now", path)]


def check(node: object, settings: Settings, now: datetime, *, path: str = "",
          title: str | None = None) -> None:
    """Refuse (Invalid, every fault listed) when anything under `node` is out of limits."""
    found = faults(node, settings, now, path)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise Invalid(f"{found[0]['field']}: {found[0]['message']}{more}", found, title=title)


def check_time(field: str, t: datetime | None, settings: Settings, now: datetime) -> None:
    """A time a query or request field gives: with a UTC offset and within the window."""
    if t is None:
        return
    if t.tzinfo is None:
        raise Invalid(f"{field}: time has no UTC offset",
                      [{"field": field, "message": "time has no UTC offset"}])
    check(t, settings, now, path=field)


def check_workers(workers: int | None, settings: Settings) -> int:
    """The workers of a solve: the request's, at most `max_workers` (else Invalid naming
    `workers`), or the setting's."""
    if workers is not None and workers > settings.max_workers:
        msg = (f"workers {workers} is more than this server's maximum of "
               f"{settings.max_workers} (RACKPLAN_MAX_WORKERS)")
        raise Invalid(msg, [{"field": "workers", "message": msg}])
    return settings.solve_workers(workers)
