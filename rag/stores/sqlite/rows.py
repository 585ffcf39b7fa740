"""A document as a row of the ``documents`` table, and back."""

from __future__ import annotations

import json

from rag.core.types import Document

DOC_COLUMNS = "doc_id, title, text, source, content_hash, created_at, metadata, collection"


def document_row(document: Document) -> tuple:
    """The ``DOC_COLUMNS`` values of a document (its metadata as JSON)."""
    return (
        document.doc_id,
        document.title,
        document.text,
        document.source,
        document.content_hash,
        document.created_at,
        json.dumps(document.metadata, ensure_ascii=False),
        document.collection,
    )


def document_from_row(row: tuple) -> Document:
    return Document(*row[:6], metadata=json.loads(row[6]), collection=row[7])
