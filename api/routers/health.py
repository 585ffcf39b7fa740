"""GET /health: liveness, the size of the index, and whether writes need a key."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PipelineDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
@router.head("/health", response_model=Health, include_in_schema=False)
def health(pipeline: PipelineDep) -> dict:
    return {**pipeline.health(), "api_key_required": pipeline.settings.api_key is not None}
