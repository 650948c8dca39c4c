"""`PUT /factory`, `GET /factory`, `GET /factory/versions/{v}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ValidationError

from app.db import reading, transaction
from app.deps import AppState, Planner, Reader
from app.domain import NotFound
from app.errors import problem_responses
from app.schemas.factory import FactoryIn, FactoryOut
from app.services import factory as svc
from app.tables import FactoryVersion

router = APIRouter(prefix="/factory", tags=["factory"])


def _out(fv: FactoryVersion) -> FactoryOut:
    return FactoryOut.model_validate({**fv.data, "version": fv.version,
                                      "created_at": fv.created_at})


async def _every_fault(request: Request, state: AppState, _: Planner) -> None:
    """A body that is not a factory is answered by the problem model, which names the
    faults of every layer (shape, references, calendars, limits) in one answer; this runs
    before the body's own check, which names its shape faults only."""
    try:
        raw = await request.json()
    except ValueError:
        return  # not JSON: the body's own check answers (400)
    if not isinstance(raw, dict):
        return
    try:
        FactoryIn.model_validate(raw)
    except ValidationError:
        svc.check_factory(raw, state.settings.clock(), state.settings.limits())


@router.put("", operation_id="replaceFactory", dependencies=[Depends(_every_fault)],
            response_model=FactoryOut, responses={201: {"model": FactoryOut}})
def put_factory(body: FactoryIn, state: AppState, _: Planner, response: Response) -> FactoryOut:
    """Replace the factory model; a change is kept as a new version (201), the same model
    again changes nothing (200). A refusal names every fault at once: shape, references,
    calendars and limits."""
    data = body.model_dump(mode="json", exclude_none=True)
    with transaction(state.sessions) as s:
        fv, created = svc.put_factory(s, data, state.settings.clock(),
                                      state.settings.limits())
        out = _out(fv)
    response.status_code = 201 if created else 200
    return out


@router.get("", operation_id="getFactory",
            response_model=FactoryOut, responses=problem_responses(409))
def get_factory(state: AppState, _: Reader) -> FactoryOut:
    """The current factory model."""
    with reading(state.sessions) as s:
        return _out(svc.require_latest(s))


@router.get("/versions/{version}", operation_id="getFactoryVersion", response_model=FactoryOut,
            responses=problem_responses(404))
def get_factory_version(
    version: Annotated[int, Path(ge=1, le=2_147_483_647)], state: AppState, _: Reader
) -> FactoryOut:
    """One earlier factory version (schedules name the version they were made from)."""
    with reading(state.sessions) as s:
        fv = s.get(FactoryVersion, version)
        if fv is None:
            raise NotFound(f"factory version {version} does not exist")
        return _out(fv)
