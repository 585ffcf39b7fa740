"""GET /health: liveness, the size of the index, and whether a key is needed; public."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request

from api.access import Requires
from api.deps import PipelineDep
from api.schemas import Health
from rag.core.errors import StoreError
from rag.service.pipeline import Pipeline

router = APIRouter(tags=["health"], dependencies=[Requires("public")])


@router.get("/health", response_model=Health)
@router.head("/health", response_model=Health, include_in_schema=False)
def health(pipeline: PipelineDep, request: Request) -> dict:
    """``api_key_required``: whether writes need a key (RAG_API_KEY), or, once keys are
    made with ``rag keys``, every request but the pages' and this one. Once keys exist
    the index's sizes are not shown here (this route is public, and they count every
    collection): ``GET /collections`` gives each key its own."""
    report = pipeline.health()
    if _scoped_keys(request):
        report.update(documents=None, chunks=None, vectors=None)
        report["problems"] = [_uncounted(p) for p in report["problems"]]
    return {**report, "api_key_required": _key_required(pipeline, request)}


def _uncounted(problem: str) -> str:
    """A problem without the counts it names."""
    return re.sub(r"\d+", "n", problem)


def _scoped_keys(request: Request) -> bool:
    try:
        return request.app.state.keyring.any_active()
    except StoreError:
        return True


def _key_required(pipeline: Pipeline, request: Request) -> bool:
    if pipeline.settings.api_key is not None:
        return True
    try:
        return request.app.state.keyring.any_active()
    except StoreError:  # unreadable: every other route refuses all (fail closed)
        return True
