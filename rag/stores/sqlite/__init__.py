"""The default store: one SQLite file (documents, passages, vectors, FTS5) and the
FAISS file derived from it."""

from __future__ import annotations

from rag.stores.sqlite.store import SQLiteStore

__all__ = [
    "SQLiteStore",
]
