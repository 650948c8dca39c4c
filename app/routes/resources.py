"""`POST /resources/{id}/downtime` and `DELETE /resources/{id}/downtime/{start}`: planned
maintenance, each change kept as a new factory version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.db import transaction
from app.deps import AppState, EventWriter
from app.errors import problem_responses
from app.schemas.resources import DowntimeIn, DowntimeOut, DowntimeWindow
from app.services import factory as svc
from app.services import values
from app.tables import FactoryVersion

router = APIRouter(prefix="/resources", tags=["factory"])


def _out(fv: FactoryVersion, resource_id: str, window: dict[str, Any]) -> DowntimeOut:
    res = next(r for r in fv.data["resources"] if r["id"] == resource_id)
    return DowntimeOut(resource=resource_id, factory_version=fv.version,
                       window=DowntimeWindow(**window),
                       downtime=[DowntimeWindow(**w) for w in res.get("downtime", [])])


@router.post("/{resource_id}/downtime", operation_id="addDowntime", status_code=201,
             response_model=DowntimeOut, responses=problem_responses(404, 409))
def add_downtime(resource_id: str, body: DowntimeIn, state: AppState,
                 _: EventWriter) -> DowntimeOut:
    """Plan maintenance on a resource: the window joins its downtime in a new factory
    version (planner or mes). Refused: a window that does not end after its start and
    now (422), one that overlaps another of the resource's windows, or one that would
    start while a step running there is not done (409)."""
    st = state.settings
    now = st.clock()
    values.check(body, st, now)
    with transaction(state.sessions) as s:
        fv, window = svc.add_downtime(s, resource_id, body.start, body.end, body.reason,
                                      now, st.limits())
        return _out(fv, resource_id, window)


@router.delete("/{resource_id}/downtime/{start}", operation_id="removeDowntime",
               response_model=DowntimeOut, responses=problem_responses(404))
def remove_downtime(
    resource_id: str,
    start: Annotated[datetime, Path(description="the window's start, ISO time with offset")],
    state: AppState,
    _: EventWriter,
) -> DowntimeOut:
    """Remove the resource's downtime window that starts at `start` (a window is known by
    its start: a resource's windows never overlap), in a new factory version."""
    st = state.settings
    now = st.clock()
    values.check_time("start", start, st, now)
    with transaction(state.sessions) as s:
        fv, window = svc.remove_downtime(s, resource_id, start, now, st.limits())
        return _out(fv, resource_id, window)
