"""`POST /orders`, `GET /orders`, `GET /orders/{id}`, `DELETE /orders/{id}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from app.db import reading, transaction
from app.deps import AppState, OrderWriter, Reader
from app.domain import Invalid
from app.errors import problem_responses
from app.schemas import MAX_BATCH
from app.schemas.orders import OrderBatchResult, OrderOut, OrderPage, Unplanned
from app.services import events as events_svc
from app.services import factory as factory_svc
from app.services import orders as svc
from app.services import values
from app.tables import Order, OrderStatus
from solver.problem import Order as SpecOrder
from solver.problem import Text

router = APIRouter(prefix="/orders", tags=["orders"])

EXAMPLE = [{
    "id": "SO-2001", "customer": "acme", "product": "GB300-NVL72", "quantity": 4,
    "due": "2026-12-20T00:00:00Z", "release": "2026-12-02T00:00:00Z", "weight": 3,
    "destination": "us-west",
}]


def out(row: Order) -> OrderOut:
    """The API shape of a stored order."""
    return OrderOut.model_validate({**svc.spec_dict(row), "status": row.status,
                                    "created_at": row.created_at, "updated_at": row.updated_at,
                                    "expires_at": row.expires_at})


@router.post("", operation_id="createOrders",
             response_model=OrderBatchResult, responses=problem_responses(409),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"type": "array", "maxItems": MAX_BATCH,
                            "items": SpecOrder.model_json_schema()},
                 "examples": {"batch": {"value": EXAMPLE}}}}}})
def post_orders(
    batch: Annotated[list[Any], Body(examples=[EXAMPLE], max_length=MAX_BATCH)],
    state: AppState,
    _: OrderWriter,
) -> OrderBatchResult:
    """Insert or update a batch of orders by id (at most 50,000), all or nothing; the same
    batch twice changes nothing. A refusal names every fault at once (shape, limits, the
    factory). An order the factory cannot build is stored with a warning naming its step
    and sites; plans leave it out with that reason."""
    now = state.settings.clock()
    orders, places, shape = svc.parse_batch(batch)
    errors = svc.check_batch(orders) + svc.check_values(orders, state.settings.limits(), now)
    with transaction(state.sessions) as s:
        fv = factory_svc.require_latest(s)
        errors += svc.check_against_factory(orders, fv.data)
        errors = sorted(shape + svc.renumber(errors, places), key=svc.place)
        if errors:
            raise Invalid.listing(errors, title="Invalid order batch")
        warnings = [Unplanned.model_validate(w)
                    for w in svc.batch_warnings(s, orders, fv.data, now)]
        return OrderBatchResult(**svc.upsert(s, orders, now), warnings=warnings)


@router.get("", operation_id="listOrders", response_model=OrderPage)
def list_orders(
    state: AppState,
    _: Reader,
    status: Annotated[OrderStatus | None, Query()] = None,
    product: Annotated[Text | None, Query()] = None,
    customer: Annotated[Text | None, Query()] = None,
    due_before: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    due_after: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> OrderPage:
    """Orders by due date, filtered, one page at a time, each with its units' progress."""
    now = state.settings.clock()
    for name, t in (("due_before", due_before), ("due_after", due_after)):
        values.check_time(name, t, state.settings, now)
    q = svc.query(status=status, product=product, customer=customer,
                  due_before=due_before, due_after=due_after)
    with reading(state.sessions) as s:
        rows, total = svc.page(s, q, limit, offset)
        progress = events_svc.progress_many(s, rows)
        items = [out(r).model_copy(update={"progress": progress[r.id]}) for r in rows]
        return OrderPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{order_id}", operation_id="getOrder",
            response_model=OrderOut, responses=problem_responses(404))
def get_order(order_id: str, state: AppState, _: Reader) -> OrderOut:
    """One order, with each unit's progress on the floor."""
    with reading(state.sessions) as s:
        row = svc.get(s, order_id)
        return out(row).model_copy(update={"progress": events_svc.progress(s, row)})


@router.delete("/{order_id}", operation_id="cancelOrder",
               response_model=OrderOut, responses=problem_responses(404))
def cancel_order(order_id: str, state: AppState, _: OrderWriter) -> OrderOut:
    """Cancel an order: it is kept, marked cancelled, and left out of new plans."""
    with transaction(state.sessions) as s:
        return out(svc.cancel(s, order_id, state.settings.clock()))
