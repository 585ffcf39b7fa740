"""Reads of a Milvus index: documents, passages, both searches, and export.

A passage is only ever returned with its document's row, which a write stores last
(its commit mark, see :mod:`rag.stores.milvus.writes`): a passage whose write has not
committed, or crashed, is not there for a reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np

from rag.core.text import content_words
from rag.core.types import Chunk, Document, DocumentSummary, pages_of
from rag.stores.milvus.connection import MilvusConnection, is_in, quote
from rag.stores.milvus.schema import DOC_FIELDS, STRONG

_SUMMARY_FIELDS = ["doc_id", "title", "source", "created_at", "characters", "chunks"]


class MilvusReads:
    """What a :class:`rag.stores.base.DocumentStore` reads, from the collections of one
    connection. The caller holds the store's lock."""

    def __init__(self, connection: MilvusConnection) -> None:
        self.connection = connection

    def document_of(self, row: dict) -> Document:
        """The document of a ``documents`` row, its text joined from its parts."""
        parts = self.connection.query("texts", f"doc_id == {quote(row['doc_id'])}", ["ord", "text"])
        text = "".join(p["text"] for p in sorted(parts, key=lambda p: p["ord"]))
        return Document(
            row["doc_id"],
            row["title"],
            text,
            row["source"],
            row["content_hash"],
            row["created_at"],
            metadata=json.loads(row.get("metadata") or "{}"),
        )

    def document(self, doc_id: str) -> Document | None:
        fields = self.connection.layout.doc_fields
        rows = self.connection.query("documents", f"doc_id == {quote(doc_id)}", fields)
        return self.document_of(rows[0]) if rows else None

    def documents(self) -> list[DocumentSummary]:
        """Every document without its text, oldest first."""
        rows = self.connection.scan("documents", 'doc_id != ""', _SUMMARY_FIELDS)
        summaries = [DocumentSummary(*(r[f] for f in _SUMMARY_FIELDS)) for r in rows]
        return sorted(summaries, key=lambda d: (d.created_at, d.doc_id))

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        """Passages by id with their document's title; those without a document row
        (uncommitted) are left out, like unknown ids."""
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        rows = self.connection.query(
            "passages", f"id in {ids}", ["id", "doc_id", "ord", "start", "end", "text"]
        )
        documents = self._titles(sorted({r["doc_id"] for r in rows}))
        found = {}
        for r in rows:
            document = documents.get(r["doc_id"])
            if document is None:
                continue  # a document's row is its commit mark
            starts = json.loads(document.get("metadata") or "{}").get("page_starts")
            pages = pages_of(r["start"], r["end"], starts) if starts else ()
            chunk = Chunk(r["doc_id"], r["ord"], r["start"], r["end"], r["text"], r["id"], pages)
            found[r["id"]] = (chunk, document["title"])
        return found

    def _titles(self, doc_ids: list[str]) -> dict[str, dict]:
        """The committed documents among ``doc_ids``: title (and metadata, for pages)."""
        if not doc_ids:
            return {}
        fields = ["doc_id", "title", *self.connection.layout.doc_fields[len(DOC_FIELDS) :]]
        rows = self.connection.query("documents", is_in("doc_id", doc_ids), fields)
        return {row["doc_id"]: row for row in rows}

    def search_dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        hits = self.connection.client.search(
            self.connection.collection("passages"),
            data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            anns_field="dense",
            limit=k,
            search_params={"metric_type": "IP", "params": self.connection.layout.search_params(k)},
            **STRONG,
        )
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def search_lexical(self, text: str, k: int) -> list[tuple[int, float]]:
        """BM25 over the question's content words (stop words dropped, as the SQLite
        store's FTS5 search does)."""
        query = " ".join(content_words(text))
        if not query:
            return []
        hits = self.connection.client.search(
            self.connection.collection("passages"),
            data=[query],
            anns_field="sparse",
            limit=k,
            search_params={"metric_type": "BM25"},
            **STRONG,
        )
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits[0] if h["distance"]]

    def exported(self, doc_ids: list[str]) -> list[tuple[Document, list[Chunk], np.ndarray]]:
        """These documents with their passages and vectors (one batch of an export)."""
        items = []
        for doc_id in doc_ids:
            document = self.document(doc_id)
            rows = self.connection.query(
                "passages",
                f"doc_id == {quote(doc_id)}",
                ["id", "ord", "start", "end", "text", "dense"],
            )
            rows.sort(key=lambda r: r["ord"])
            chunks = [
                Chunk(doc_id, r["ord"], r["start"], r["end"], r["text"], id=r["id"]) for r in rows
            ]
            vectors = np.array([r["dense"] for r in rows], dtype=np.float32)
            items.append((document, chunks, vectors.reshape(len(rows), self.connection.dimension)))
        return items
