"""What-if scenarios: `POST /scenarios` (the base and variants solved as jobs), `GET
/scenarios` (the list), `GET /scenarios/{id}` (the comparison), cancel, `POST
/scenarios/{id}/variants/{n}/apply`, `POST /resilience` (per site, its loss for some days),
and the compare page (`/ui/scenarios/{id}`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from app.db import reading, transaction
from app.deps import AppState, Planner, Reader
from app.errors import problem_responses
from app.routes.pages import templates
from app.schemas.scenarios import (
    ResilienceRequest,
    ScenarioCompare,
    ScenarioOut,
    ScenarioPage,
    ScenarioRequest,
)
from app.services import scenarios as svc
from app.services import values

router = APIRouter(tags=["scenarios"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such scenario"}}


def _out(state: AppState, scen_id: str) -> ScenarioOut:
    with reading(state.sessions) as s:
        scen = svc.get(s, scen_id)
        return ScenarioOut.model_validate(svc.summary(scen, svc._jobs(s, scen)))


@router.post("/scenarios", operation_id="createScenario", status_code=202,
             response_model=ScenarioOut, responses=problem_responses(409, 422, 429))
def create(body: ScenarioRequest, state: AppState, _: Planner,
           response: Response) -> ScenarioOut:
    """Queue a what-if scenario: the base (the current factory, open orders and floor
    state from now, or `problem`) and each variant (the base with its changes) as solve
    jobs with the same time limit and seed, run side by side as far as the server's
    `max_solves` allows. Every change is checked first: a 422 names each bad one as
    `variants[v].changes[i].field`, and nothing is queued. 202 with the scenario (poll
    its `Location`). Nothing is applied: see `.../variants/{n}/apply`."""
    st = state.settings
    workers = values.check_workers(body.workers, st)
    with transaction(state.sessions) as s:
        scen = svc.submit(
            s, now=st.clock(), kind="whatif", name=body.name, problem=body.problem,
            variants=[(v.name, v.changes) for v in body.variants], days=None,
            time_limit=body.time_limit, default_time_limit=st.default_time_limit,
            max_time_limit=st.max_time_limit, seed=body.seed, workers=workers,
            max_queued=st.max_queued_jobs)
        scen_id = scen.id
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/scenarios/{scen_id}"
    return _out(state, scen_id)


@router.post("/resilience", operation_id="createResilience", status_code=202,
             response_model=ScenarioOut, responses=problem_responses(409, 422, 429))
def resilience(state: AppState, _: Planner, response: Response,
               body: Annotated[ResilienceRequest | None, Body()] = None) -> ScenarioOut:
    """Queue a site-loss resilience scenario: per site, that site down for `days` days
    from the base's horizon_start, solved beside the base. `GET /scenarios/{id}` ranks
    the sites by the weighted tardiness their loss adds (`ranking`) and lists the orders
    that slip."""
    body = body or ResilienceRequest()
    st = state.settings
    workers = values.check_workers(body.workers, st)
    with transaction(state.sessions) as s:
        scen = svc.submit(
            s, now=st.clock(), kind="resilience", name=body.name, problem=body.problem,
            variants=None, days=body.days, time_limit=body.time_limit,
            default_time_limit=st.default_time_limit, max_time_limit=st.max_time_limit,
            seed=body.seed, workers=workers, max_queued=st.max_queued_jobs)
        scen_id = scen.id
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/scenarios/{scen_id}"
    return _out(state, scen_id)


@router.get("/scenarios", operation_id="listScenarios", response_model=ScenarioPage)
def list_scenarios(
    state: AppState, _: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> ScenarioPage:
    """Scenarios and resilience runs, newest first, without their comparisons (each
    links to its compare page)."""
    with reading(state.sessions) as s:
        items, total = svc.page(s, limit, offset)
    return ScenarioPage(items=[ScenarioOut.model_validate(i) for i in items], total=total,
                        limit=limit, offset=offset)


@router.get("/scenarios/{scenario_id}", operation_id="getScenario",
            response_model=ScenarioCompare, responses=NOT_FOUND)
def get(scenario_id: str, state: AppState, _: Reader) -> dict[str, Any]:
    """The scenario and the comparison of its jobs finished so far: per side the status,
    on-time orders, weighted tardiness, makespan, utilisation and power per site, the
    capacity report's bottlenecks and a heat map, and per variant the change against the
    base and the orders whose delivery changed; links to each side's Gantt, exports,
    explanation and diff against the base."""
    with reading(state.sessions) as s:
        return svc.comparison(s, scenario_id)


@router.delete("/scenarios/{scenario_id}", operation_id="cancelScenario",
               response_model=ScenarioOut,
               responses={**NOT_FOUND, 409: {"description": "every job has finished"}})
def cancel(scenario_id: str, state: AppState, _: Planner) -> ScenarioOut:
    """Cancel the jobs not finished yet: the queued at once, the running keep the best
    schedule found so far; the finished variants keep theirs."""
    with transaction(state.sessions) as s:
        svc.cancel(s, scenario_id, state.settings.clock())
    return _out(state, scenario_id)


@router.post("/scenarios/{scenario_id}/variants/{n}/apply", operation_id="applyScenarioVariant",
             response_model=dict[str, Any],
             responses={**NOT_FOUND, **problem_responses(409, 422)})
def apply(scenario_id: str, state: AppState, _: Planner,
          n: Annotated[int, Path(ge=0, le=1000)]) -> dict[str, Any]:
    """Make variant `n` (from 0, as listed) real: its factory changes become the current
    factory (a new version), its order changes the orders. Only for a scenario built from
    the current factory while that is still current, once per scenario (409 otherwise)."""
    st = state.settings
    with transaction(state.sessions) as s:
        return svc.apply(s, scenario_id, n, st.clock(), st.limits())


@router.get("/ui/scenarios/{scenario_id}", include_in_schema=False)
def page(request: Request, scenario_id: str) -> HTMLResponse:
    """The compare page of one scenario (it fetches `/scenarios/{id}`)."""
    return templates.TemplateResponse(request, "scenarios.html",
                                      headers={"Cache-Control": "no-cache"})
