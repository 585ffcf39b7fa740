"""GET /health: liveness and the size of the index."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PipelineDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(pipeline: PipelineDep) -> dict:
    return pipeline.health()
