"""The document store: what every backend implements, and how the settings choose one.

A store keeps documents, their chunks (with exact offsets into the document text)
and one vector per chunk, and answers the two searches hybrid retrieval fuses:
dense (cosine over the vectors) and lexical (BM25 over the chunk texts). Chunk ids
are integers the store assigns and never reuses. Retrieval (:mod:`rag.retrieval`)
fuses the two searches; the store only searches.

:class:`rag.sqlite_store.SQLiteStore` (SQLite + FTS5 + a FAISS file) is the first
implementation. The contract every implementation must meet is tested once, in
``tests/test_store.py``, and run against each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.errors import IndexMismatchError, StoreError
from rag.settings import Settings
from rag.types import Chunk, Document, DocumentSummary, Reconciliation

__all__ = [
    "DocumentStore",
    "IndexMismatchError",
    "Reconciliation",
    "StoreError",
    "open_store",
]


@runtime_checkable
class DocumentStore(Protocol):
    """Documents, chunks and vectors of one index; dense and lexical search over them."""

    #: Which backend this is ("sqlite", "milvus"); /health reports it.
    name: str
    #: Dimension of the vectors (read from the index when opened with ``None``).
    dimension: int | None

    def open(self) -> Reconciliation:
        """Open or create the index; refuse one built by another embedding model
        (:class:`IndexMismatchError`); report what derived data had to be repaired."""
        ...

    def close(self) -> None:
        """Make every acknowledged write durable and release the index."""
        ...

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]]
    ) -> list[tuple[Document, bool]]:
        """Store documents atomically, each with its chunks and one vector per chunk;
        (stored document, created?) for each. Content already stored is not stored
        twice (the stored document comes back, created=False); new content under an
        existing id replaces that document."""
        ...

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        """:meth:`add_many` for one document."""
        ...

    def delete(self, doc_id: str) -> bool:
        """Remove a document with its chunks and vectors; False when there was none."""
        ...

    def document(self, doc_id: str) -> Document | None: ...

    def documents(self) -> list[DocumentSummary]:
        """Every document without its text, oldest first."""
        ...

    def counts(self) -> tuple[int, int]:
        """(documents, chunks), cheaply (every /health asks)."""
        ...

    def vector_count(self) -> int:
        """Vectors searchable now (equals the chunk count once open)."""
        ...

    def dense_info(self) -> dict:
        """What serves dense search (index kind and parameters), for benchmarks."""
        ...

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        """Chunks by id, each with its document's title; unknown ids are left out."""
        ...

    def search_dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the ``k`` nearest chunks, best first."""
        ...

    def search_lexical(self, text: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score > 0) of the ``k`` best chunks for ``text``, best first."""
        ...

    def export(self, batch: int = 256) -> Iterator[list[tuple[Document, list[Chunk], np.ndarray]]]:
        """Every document with its chunks and their vectors, ``batch`` documents at a time,
        oldest first: what :meth:`add_many` of another backend takes (moving an index
        needs no re-embedding)."""
        ...


def check_items(items: list[tuple[Document, list[Chunk], np.ndarray]]) -> None:
    """What every backend's ``add_many`` checks before it writes anything."""
    for _, chunks, vectors in items:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")


def store_options(settings: Settings) -> dict:
    """The keyword arguments of :func:`open_store` that the settings decide."""
    token = settings.milvus_token
    return {
        "flush_seconds": settings.vector_flush_seconds,
        "ivf_threshold": settings.ivf_threshold,
        "backend": settings.store,
        "milvus_uri": settings.milvus_uri,
        "milvus_token": token.get_secret_value() if token is not None else None,
        "milvus_index": settings.milvus_index,
    }


def open_store(
    directory: Path,
    *,
    model_id: str,
    dimension: int | None,
    flush_seconds: float = 0.0,
    ivf_threshold: int | None = None,
    backend: str = "sqlite",
    milvus_uri: str | None = None,
    milvus_token: str | None = None,
    milvus_index: str = "HNSW",
) -> tuple[DocumentStore, Reconciliation]:
    """The store of an index folder (or, for Milvus, of ``milvus_uri``: default a Milvus
    Lite file in the folder), opened; what opening it repaired."""
    if backend == "milvus":
        from rag.milvus_store import MilvusStore

        uri = milvus_uri if milvus_uri is not None else str(Path(directory) / "milvus.db")
        milvus = MilvusStore(
            uri, model_id=model_id, dimension=dimension, token=milvus_token, index_type=milvus_index
        )
        return milvus, milvus.open()
    from rag.sqlite_store import SQLiteStore

    kwargs = {"ivf_threshold": ivf_threshold} if ivf_threshold is not None else {}
    store = SQLiteStore(
        directory, model_id=model_id, dimension=dimension, flush_seconds=flush_seconds, **kwargs
    )
    return store, store.open()
