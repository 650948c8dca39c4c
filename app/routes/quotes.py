"""`POST /quotes`: when could a new order be delivered, inserted into the published plan
without delaying any other order; and `POST /orders/{order_id}/confirm`, which turns a
reserved quote into an order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.db import transaction
from app.deps import AppState, OrderWriter
from app.errors import problem_responses
from app.routes.orders import out
from app.schemas.orders import OrderOut
from app.schemas.quotes import QuoteOut, QuoteRequest
from app.services import orders as orders_svc
from app.services import quotes as svc

router = APIRouter(tags=["quotes"])

Reserve = Annotated[bool, Query(
    description="hold the capacity: the order is stored with status quoted and is kept in "
    "every plan until it expires (setting RACKPLAN_QUOTE_HOLD_HOURS, 48) or is confirmed")]


@router.post("/quotes", operation_id="createQuote", response_model=QuoteOut,
             responses=problem_responses(409, 422, 503))
def create_quote(body: QuoteRequest, state: AppState, _: OrderWriter, response: Response,
                 reserve: Reserve = False) -> QuoteOut:
    """The earliest delivery of the order inserted into the published plan with every
    other order's delivery kept (no other step moves), the sites, and what sets the date
    (the binding constraint, in words and ids); the job id of the validated plan with it
    inserted (`plan`: Gantt, diff, explain like any plan); and the earliest date found
    when other orders may be later (`alternative`: by how much, which orders, its own
    plan). A few seconds; one quote at a time. 409: nothing published or no plan to
    insert into; 422: a bad field, all named; nothing is stored unless `reserve=true`."""
    answer = svc.create(state.sessions, state.settings, body, reserve=reserve)
    if reserve:
        response.headers["Location"] = f"/orders/{answer['order']}"
    return QuoteOut.model_validate(answer)


@router.post("/orders/{order_id}/confirm", operation_id="confirmOrder",
             response_model=OrderOut, tags=["orders"], responses=problem_responses(404, 409))
def confirm_order(order_id: str, state: AppState, _: OrderWriter) -> OrderOut:
    """Turn a reserved quote into an order (status open, no expiry); an open order is left
    as it is. 409: the quote has expired, or the order is cancelled."""
    with transaction(state.sessions) as s:
        return out(orders_svc.confirm(s, order_id, state.settings.clock()))
