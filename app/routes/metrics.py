"""`GET /metrics`: the app's Prometheus registry (`app.observability`) as a text page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.deps import Reader
from app.observability import Metrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    operation_id="getMetrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_metrics(request: Request, _: Reader) -> Response:
    """Prometheus metrics: requests and latencies by method, route and status; solve
    jobs by status and the queue depth; the process (CPU, memory, open files)."""
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
