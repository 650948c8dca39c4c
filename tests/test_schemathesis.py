"""schemathesis against the service's own OpenAPI schema: no 5xx, answers as documented.

The app runs in local mode on a fresh SQLite file holding the sample; schemathesis starts
its lifespan and calls it in-process (ASGI). One test per operation, with generated valid
and invalid input; only the operation that starts solves is left out (EXCLUDED).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.main import create_app
from tests.conftest import NOW

# starting solves (worker processes, seconds of CPU each) is left to the jobs' own tests
EXCLUDED = {("POST", "/schedules"), ("POST", "/reschedule")}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 50


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation not in EXCLUDED (no I/O: the schema
    is built from the routes)."""
    spec = create_app(Settings(database_url="sqlite://", log_json=False)).openapi()
    return [(method.upper(), path) for path, methods in spec["paths"].items()
            for method in methods if (method.upper(), path) not in EXCLUDED]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The schema of one app on a fresh SQLite file with the sample (for the module)."""
    db = tmp_path_factory.mktemp("schemathesis") / "st.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", now=NOW, log_json=False))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_conforms_to_schema(api_schema: Any, method: str, path: str) -> None:
    """Generated valid and invalid requests never get a 5xx, and the status code, content
    type, headers and body of every answer are those the schema documents."""
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                      operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


def test_every_error_answer_is_documented_as_problem_json() -> None:
    """In the schema every 4xx/5xx answer is problem+json (no FastAPI HTTPValidationError
    left), and each operation taking X-API-Key documents 401 and 403."""
    spec = create_app(Settings(database_url="sqlite://", log_json=False)).openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type", "title", "status", "detail"]
    checked = 0
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            for code, answer in op["responses"].items():
                if code[0] in "45":
                    assert list(answer["content"]) == ["application/problem+json"], (
                        method, path, code)
                    checked += 1
            if any(p["name"] == "x-api-key" for p in op.get("parameters", [])):
                assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert checked > 20
