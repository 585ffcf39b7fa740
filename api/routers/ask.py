"""POST /ask: a question in, an extractive answer with cited passages out."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from api.deps import PipelineDep
from api.schemas import AskRequest, AskResponse

router = APIRouter(tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={503: {"description": "Busy, or the answer took longer than the time limit."}},
)
async def ask(body: AskRequest, pipeline: PipelineDep) -> dict:
    """Answer a question from the indexed documents; ``answer`` is null when unsure."""
    try:
        result = await asyncio.wait_for(
            run_in_threadpool(pipeline.ask, body.question, body.top_k),
            timeout=pipeline.settings.request_timeout,
        )
    except TimeoutError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no answer within {pipeline.settings.request_timeout:g} s; retry later",
            headers={"Retry-After": "5"},
        ) from None
    return asdict(result)
