"""POST /ask: a question in, an extractive answer with cited passages out."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import PipelineDep
from api.schemas import AskRequest, AskResponse

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, pipeline: PipelineDep) -> dict:
    """Answer a question from the indexed documents; ``answer`` is null when unsure."""
    return asdict(pipeline.ask(body.question, body.top_k))
