"""`POST /events` (floor events from MES) and `GET /events`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.db import reading, transaction
from app.deps import AppState, EventWriter, Reader
from app.domain import Fault
from app.errors import problem_responses
from app.schemas import MAX_BATCH
from app.schemas.events import EventBatchResult, EventPage, FloorEvent, StoredEvent
from app.services import events as svc
from app.services import values

router = APIRouter(prefix="/events", tags=["events"])

EXAMPLE = [
    {"event_id": "mes-0001", "type": "step_started", "order": "SO-1002", "unit": 1,
     "op": "assembly", "resource": "HOU-ASM-01", "at": "2026-11-29T08:00:00Z"},
    {"event_id": "mes-0002", "type": "step_completed", "order": "SO-1002", "unit": 1,
     "op": "assembly", "at": "2026-11-29T16:00:00Z"},
    {"event_id": "mes-0003", "type": "resource_down", "resource": "HOU-TST-01",
     "start": "2026-11-29T18:00:00Z", "end": "2026-11-29T22:00:00Z"},
]


@router.post("", operation_id="recordEvents",
             response_model=EventBatchResult, responses=problem_responses(409))
def post_events(
    events: Annotated[list[FloorEvent], Body(examples=[EXAMPLE], max_length=MAX_BATCH)],
    state: AppState,
    _: EventWriter,
) -> EventBatchResult:
    """Record a batch of floor events (at most 50,000), applied in list order, all or
    nothing: a refusal names every bad event. An event_id already received with the same
    content is ignored (MES retries are safe). A time up to RACKPLAN_CLOCK_SKEW_SECONDS
    ahead of the server's clock is taken as now."""
    st = state.settings
    now = st.clock()
    limits: list[Fault] = []
    for i, ev in enumerate(events):
        for f in values.faults(ev, st, now, f"[{i}]"):
            limits.append({**f, "index": i, "event_id": ev.event_id})
    with transaction(state.sessions) as s:
        return svc.record(s, events, now, skew=timedelta(seconds=st.clock_skew_seconds),
                          faults=limits)


@router.get("", operation_id="listEvents", response_model=EventPage)
def list_events(
    state: AppState,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> EventPage:
    """Stored floor events, newest first, one page at a time."""
    with reading(state.sessions) as s:
        rows, total = svc.page(s, limit, offset)
        items = [StoredEvent(seq=r.seq, event_id=r.event_id, type=r.type, payload=r.payload,
                             received_at=r.received_at) for r in rows]
        return EventPage(items=items, total=total, limit=limit, offset=offset)
