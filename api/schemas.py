"""Request models of the HTTP API, and the responses the library has no type for.

Answers, citations and documents are the library's own types (rag.core.types), used as
response models directly: one definition for the library and the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from api.filter_schema import FILTERS_SCHEMA, metadata_schema
from rag.conversation import MAX_TURNS
from rag.core.types import DocumentSummary, Feedback
from rag.service.pipeline import MAX_QUESTION_CHARS

#: At least one character that is neither white space nor a control character: a question
#: made only of those is empty once cleaned (the schema says so, as the service does).
VISIBLE = r"[^\u0000-\u0020\u007f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class HistoryTurn(BaseModel):
    """An earlier turn of the conversation, as the service answered it."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, pattern=VISIBLE)
    answer: str | None = Field(
        None, max_length=MAX_QUESTION_CHARS, description="The answer given; null if none."
    )


#: A collection's name, as the store accepts it.
CollectionName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["hr"])]
#: Most collections one question may name.
MAX_COLLECTIONS = 100

FILTERS = Field(
    None,
    description="A Haystack 2.x filter: a comparison {field, operator, value} (fields doc_id, "
    "title, source, collection, created_at, meta.<key>; operators == != > >= < <= in, not in) "
    "or {operator: AND|OR|NOT, conditions: [...]}. Semantics: docs/filters.md. A bad filter "
    "is a 422 naming its path.",
    examples=[{"field": "meta.year", "operator": ">=", "value": 2024}],
)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ...,
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=VISIBLE,
        examples=["Where was Kim invited?"],
    )
    top_k: int | None = Field(
        None, ge=1, le=50, description="Passages retrieved and read (default: RAG_TOP_K)."
    )
    history: list[HistoryTurn] = Field(
        default_factory=list,
        max_length=MAX_TURNS,
        description="Earlier turns, oldest first: a follow-up ('Who invited him?') is "
        "answered as the standalone question it resolves to (resolved_question).",
        examples=[[{"question": "Where was Kim invited?", "answer": "Moscow"}]],
    )
    collections: list[CollectionName] | None = Field(
        None,
        min_length=1,
        max_length=MAX_COLLECTIONS,
        description="The collections to answer from (default: every one the key may read).",
    )
    filters: Annotated[dict[str, Any] | None, WithJsonSchema(FILTERS_SCHEMA)] = FILTERS

    @field_validator("question", mode="before")
    @classmethod
    def _a_string(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("expected a string")  # 3 is not a question
        return value

    @field_validator("top_k", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("expected an integer")  # JSON's 5.0 is 5, `true` is not 1
        return value


class NewDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=500)
    text: str = Field(..., min_length=1)
    collection: CollectionName = Field("default", description="The collection it goes into.")
    metadata: Annotated[dict[str, Any], WithJsonSchema(metadata_schema())] = Field(
        default_factory=dict,
        description="Strings, numbers, booleans, RFC 3339 date-times with a zone, or lists of "
        "those, by key (filters name them meta.<key>).",
        examples=[{"year": 2024, "team": "hr"}],
    )


class CollectionInfo(BaseModel):
    name: str
    documents: int
    passages: int


class CollectionList(BaseModel):
    collections: list[CollectionInfo] = Field(description="The collections the caller may read.")


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


SPAN_FIELDS = ("doc_id", "start", "end")


class FeedbackRequest(BaseModel):
    """A user's verdict on an answer (``POST /feedback``): ``right`` and ``corrected``
    name the answer's span in a document (code points, as citations give them);
    ``unanswerable`` is "not in the documents"; ``wrong`` and ``unanswerable`` may name
    the span or passage the reply cited. A span is given whole (the three fields) or not
    at all, which the schema says too (so that a client generated from it, or a fuzzer,
    knows what is valid)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "dependentRequired": {f: [g for g in SPAN_FIELDS if g != f] for f in SPAN_FIELDS},
            "if": {
                "properties": {"verdict": {"enum": ["right", "corrected"]}},
                "required": ["verdict"],
            },
            "then": {"required": list(SPAN_FIELDS)},
        },
    )

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, pattern=VISIBLE)
    resolved_question: str | None = Field(
        None,
        max_length=MAX_QUESTION_CHARS,
        description="The question as the service answered it (/ask's resolved_question); "
        "default: question.",
    )
    answer: str | None = Field(
        None,
        max_length=MAX_QUESTION_CHARS,
        description="The service's answer (null: it abstained).",
    )
    verdict: Literal["right", "wrong", "corrected", "unanswerable"]
    collection: CollectionName = Field(
        None,
        description="The collection the verdict is about when it names no document (default: "
        "'default'); with a doc_id, the document's.",
    )
    # absent or a value, never null: the three come together (dependentRequired)
    doc_id: str = Field(None, min_length=1, max_length=256)
    start: int = Field(None, ge=0, description="Offset of the span in the document text.")
    end: int = Field(None, ge=1, description="Its end (exclusive).")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        return value

    @model_validator(mode="after")
    def _whole_span(self) -> FeedbackRequest:
        given = [f for f in SPAN_FIELDS if f in self.model_fields_set]
        if given and len(given) < len(SPAN_FIELDS):
            raise ValueError("a span needs doc_id, start and end together")
        if not given and self.verdict in ("right", "corrected"):
            raise ValueError(f"a {self.verdict!r} verdict needs doc_id, start and end")
        return self


class FeedbackList(BaseModel):
    feedback: list[Feedback] = Field(description="Every verdict given, oldest first.")


class Health(BaseModel):
    status: str = Field(description='"ok", or "degraded" with the problems listed.')
    problems: list[str] = Field(description="Why the index cannot be fully trusted, if so.")
    store: str = Field(description="The document store in use (sqlite).")
    documents: int | None = Field(
        description="Documents in the index (null once scoped keys exist: see /collections)."
    )
    chunks: int | None
    vectors: int | None = Field(
        description="Vectors searchable; equals chunks once the index is open."
    )
    embedding_model: str
    reader: str = Field(description="The reader in use: 'fast', a model path, 'lexical'.")
    threshold: float = Field(description="Answers below this confidence are withheld.")
    file_types: list[str] = Field(description="File suffixes the upload route accepts.")
    api_key_required: bool = Field(description="Whether writes need a bearer key.")


class Problem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None


class Error(BaseModel):
    """Every error body: ``detail`` says what is wrong (validation: the first problems)."""

    detail: str | list[Problem]


def errors(*codes: int) -> dict[int, dict]:
    """OpenAPI ``responses`` for these error statuses, all with the :class:`Error` body."""
    what = {
        400: "A Host header this server does not serve.",
        401: "No valid bearer key (when keys exist: `rag keys`, or RAG_API_KEY for writes).",
        403: "The key's scope is too low for this (a read key writing, a non-admin on /keys); "
        "with no key set, a write from another machine or another site's page.",
        404: "No such document or collection (or none the key may read: the same answer).",
        405: "Method not allowed (the Allow header lists those that are).",
        408: "The request body stalled.",
        409: "The job has already finished.",
        413: "The body is over the size limit.",
        415: "Not a supported file type or content type.",
        422: "The request is not valid; the first problems are listed.",
        500: "The index is damaged, or an unexpected error (see the server log).",
        503: "Busy, or no answer within the time limit; retry later.",
        507: "The disk is full; nothing was stored.",
    }
    return {code: {"model": Error, "description": what[code]} for code in codes}
