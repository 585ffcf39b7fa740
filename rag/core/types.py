"""The data that flows through the pipeline: Document → Chunk → Passage → Answer.

These are plain dataclasses, and also the HTTP API's response models: FastAPI (through
pydantic) reads their fields and the descriptions in ``Annotated[..., Field(...)]``,
so the library and the API share one definition of a citation or an answer.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field


@dataclass(frozen=True)
class Document:
    """A cleaned document; every offset in the system refers to ``text``."""

    doc_id: str
    title: str
    text: str
    source: Annotated[str, Field(description="File name, 'api', or where it came from.")] = ""
    content_hash: Annotated[str, Field(description="SHA-256 of the cleaned text.")] = ""
    created_at: Annotated[str, Field(description="When it was indexed (ISO 8601, UTC).")] = ""
    metadata: Annotated[
        dict,
        Field(
            description="Where it came from: format (html, pdf), and where known url, author, "
            "date, site, pages and page_starts (the offset in text where each PDF page starts), "
            "and the metadata given with it (strings, numbers, booleans, dates, lists of those)."
        ),
    ] = field(default_factory=dict)
    collection: Annotated[
        str, Field(description="The collection it belongs to (keys are scoped to collections).")
    ] = "default"
    #: Where each part of the text is in its file (:mod:`rag.core.locations`): carried from
    #: the extractor to the chunker, stored with the passages, not shown as a field.
    regions: Annotated[tuple, Field(exclude=True)] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document without its text (for listings)."""

    doc_id: str
    title: str
    source: str
    created_at: str
    characters: Annotated[int, Field(description="Length of the cleaned text.")]
    chunks: Annotated[int, Field(description="Passages it was split into.")]
    collection: str = "default"


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    id: int | None = None
    #: The 1-based PDF pages it spans (a store fills it in; empty for other formats).
    pages: tuple[int, ...] = ()
    #: The regions of its document it overlaps (:func:`rag.core.locations.regions_within`).
    regions: tuple = field(default=(), repr=False)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its title and fused retrieval score (0..1)."""

    chunk: Chunk
    title: str
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    """A passage as cited by an answer."""

    doc_id: str
    title: str
    text: Annotated[str, Field(description="The passage, exactly document.text[start:end].")]
    start: int
    end: int
    answer_start: Annotated[
        int | None, Field(description="Offset of the answer in the document text, or null.")
    ]
    answer_end: int | None
    score: Annotated[float, Field(description="Fused retrieval score, 0..1.")]
    pages: Annotated[
        list[int] | None,
        Field(description="The PDF pages (1-based) the passage spans; null for other formats."),
    ] = None
    location: Annotated[
        dict | None,
        Field(
            description='Where the answer (else the passage) is in its file: {"page": 3}, '
            '{"slide": 2}, {"sheet": "Prices", "row": 14}, {"row": 14} (CSV), '
            '{"headings": ["Scope", "Notice"]}, {"part": "attachment.txt"}; '
            "null where the file has no such structure."
        ),
    ] = None


@dataclass(frozen=True)
class Answer:
    """One answer, merged over every passage that gave it."""

    text: str
    confidence: Annotated[float, Field(description="0..1; evidence combined over documents.")]
    sources: list[Citation]


@dataclass
class AskResult:
    """The answer to a question, the alternatives, and every passage read."""

    question: str
    answer: Annotated[str | None, Field(description="null when the service abstains.")]
    confidence: float
    answers: list[Answer]
    passages: list[Citation]
    took_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    reader: Annotated[
        str, Field(description="The reader that answered: 'fast', a model path, 'lexical'.")
    ] = ""
    resolved_question: Annotated[
        str,
        Field(
            description="The question actually answered: a follow-up rewritten to stand "
            "alone from the conversation's history; equal to question otherwise."
        ),
    ] = ""
    confirmed: Annotated[
        bool,
        Field(
            description="true when a user's feedback (POST /feedback) decided this reply: "
            "a span confirmed or corrected for this question and still in its document, "
            "or, with a null answer, 'not in the documents'."
        ),
    ] = False


#: What a user can say of an answer (``POST /feedback``).
VERDICTS = ("right", "wrong", "corrected", "unanswerable")


@dataclass(frozen=True)
class Feedback:
    """A user's verdict on an answer, kept so that the service can use it at once (the
    same question is answered with the confirmed span, or abstains) and so that it can
    become training data (``rag feedback export``)."""

    question: str
    resolved_question: Annotated[
        str, Field(description="The question as answered (a follow-up rewritten to stand alone).")
    ]
    answer: Annotated[str | None, Field(description="The service's answer; null if it abstained.")]
    verdict: Annotated[str, Field(description="right, wrong, corrected or unanswerable.")]
    doc_id: str | None = None
    start: Annotated[
        int | None, Field(description="The span's offset in the document text, or null.")
    ] = None
    end: int | None = None
    text: Annotated[
        str | None, Field(description="The span, document.text[start:end] when it was given.")
    ] = None
    key: Annotated[
        str, Field(description="The normalised resolved question the feedback applies to.")
    ] = ""
    created_at: Annotated[str, Field(description="When it was given (ISO 8601, UTC).")] = ""
    id: str = ""
    collection: Annotated[
        str,
        Field(description="The collection it applies to: its document's, or the one asked."),
    ] = "default"


@dataclass(frozen=True)
class Reconciliation:
    """What opening a store had to repair (derived data behind its source of truth)."""

    added: int = 0
    removed: int = 0
    rebuilt: bool = False


def pages_of(start: int, end: int, page_starts: list[int]) -> tuple[int, ...]:
    """The 1-based pages that ``text[start:end]`` spans."""
    if not page_starts:
        return ()
    first = bisect.bisect_right(page_starts, start)
    last = bisect.bisect_right(page_starts, max(start, end - 1))
    n = len(page_starts)
    return tuple(
        page
        for page in range(max(first, 1), max(last, 1) + 1)
        if page == n or page_starts[page - 1] < page_starts[page]  # pages without text
    )
