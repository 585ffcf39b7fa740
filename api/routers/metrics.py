"""GET /metrics: the service's metrics in the Prometheus text format; open to all until
a key is made, then an admin's."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.access import Requires

router = APIRouter(tags=["health"], dependencies=[Requires("admin", open_without_keys=True)])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Requests by route and status, /ask time by stage, answers and abstentions, the
    question queue and the index size."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
