"""The one mapping of refusals to problem+json answers (app/errors.py): each domain error
of app/domain.py to its status, title, detail and `errors`; the solver's ProblemError and
a request that does not validate."""

from __future__ import annotations

import inspect

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import domain
from app.domain import (
    Conflict,
    DomainError,
    Fault,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedFormat,
)
from app.errors import PROBLEM_JSON, STATUS, install, status_of
from solver.problem import ProblemError

FAULTS: list[Fault] = [{"field": "orders[0].due", "id": "SO-1", "message": "no offset"},
                       {"row": 3, "column": "quantity", "value": "0", "message": "too small"}]
CASES: list[tuple[DomainError, int, str]] = [
    (NotFound("order 'X' does not exist"), 404, "Not Found"),
    (Conflict("no factory model yet", faults=FAULTS[:1]), 409, "Conflict"),
    (Conflict("job 'j' cannot be published", title="Not publishable"), 409, "Not publishable"),
    (Invalid("two faults", FAULTS), 422, "Unprocessable Entity"),
    (Invalid("bad rows", FAULTS, title="Invalid order file"), 422, "Invalid order file"),
    (PreconditionFailed("If-Match does not name the current publication"), 412,
     "Precondition Failed"),
    (TooLarge("the file is larger than 10 bytes"), 413, "Request Entity Too Large"),
    (UnsupportedFormat("not an order file"), 415, "Unsupported Media Type"),
    (Unavailable("database unreachable"), 503, "Service Unavailable"),
    (Unauthenticated("a valid X-API-Key header is required"), 401, "Unauthorized"),
    (Forbidden("role 'viewer' may not plan"), 403, "Forbidden"),
]


def client_raising(exc: Exception) -> TestClient:
    """An app with the error handlers whose one route raises `exc`."""
    app = FastAPI()
    install(app)

    @app.get("/thing/{n}")
    def thing(n: int) -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("exc", "status", "title"), CASES,
                         ids=[f"{type(c[0]).__name__}-{c[1]}" for c in CASES])
def test_each_domain_error_is_its_status_and_body(exc: DomainError, status: int,
                                                  title: str) -> None:
    """A domain error answers its status as problem+json: its title (else the status's
    phrase), its detail, the request path, and its faults as `errors` (left out when
    there are none)."""
    r = client_raising(exc).get("/thing/7")
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM_JSON
    expected = {"type": "about:blank", "title": title, "status": status,
                "detail": exc.detail, "instance": "/thing/7"}
    if exc.faults:
        expected["errors"] = exc.faults
    assert r.json() == expected


def test_unauthenticated_names_the_key_header() -> None:
    """Only the 401 answer carries `WWW-Authenticate: X-API-Key`."""
    r = client_raising(Unauthenticated("the X-API-Key is not valid")).get("/thing/1")
    assert r.headers["www-authenticate"] == "X-API-Key"
    assert "www-authenticate" not in client_raising(Forbidden("no")).get("/thing/1").headers


def test_every_domain_error_has_a_status() -> None:
    """Each error class app/domain.py defines is mapped to a 4xx/5xx status; a subclass
    answers its parent's."""
    kinds = [c for _, c in inspect.getmembers(domain, inspect.isclass)
             if issubclass(c, DomainError) and c is not DomainError]
    assert set(kinds) == set(STATUS)
    assert all(400 <= STATUS[k] < 600 for k in kinds)

    class NoSuchJob(NotFound):
        pass

    assert status_of(NoSuchJob("x")) == 404
    assert status_of(DomainError("x")) == 500  # a refusal of no known kind is a bug


def test_invalid_listing_counts_the_other_faults() -> None:
    """`Invalid.listing` puts the first fault's message and how many more in the detail."""
    assert Invalid.listing(FAULTS).detail == "no offset (and 1 more)"
    one = Invalid.listing(FAULTS[:1], title="Invalid filter")
    assert one.detail == "no offset" and one.title == "Invalid filter"
    assert one.faults == FAULTS[:1]


def test_problem_error_is_422_listing_every_fault() -> None:
    """The solver's ProblemError is 422 'Invalid factory or orders', one entry per fault,
    the detail the first three."""
    faults = [f"fault {i}" for i in range(5)]
    r = client_raising(ProblemError(faults)).get("/thing/1")
    assert r.status_code == 422
    body = r.json()
    assert body["title"] == "Invalid factory or orders"
    assert body["detail"] == "fault 0; fault 1; fault 2 ..."
    assert body["errors"] == [{"message": f} for f in faults]


def test_request_validation_names_the_field() -> None:
    """A path value that does not parse is 422 'Invalid request' naming the field."""
    r = client_raising(NotFound("never")).get("/thing/seven")
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["title"] == "Invalid request"
    assert [e["field"] for e in body["errors"]] == ["n"]


def test_an_unexpected_exception_is_a_plain_500() -> None:
    """Any other exception is a 500 problem answer that says nothing of it."""
    r = client_raising(RuntimeError("secret internals")).get("/thing/1")
    assert r.status_code == 500 and "secret" not in r.text
    assert r.json()["detail"] == "internal error; the server log has the details"
