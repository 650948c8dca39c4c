"""`PUT /factory`, `GET /factory`, `GET /factory/versions/{v}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from fastapi.exceptions import RequestValidationError
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


# the body as FactoryIn documents it (its parts are components the responses use too)
_FACTORY_IN = {k: v for k, v in FactoryIn.model_json_schema(
    ref_template="#/components/schemas/{model}").items() if k != "$defs"}


@router.put("", operation_id="replaceFactory",
            response_model=FactoryOut, responses={201: {"model": FactoryOut}},
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": _FACTORY_IN}}}})
def put_factory(
    raw: Annotated[dict[str, Any], Body()], state: AppState, _: Planner, response: Response
) -> FactoryOut:
    """Replace the factory model; a change is kept as a new version (201), the same model
    again changes nothing (200). A refusal names every fault at once: shape, references,
    calendars and limits."""
    try:
        body = FactoryIn.model_validate(raw)
    except ValidationError as exc:
        # the problem model names the faults of every layer in one answer
        svc.check_factory(raw, state.settings.clock(), state.settings.limits())
        raise RequestValidationError(exc.errors(include_url=False)) from None
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
