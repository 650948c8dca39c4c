"""Every error answer is `application/problem+json` (RFC 9457); no traceback reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from solver.problem import ProblemError

log = logging.getLogger("rackplan.errors")
PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An error answer: status, a one-line title, detail, and optional structured faults.

    `errors` entries are objects naming what is at fault, e.g. `{"field": "orders[3].due",
    "message": "..."}` or `{"row": 4, "column": "due", "value": "x", "message": "..."}`.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors or [])
        self.headers = headers


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem+json body for an error answer."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


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


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation faults as `{field, message}` entries."""
    return [
        {"field": _loc(e.get("loc", ())), "message": str(e.get("msg", "invalid value"))}
        for e in exc.errors()
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.detail, title=exc.title, errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        errors = [{"message": m} for m in exc.errors]
        detail = "; ".join(exc.errors[:3]) + (" ..." if len(exc.errors) > 3 else "")
        return problem_response(
            request, 422, detail, title="Invalid factory or orders", errors=errors
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        return problem_response(request, 422, detail, title="Invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(
            request, exc.status_code, detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request, 500, "internal error; the server log has the details",
        )
