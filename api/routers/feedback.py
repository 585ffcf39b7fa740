"""/feedback: users' verdicts on answers (right, wrong, the right span, not in the
documents), stored and used by the next /ask of the same question; listed for review
and for ``rag feedback export`` (training data)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import status as http

from api.deps import PipelineDep, WriteAccess
from api.schemas import FeedbackList, FeedbackRequest, errors
from rag.core.types import Feedback

router = APIRouter(prefix="/feedback", tags=["feedback"])


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    response_model=Feedback,
    dependencies=[WriteAccess],
    responses=errors(401, 403, 404, 408, 413, 422, 507),
)
def add_feedback(body: FeedbackRequest, pipeline: PipelineDep) -> Feedback:
    """Store a verdict; the same question, asked again, is answered as it says (the
    confirmed span, while its document holds it, or an abstention): ``confirmed`` is
    true in that answer. The span's offsets must lie in the document."""
    return pipeline.feedback.record(
        body.question,
        body.verdict,
        resolved_question=body.resolved_question or "",
        answer=body.answer,
        doc_id=body.doc_id,
        start=body.start,
        end=body.end,
    )


@router.get("", response_model=FeedbackList)
def list_feedback(pipeline: PipelineDep) -> dict:
    return {"feedback": pipeline.feedback.entries()}
