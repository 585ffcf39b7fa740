"""/feedback: users' verdicts on answers (right, wrong, the right span, not in the
documents), stored and used by the next /ask of the same question; listed for review
and for ``rag feedback export`` (training data)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import status as http

from api.access import CallerDep, Requires
from api.deps import PipelineDep
from api.schemas import FeedbackList, FeedbackRequest, errors
from api.scoping import readable_document, writable_collection
from rag.core.types import Feedback

router = APIRouter(prefix="/feedback", tags=["feedback"])


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    response_model=Feedback,
    dependencies=[Requires("write")],
    responses=errors(401, 403, 404, 408, 413, 422, 507),
)
def add_feedback(body: FeedbackRequest, pipeline: PipelineDep, caller: CallerDep) -> Feedback:
    """Store a verdict; the same question, asked again in that collection, is answered as
    it says (the confirmed span, while its document holds it, or an abstention):
    ``confirmed`` is true in that answer. The span's offsets must lie in the document.
    Feedback changes answers, so it needs write access to the collection it is about
    (its document's, or ``collection``): no key changes what another collection's
    readers are told."""
    if body.doc_id is not None:
        collection = readable_document(pipeline, caller, body.doc_id).collection
    else:
        collection = body.collection
    collection = writable_collection(caller, collection)
    return pipeline.feedback.record(
        body.question,
        body.verdict,
        resolved_question=body.resolved_question or "",
        answer=body.answer,
        doc_id=body.doc_id,
        start=body.start,
        end=body.end,
        collection=collection,
    )


@router.get(
    "", response_model=FeedbackList, dependencies=[Requires("read")], responses=errors(401, 403)
)
def list_feedback(pipeline: PipelineDep, caller: CallerDep) -> dict:
    """The verdicts given on the collections the key may read, oldest first."""
    readable = None if caller.collections is None else sorted(caller.collections)
    return {"feedback": pipeline.feedback.entries(readable)}
