"""What every layer shares: the data that flows (Document → Chunk → Passage → Answer),
the settings, the expected errors, words, and the one compute thread."""

from __future__ import annotations

from rag.core.errors import IndexMismatchError, IngestError, QuestionError, StoreError
from rag.core.settings import Settings, get_settings
from rag.core.types import (
    Answer,
    AskResult,
    Chunk,
    Citation,
    Document,
    DocumentSummary,
    Passage,
    Reconciliation,
)

__all__ = [
    "Answer",
    "AskResult",
    "Chunk",
    "Citation",
    "Document",
    "DocumentSummary",
    "IndexMismatchError",
    "IngestError",
    "Passage",
    "QuestionError",
    "Reconciliation",
    "Settings",
    "StoreError",
    "get_settings",
]
