"""schemathesis against the service's own OpenAPI schema: no 5xx, answers as documented.

The app runs in local mode on a fresh database holding the sample, once on an SQLite file
and once on a PostgreSQL database of its own (fewer examples there); schemathesis starts
its lifespan and calls it in-process (ASGI). One test per operation, with generated valid
and invalid input, every operation included: the solve operations queue jobs (small time
limits, a small queue bound: 429 beyond it) that no worker runs here (the supervisor is
not started; running solves is the jobs' own tests' part), and uploads have a small size
limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
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

from app import main as app_main
from app.config import Settings
from app.main import create_app
from app.supervisor import JobRunner
from tests.conftest import NOW, _pg_database

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = {"sqlite": 50, "postgresql": 12}
# small limits: solves queue a few short jobs, uploads stay small
LIMITS: dict[str, Any] = {"max_time_limit": 2.0, "default_time_limit": 1.0,
                          "max_queued_jobs": 3, "max_upload_bytes": 200_000}


class _IdleRunner(JobRunner):
    """A supervisor that starts no worker: jobs stay queued (and the bound answers 429)."""

    def start(self) -> None:
        return None


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation (no I/O: the schema is built from the
    routes)."""
    spec = create_app(Settings(database_url="sqlite://", log_json=False)).openapi()
    return [(method.upper(), path) for path, methods in spec["paths"].items()
            for method in methods]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_schema(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """(schema, backend) of one app on a fresh database with the sample (for the module),
    on SQLite, then on PostgreSQL; with `_IdleRunner` as its supervisor."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'st.db'}"
        else:
            gen = _pg_database()
            url = next(gen)
            stack.callback(lambda: next(gen, None))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(app_main, "JobRunner", _IdleRunner)
        app = create_app(Settings(database_url=url, now=NOW, log_json=False,
                                  plan_sample=False, **LIMITS))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        try:
            yield schema, request.param
        finally:
            asgi.shutdown_lifespans()


@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_conforms_to_schema(api_schema: Any, method: str, path: str) -> None:
    """Generated valid and invalid requests never get a 5xx, and the status code, content
    type, headers and body of every answer are those the schema documents."""
    schema, backend = api_schema
    operation = schema[path][method]
    cases = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                      operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES[backend], deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
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
