"""Request and response models of the HTTP API (the OpenAPI schema at /docs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rag.pipeline import MAX_QUESTION_CHARS


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ..., min_length=1, max_length=MAX_QUESTION_CHARS, examples=["Where was Kim invited?"]
    )
    top_k: int | None = Field(
        None, ge=1, le=50, description="Passages retrieved and read (default: RAG_TOP_K)."
    )


class Citation(BaseModel):
    doc_id: str
    title: str
    text: str = Field(description="The passage, exactly document.text[start:end].")
    start: int
    end: int
    answer_start: int | None = Field(description="Offset of the answer in the document text.")
    answer_end: int | None
    score: float = Field(description="Fused retrieval score, 0..1.")


class AnswerOut(BaseModel):
    text: str
    confidence: float
    sources: list[Citation]


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(description="null when the service abstains.")
    confidence: float
    answers: list[AnswerOut]
    passages: list[Citation]
    took_ms: float
    timings_ms: dict[str, float]


class NewDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=500)
    text: str = Field(..., min_length=1)


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    created_at: str
    characters: int
    chunks: int


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    text: str
    source: str
    created_at: str


class DocumentCreated(BaseModel):
    doc_id: str
    title: str
    created: bool = Field(description="false when the same content was already indexed.")


class Health(BaseModel):
    status: str
    store: str = Field(description="The document store in use (sqlite).")
    documents: int
    chunks: int
    vectors: int = Field(description="Vectors in FAISS; equals chunks once the index is open.")
    embedding_model: str
    reader: str
    threshold: float = Field(description="Answers below this confidence are withheld.")
    api_key_required: bool = Field(description="Whether writes need a bearer key.")
