"""Users' feedback, used at once: what they said of an answer decides the next reply to
the same question.

A question is known by its key: the resolved question (a follow-up rewritten to stand
alone), normalised as answers are for SQuAD scoring (case, punctuation, articles), so
that "Where was Kim invited?" and "where was kim invited" share their feedback. The
newest verdict that still holds decides:

* ``right`` (the service's own answer) or ``corrected`` (a span the user selected): the
  span is the answer, confidence 1, ``confirmed`` — while the document still holds the
  same text at the same offsets (an edited document's old offsets prove nothing);
* ``unanswerable`` ("not in the documents"): the service abstains, ``confirmed``;
* ``wrong``: that answer is never given again for the question (the next best is, if it
  is sure enough), and an older confirmation of the same text no longer counts.

The store keeps the feedback (both backends, :meth:`rag.stores.base.DocumentStore.feedback`);
deleting a document deletes its feedback. Feedback belongs to a collection (its document's,
or the one named) and counts only for questions asked there, so that no one can change
what another collection's readers are told (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from rag.core.errors import FeedbackError, UnknownDocumentError
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.selection import collection_of_id
from rag.core.text import normalize_answer
from rag.core.types import VERDICTS, Answer, AskResult, Chunk, Citation, Document, Feedback
from rag.documents import ingest
from rag.reading.merging import location_of
from rag.stores.base import DocumentStore

#: Longest span a user may mark as the answer (characters): an answer, not a page.
MAX_SPAN_CHARS = 2000
#: Verdicts that name a span which becomes the answer.
SPAN_VERDICTS = ("right", "corrected")


def question_key(question: str) -> str:
    """The normalised form under which a question's feedback is kept and found (a
    question that normalises to nothing, "?" or "The", is kept as it was written)."""
    return normalize_answer(question) or " ".join(question.lower().split())


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a question's feedback decides: the verdict that holds (None: the reader
    answers), with its document, and the answers users said were wrong."""

    feedback: Feedback | None
    document: Document | None = None
    rejected: frozenset[str] = frozenset()


class FeedbackBook:
    """Records feedback after checking it, and applies it to the replies of the service."""

    def __init__(self, store: DocumentStore, threshold: float) -> None:
        """``threshold``: the confidence an alternative needs to replace a rejected answer."""
        self.store = store
        self.threshold = threshold

    # ------------------------------------------------------------------ recording

    def record(
        self,
        question: str,
        verdict: str,
        *,
        resolved_question: str = "",
        answer: str | None = None,
        doc_id: str | None = None,
        start: int | None = None,
        end: int | None = None,
        collection: str = DEFAULT_COLLECTION,
    ) -> Feedback:
        """Check and store a verdict; the stored feedback. A span must lie in its
        document (:class:`UnknownDocumentError` when there is none) and its text is
        kept, so that a later edit of the document is noticed. The feedback belongs to
        its document's collection, or to ``collection`` when it names no document: it
        changes only the answers of questions asked in that collection."""
        if verdict not in VERDICTS:
            raise FeedbackError(f"verdict must be one of {', '.join(VERDICTS)}")
        question, resolved_question = clean(question), clean(resolved_question)
        answer = clean(answer) if answer is not None else None
        resolved = resolved_question or question
        key = question_key(resolved)
        if not key:
            raise FeedbackError("the question is empty")
        text, collection = self._span_text(verdict, doc_id, start, end, collection)
        now = datetime.now(UTC)
        feedback = Feedback(
            question=question,
            resolved_question=resolved,
            answer=answer,
            verdict=verdict,
            doc_id=doc_id,
            start=start if doc_id is not None else None,
            end=end if doc_id is not None else None,
            text=text,
            key=key,
            created_at=now.isoformat(timespec="microseconds"),
            id=uuid.uuid4().hex,
            collection=collection,
        )
        self.store.add_feedback(feedback)
        return feedback

    def _span_text(
        self, verdict: str, doc_id: str | None, start: int | None, end: int | None, collection: str
    ) -> tuple[str | None, str]:
        """The text of the span a verdict names (None without one) and the collection the
        verdict belongs to; why it is refused."""
        if doc_id is None:
            if verdict in SPAN_VERDICTS:
                raise FeedbackError(f"a {verdict!r} verdict needs doc_id, start and end")
            if start is not None or end is not None:
                raise FeedbackError("start and end need a doc_id")
            return None, collection
        if start is None or end is None:
            raise FeedbackError("a span needs both start and end")
        document = self.store.document(doc_id)
        if document is None or document.collection != collection_of_id(doc_id):
            raise UnknownDocumentError(f"no document with id {doc_id!r}")
        if not 0 <= start < end <= len(document.text):
            raise FeedbackError(
                f"the span must satisfy 0 <= start < end <= {len(document.text)} "
                f"(the document's length); got start={start}, end={end}"
            )
        if verdict in SPAN_VERDICTS and end - start > MAX_SPAN_CHARS:
            raise FeedbackError(f"the span is longer than {MAX_SPAN_CHARS} characters")
        return document.text[start:end], document.collection

    def entries(self, collections: Sequence[str] | None = None) -> list[Feedback]:
        """Every stored verdict (on ``collections``; None: on all), oldest first."""
        return self.store.feedback(collections=collections)

    # ------------------------------------------------------------------ deciding

    def decide(self, question: str, collections: Sequence[str] | None = None) -> Decision:
        """What the feedback on ``question`` (a resolved question) decides now, for a
        question asked in ``collections`` (None: in every one): only their feedback
        counts, and "not in the documents" only where every collection asked is the one
        it was said of (another may hold the answer)."""
        rejected: set[str] = set()
        documents: dict[str, Document | None] = {}
        said_of = self.store.feedback(question_key(question), collections)
        for feedback in reversed(said_of):
            said = normalize_answer(feedback.text or feedback.answer or "")
            if feedback.verdict == "wrong":
                rejected.add(said)
            elif feedback.verdict == "unanswerable":
                if collections is None or set(collections) <= {feedback.collection}:
                    return Decision(feedback, rejected=frozenset(rejected))
            elif said not in rejected:
                if feedback.doc_id not in documents:
                    documents[feedback.doc_id] = self.store.document(feedback.doc_id)
                document = documents[feedback.doc_id]
                if document is not None and holds(document, feedback):
                    return Decision(feedback, document, frozenset(rejected))
        return Decision(None, rejected=frozenset(rejected - {""}))

    def apply(self, result: AskResult, collections: Sequence[str] | None = None) -> AskResult:
        """``result`` as the feedback on its question in ``collections`` decides
        (unchanged without any)."""
        decision = self.decide(result.resolved_question or result.question, collections)
        feedback = decision.feedback
        if feedback is None:
            return self._without(result, decision.rejected) if decision.rejected else result
        if feedback.verdict == "unanswerable":
            return dataclasses.replace(result, answer=None, confirmed=True)
        chunk = self.passage_of(feedback, decision.document)
        span = (feedback.start, feedback.end)
        cited = Citation(
            doc_id=chunk.doc_id,
            title=decision.document.title,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            answer_start=span[0],
            answer_end=span[1],
            score=1.0,
            pages=list(chunk.pages) if chunk.pages else None,
            location=location_of(chunk, span[0]),
        )
        same = normalize_answer(feedback.text)
        others = [a for a in result.answers if normalize_answer(a.text) != same]
        passages = [
            dataclasses.replace(p, answer_start=span[0], answer_end=span[1])
            if (p.doc_id, p.start, p.end) == (chunk.doc_id, chunk.start, chunk.end)
            else p
            for p in result.passages
        ]
        return dataclasses.replace(
            result,
            answer=feedback.text,
            confidence=1.0,
            answers=[Answer(feedback.text, 1.0, [cited]), *others],
            passages=passages,
            confirmed=True,
        )

    def _without(self, result: AskResult, rejected: frozenset[str]) -> AskResult:
        """``result`` without the answers users said were wrong: the next best answers
        if it is sure enough, else the service abstains."""
        answers = [a for a in result.answers if normalize_answer(a.text) not in rejected]
        if len(answers) == len(result.answers):
            return result
        best = answers[0] if answers else None
        sure = best is not None and best.confidence >= self.threshold
        return dataclasses.replace(
            result,
            answers=answers,
            answer=best.text if sure else None,
            confidence=best.confidence if best else 0.0,
        )

    def passage_of(self, feedback: Feedback, document: Document) -> Chunk:
        """The stored passage that holds the span (the first, where passages overlap);
        a span across passages gets the passages it spans, joined."""
        chunks = self.store.document_chunks(feedback.doc_id)
        for chunk in chunks:
            if chunk.start <= feedback.start and feedback.end <= chunk.end:
                return chunk
        spanned = [c for c in chunks if c.start < feedback.end and feedback.start < c.end]
        lo = min((c.start for c in spanned), default=feedback.start)
        hi = max((c.end for c in spanned), default=feedback.end)
        index = spanned[0].index if spanned else 0
        return Chunk(feedback.doc_id, index, lo, hi, document.text[lo:hi])


def clean(text: str) -> str:
    """Text as questions are cleaned before they are answered: storable (no lone
    surrogates or control characters, see :func:`rag.documents.ingest.sanitize`), its
    white space collapsed."""
    return " ".join(ingest.sanitize(text).split())


def holds(document: Document, feedback: Feedback) -> bool:
    """Whether the document still has the feedback's span, unchanged, where it was."""
    return (
        feedback.start is not None
        and feedback.end is not None
        and document.text[feedback.start : feedback.end] == feedback.text
    )
