"""The data that flows through the pipeline: Document → Chunk → Passage → Answer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """A cleaned document; every offset in the system refers to ``text``."""

    doc_id: str
    title: str
    text: str
    source: str = ""
    content_hash: str = ""
    created_at: str = ""


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document without its text (for listings)."""

    doc_id: str
    title: str
    source: str
    created_at: str
    characters: int
    chunks: int


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    id: int | None = None


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
    """A passage as cited by an answer; ``answer_*`` are document offsets or None."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    answer_start: int | None
    answer_end: int | None
    score: float


@dataclass(frozen=True)
class Answer:
    """One answer, merged over every passage that gave it."""

    text: str
    confidence: float
    sources: list[Citation]


@dataclass
class AskResult:
    question: str
    answer: str | None
    confidence: float
    answers: list[Answer]
    passages: list[Citation]
    took_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)
