"""Request models of the HTTP API, and the responses the library has no type for.

Answers, citations and documents are the library's own types (rag.types), used as
response models directly: one definition for the library and the API.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rag.pipeline import MAX_QUESTION_CHARS
from rag.types import DocumentSummary


class AskRequest(BaseModel):
    # strict: `true` is not a top_k, nor 3 a question
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(
        ..., min_length=1, max_length=MAX_QUESTION_CHARS, examples=["Where was Kim invited?"]
    )
    top_k: int | None = Field(
        None, ge=1, le=50, description="Passages retrieved and read (default: RAG_TOP_K)."
    )


class NewDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=500)
    text: str = Field(..., min_length=1)


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentCreated(BaseModel):
    doc_id: str
    title: str
    created: bool = Field(description="false when the same content was already indexed.")
    file: str | None = Field(None, description="The uploaded file's name (uploads only).")


class FileFailure(BaseModel):
    file: str
    status: int = Field(description="The HTTP status this failure alone would get.")
    detail: str


class UploadResult(BaseModel):
    documents: list[DocumentCreated] = Field(description="Files indexed, in upload order.")
    errors: list[FileFailure] = Field(description="Files refused, each with why.")


class Health(BaseModel):
    status: str = Field(description='"ok", or "degraded" with the problems listed.')
    problems: list[str] = Field(description="Why the index cannot be fully trusted, if so.")
    store: str = Field(description="The document store in use (sqlite).")
    documents: int
    chunks: int
    vectors: int = Field(description="Vectors in FAISS; equals chunks once the index is open.")
    embedding_model: str
    reader: str
    threshold: float = Field(description="Answers below this confidence are withheld.")
    api_key_required: bool = Field(description="Whether writes need a bearer key.")
