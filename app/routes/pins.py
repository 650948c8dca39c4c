"""Pins (`GET/POST/DELETE /pins`) and moves (`POST /schedules/{id}/moves`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.auth import Principal
from app.clock import parse_stamp
from app.db import reading, transaction
from app.deps import AppState, Planner, Reader
from app.domain import Invalid
from app.errors import problem_responses
from app.routes.schedules import job_out
from app.schemas.pins import MoveIn, MoveOut, PinIn, PinList, PinOut, PinState
from app.services import jobs as jobs_svc
from app.services import moves as moves_svc
from app.services import pins as svc
from app.services import values
from app.services.problems import current_problem
from app.tables import Pin, PinKind

router = APIRouter(tags=["pins"])
# seconds a move waits for its repair beyond its time limit and the start's grace: the
# worker's start, and solves ahead of it in the queue
MOVE_QUEUE_SLACK = 60.0


def _who(p: Principal) -> str:
    return f"{p.role} (local mode)" if p.key_id == "local" else f"{p.role} key {p.key_id}"


def _out(pin: Pin, report: svc.Report | None) -> PinOut:
    state: PinState = "unchecked"
    why: str | None = "there is nothing to plan now (no factory or no open orders)"
    if report is not None:
        dropped = {d["pin"]: d["reason"] for d in report["dropped"]}
        if pin.id in dropped:
            state, why = "cannot hold", dropped[pin.id]
        elif pin.id in report["floor"]:
            state, why = "floor", None
        else:
            state, why = "holds", None
    return PinOut(id=pin.id, kind=pin.kind, order=pin.order_id, unit=pin.unit, op=pin.op,
                  resource=pin.resource, start=pin.start, site=pin.site, reason=pin.reason,
                  set_by=pin.set_by, created_at=pin.created_at, state=state, why=why)


@router.get("/pins", operation_id="listPins", response_model=PinList)
def list_pins(state: AppState, _: Reader) -> PinList:
    """Every pin, oldest first, each with whether a solve now keeps it (`state`) and, when
    it cannot hold, why."""
    with reading(state.sessions) as s:
        pins = svc.list_pins(s)
        report = svc.empty_report()
        problem = current_problem(s, state.settings.clock(), pins=report) if pins else None
        items = [_out(p, report if problem is not None else None) for p in pins]
    return PinList(items=items, total=len(items))


@router.post("/pins", operation_id="createPin", status_code=201, response_model=PinOut,
             responses=problem_responses(409, 422))
def create_pin(body: PinIn, state: AppState, who: Planner, response: Response) -> PinOut:
    """Pin a step to a resource and start, or an order's racks to a site: every later solve
    and reschedule keeps it until it is removed. 422 when it cannot hold now (naming the
    rule), 409 when the step or order is pinned already."""
    now = state.settings.clock()
    if body.start is not None:
        values.check_time("start", body.start, state.settings, now)
    with transaction(state.sessions) as s:
        pin = svc.create(
            s, kind=PinKind(body.kind), order=body.order, unit=body.unit, op=body.op,
            resource=body.resource, start=body.start, site=body.site, reason=body.reason,
            who=_who(who), problem=current_problem(s, now, keep_pins=False))
        out = _out(pin, {"kept": [pin.id], "floor": [], "dropped": []})
    response.headers["Location"] = f"/pins/{out.id}"
    return out


@router.delete("/pins/{pin_id}", operation_id="deletePin", status_code=204,
               responses=problem_responses(404))
def delete_pin(pin_id: Annotated[int, Path(ge=1, le=2_147_483_647)], state: AppState,
               _: Planner) -> Response:
    """Remove a pin: later solves no longer keep it (plans already made are unchanged)."""
    with transaction(state.sessions) as s:
        svc.delete(s, pin_id)
    return Response(status_code=204)


@router.post("/schedules/{job_id}/moves", operation_id="moveStep", status_code=201,
             response_model=MoveOut,
             responses={**problem_responses(404, 409, 422),
                        202: {"model": MoveOut, "description": "the repair is still running"}})
def move_step(job_id: str, body: MoveIn, state: AppState, who: Planner,
              response: Response) -> MoveOut:
    """Move one step of a plan to another resource and/or start. The move is checked
    against the rules first (422 naming the rule it would break), then the plan is
    repaired around it (a reschedule job with the moved step fixed, validated like any
    other): 201 with the new plan when it is done within a few seconds, 202 with the job
    while it still runs. With `pin`, or when the step was pinned, the step is pinned
    where it was moved to."""
    st = state.settings
    now = st.clock()
    if body.start is not None:
        values.check_time("start", body.start, st, now)
    workers = values.check_workers(None, st)
    with transaction(state.sessions) as s:
        job = moves_svc.submit(
            s, job_id, order=body.order, unit=body.unit, op=body.op,
            resource=body.resource, start=body.start, now=now, time_limit=body.time_limit,
            max_time_limit=st.max_time_limit, seed=body.seed, workers=workers)
        new_id = job.id
        limit = float(job.params["time_limit"])
        moved = {k: str(v) for k, v in job.params["move"].items() if k != "was"}
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/schedules/{new_id}"
    done = moves_svc.wait(state.sessions, new_id, limit + st.job_grace_seconds + MOVE_QUEUE_SLACK)
    if done.status not in moves_svc.FINISHED:
        response.status_code = 202
        with reading(state.sessions) as s:
            return MoveOut(job=job_out(done, jobs_svc.latest_publication(s)), moved=moved)
    why = moves_svc.why_not(done)
    if why is not None:
        raise Invalid(f"the plan cannot be repaired around the move: {why}",
                      [{"id": new_id, "field": "start", "message": why}])
    pin_out: PinOut | None = None
    pin_refused: str | None = None
    with transaction(state.sessions) as s:
        existing = svc.step_pin_of(s, body.order, body.unit, body.op)
        if body.pin or existing is not None:
            try:
                pin = svc.create(
                    s, kind=PinKind.STEP, order=body.order, unit=body.unit, op=body.op,
                    resource=moved["resource"],
                    start=parse_stamp(moved["start"]), site=None,
                    reason=body.reason or (existing.reason if existing else ""),
                    who=_who(who), replace=True,
                    problem=current_problem(s, now, keep_pins=False))
                pin_out = _out(pin, {"kept": [pin.id], "floor": [], "dropped": []})
            except Invalid as exc:
                pin_refused = exc.detail
        out = job_out(done, jobs_svc.latest_publication(s))
    return MoveOut(job=out, pin=pin_out, pin_refused=pin_refused, moved=moved)

