"""Every error answer is `application/problem+json` (RFC 9457); no traceback reaches a client.

The one place where a refusal becomes an HTTP answer: each domain error (`app.domain`) gets
its status here (`STATUS`), as do the solver's `ProblemError`, a request that does not
validate (a body that is not JSON at all: 400), a value the database refuses, and a
database that is busy or does not answer (503 with Retry-After).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    QueueFull,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedFormat,
)
from solver.problem import ProblemError, text_message

log = logging.getLogger("rackplan.errors")
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 2  # what a busy database's 503 asks the caller to wait

# PostgreSQL's refusals of a moment, which the same request may pass a little later
BUSY_SQLSTATES = {
    "40001": "a concurrent update (serialization failure)",
    "40P01": "a deadlock with a concurrent write",
    "55P03": "a lock it could not get in time",
    "57014": "a statement that ran out of time",
}
SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


STATUS: dict[type[DomainError], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Invalid: HTTPStatus.UNPROCESSABLE_ENTITY,
    PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    TooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedFormat: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    Unavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    QueueFull: HTTPStatus.TOO_MANY_REQUESTS,
}
HEADERS: dict[type[DomainError], dict[str, str]] = {
    Unauthenticated: {"WWW-Authenticate": "X-API-Key"},
}


def status_of(exc: DomainError) -> HTTPStatus:
    """The HTTP status of a domain error (of its nearest class in `STATUS`)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return HTTPStatus.INTERNAL_SERVER_ERROR  # a DomainError of no known kind is a bug


def domain_response(request: Request, exc: DomainError) -> JSONResponse:
    """The problem+json answer for a domain error: its status, the error's title (else the
    status's phrase), detail and faults (`errors`)."""
    status = int(status_of(exc))
    headers = next((HEADERS[c] for c in type(exc).__mro__ if c in HEADERS), None)
    if isinstance(exc, QueueFull):
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return problem_response(request, status, exc.detail, title=exc.title, errors=exc.faults,
                            headers=headers, error_count=exc.fault_count)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    error_count: int | None = None,
) -> JSONResponse:
    """The problem+json body for an error answer; of `errors` (`error_count` in all, when
    only the first are given) it lists the first `RACKPLAN_MAX_FAULTS`."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        # the first faults and how many there are: a huge bad batch gets a small answer
        body["errors"] = list(errors[:_max_faults(request)])
        total = max(len(errors), error_count or 0)
        if total > len(body["errors"]):
            body["error_count"] = total
            body["detail"] += f" ({total} faults; the first {len(body['errors'])} are listed)"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _max_faults(request: Request) -> int:
    """How many faults an answer lists (`RACKPLAN_MAX_FAULTS`; 100 before the lifespan)."""
    state = getattr(request.app.state, "rackplan", None)
    return int(state.settings.max_faults) if state is not None else 100


def _loc(loc: Sequence[Any]) -> str:
    """A pydantic location as a field path: ("body", "orders", 3, "due") -> orders[3].due."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def database_fault(exc: OperationalError) -> str | None:
    """Why the database refused for a moment (busy, locked, unreachable) in words, or
    None for an error that is the service's own (a bug: 500)."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in BUSY_SQLSTATES:
        return f"the database is busy ({BUSY_SQLSTATES[sqlstate]})"
    text = str(orig).lower()
    if any(m in text for m in SQLITE_BUSY):
        return "the database is busy (another write holds its lock)"
    if (isinstance(sqlstate, str) and sqlstate.startswith("08")) or (
            sqlstate is None and "connection" in text):
        return "the database does not answer"
    return None


def json_fault(exc: RequestValidationError) -> str | None:
    """What is wrong with a body that is not JSON at all (None: it parsed)."""
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            loc = e.get("loc", ())
            pos = next((p for p in reversed(loc) if isinstance(p, int)), None)
            why = str((e.get("ctx") or {}).get("error", "")) or "not JSON"
            return f"the body is not valid JSON ({why}" + (
                f" at character {pos})" if pos is not None else ")")
    return None


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation faults as `{field, message}` entries."""
    return [
        {"field": _loc(e.get("loc", ())),
         "message": text_message(e) or str(e.get("msg", "invalid value"))}
        for e in exc.errors()
    ]


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error answer (RFC 9457 problem details).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array", "items": {"type": "object"},
            "description": "each fault, naming the field, row, column or id at fault",
        },
    },
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the error answers a route gives; `install` documents
    their bodies as problem+json."""
    return {code: {"description": HTTPStatus(code).phrase} for code in codes}


def document_problems(schema: dict[str, Any]) -> None:
    """Make an OpenAPI document say what the handlers do: every 4xx/5xx answer is
    problem+json, an operation with a body may answer 400 (it does not parse) and 413
    (it is over the size limit), and one taking X-API-Key may answer 401 and 403."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    body = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for methods in schema.get("paths", {}).values():
        for op in methods.values():
            responses = op.setdefault("responses", {})
            if any(p.get("in") == "header" and p.get("name", "").lower() == "x-api-key"
                   for p in op.get("parameters", [])):
                for code, answer in problem_responses(401, 403).items():
                    responses.setdefault(str(code), answer)
            if "requestBody" in op:  # a body that does not parse is 400, a too large one 413
                responses.setdefault("400", problem_responses(400)[400])
                responses.setdefault("413", problem_responses(413)[413])
            for code, answer in responses.items():
                if str(code)[0] in "45":
                    answer["content"] = body


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json (and document them
    so in the OpenAPI schema)."""
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_problems(plain_openapi())
        return app.openapi_schema or plain_openapi()

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_response(request, exc)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        errors = exc.faults  # each with the field and id it names, where it has them
        detail = "; ".join(exc.errors[:3]) + (" ..." if len(exc.errors) > 3 else "")
        return problem_response(
            request, 422, detail, title="Invalid factory or orders", errors=errors
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        bad_json = json_fault(exc)
        if bad_json is not None:  # the body does not parse: 400, as the API documents it
            return problem_response(request, 400, bad_json, title="Malformed request body",
                                    errors=[{"field": "body", "message": bad_json}])
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        return problem_response(request, 422, detail, title="Invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(
            request, exc.status_code, detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # the database refused a value the checks let through (e.g. a NUL character in
        # text on PostgreSQL): the input's fault, and nothing was written
        log.info("database refused a value on %s %s: %s", request.method, request.url.path,
                 exc.orig)
        return problem_response(
            request, 422,
            "a value cannot be stored (text must not contain NUL characters; numbers must "
            "fit the database)", title="Invalid value",
        )

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        # a lock timeout, a serialization failure, a database that does not answer: the
        # request wrote nothing (its transaction rolled back) and may be sent again
        fault = database_fault(exc)
        if fault is None:
            return await _bug(request, exc)
        log.warning("database refused %s %s for now: %s", request.method, request.url.path,
                    exc.orig)
        return problem_response(
            request, 503, f"{fault}; nothing was written: retry in a moment",
            title="Database busy", headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request, 500, "internal error; the server log has the details",
        )
