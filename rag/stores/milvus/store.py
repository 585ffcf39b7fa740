"""A document store on Milvus (Milvus Lite in a file for one machine, a Milvus server or
cluster past it): dense search, BM25 (Milvus' own function over an analysed field) and
the documents themselves.

The store is composed of its connection and collections (:mod:`.connection`,
:mod:`.schema`), its writes (:mod:`.writes`: Milvus has no multi-row transactions, so a
write is ordered to be safe and a crashed one is cleaned up on open) and its reads
(:mod:`.reads`). Every operation uses the Strong consistency level, so that an
acknowledged document is answerable at once, from any replica.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import numpy as np

from rag.core.selection import Selection
from rag.core.types import Chunk, Document, DocumentSummary, Reconciliation
from rag.stores.base import check_items, feedback_heirs
from rag.stores.milvus.connection import MilvusConnection
from rag.stores.milvus.feedback import MilvusFeedback, create_collection
from rag.stores.milvus.reads import MilvusReads
from rag.stores.milvus.schema import DENSE_INDEXES
from rag.stores.milvus.scope import field_values, selected_documents
from rag.stores.milvus.search import MilvusSearch
from rag.stores.milvus.writes import MilvusWrites

__all__ = ["MilvusStore"]


class MilvusStore(MilvusFeedback):
    """Documents, passages, vectors and feedback in Milvus collections named ``{prefix}_…`` (a
    :class:`rag.stores.base.DocumentStore`). Several indexes can share one Milvus, or one
    Milvus Lite file, under different prefixes."""

    name = "milvus"

    def __init__(
        self,
        uri: str,
        *,
        model_id: str,
        dimension: int | None,
        token: str | None = None,
        prefix: str = "rag",
        index_type: str = "HNSW",
        orphan_grace: float | None = None,
    ) -> None:
        """``uri``: a file path (Milvus Lite) or ``http://host:19530``; ``dimension=None``
        opens an existing index with the dimension it records. ``index_type`` applies to
        a new collection (an existing one keeps its own). ``orphan_grace``: seconds a
        crashed write's leftovers are kept, as they may be another replica's write still
        under way (default 0 for Milvus Lite, which one process opens, else 600)."""
        if index_type not in DENSE_INDEXES:
            raise ValueError(f"index_type must be one of {', '.join(DENSE_INDEXES)}")
        self.uri = uri
        self.token = token
        self.model_id = model_id
        self.dimension = dimension
        self.prefix = prefix
        self.index_type = index_type
        self._connection = MilvusConnection(uri, token, prefix)
        lite = self._connection.lite
        self.orphan_grace = orphan_grace if orphan_grace is not None else (0.0 if lite else 600.0)
        self._reads = MilvusReads(self._connection)
        self._writes = MilvusWrites(self._connection, self._reads)
        self._search = MilvusSearch(self._reads)
        self._lock = threading.RLock()

    @property
    def client(self):
        """The pymilvus client (:class:`StoreError` when the store is not open)."""
        return self._connection.client

    def open(self) -> Reconciliation:
        """Connect, create missing collections, check the model, and remove what a
        crashed write left behind."""
        with self._lock:
            self._reads.cache.clear()  # another process may have written since
            self._connection.open(self.model_id, self.dimension, self.index_type)
            create_collection(self._connection, wait=not self._connection.lite)
            self.dimension = self._connection.dimension
            self.index_type = self._connection.layout.index_type
            return Reconciliation(removed=self._writes.remove_orphans(self.orphan_grace))

    def close(self) -> None:
        """Closes the client; for Milvus Lite also stops this process' server of the
        file, which flushes it and frees its lock for another process."""
        with self._lock:
            self._connection.close()

    # ------------------------------------------------------------------ writes

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]], remove: Iterable[str] = ()
    ) -> list[tuple[Document, bool]]:
        """See :meth:`rag.stores.base.DocumentStore.add_many` and :mod:`.writes`."""
        check_items(items)
        remove = list(dict.fromkeys(remove))
        with self._lock:
            hashes = self._content_hashes(remove)
            results, deleted = self._writes.add_many(items, remove)
            heirs = feedback_heirs(hashes, results)
            for doc_id in deleted:  # a renamed document's feedback follows its content
                if doc_id in heirs:
                    self._move_feedback(doc_id, heirs[doc_id])
                else:
                    self._drop_feedback(doc_id)
            return results

    def delete(self, doc_id: str) -> bool:
        """Remove a document, its passages, text and feedback; False when there was none."""
        with self._lock:
            deleted = self._writes.delete(doc_id)
            if deleted:
                self._drop_feedback(doc_id)
            return deleted

    def vectors_for_texts(self, collection: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """See :meth:`rag.stores.base.DocumentStore.vectors_for_texts`."""
        with self._lock:
            return self._reads.vectors_for_texts(collection, list(texts))

    # ------------------------------------------------------------------ reads

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            return self._reads.document(doc_id)

    def documents(self, collections: Iterable[str] | None = None) -> list[DocumentSummary]:
        with self._lock:
            return self._reads.documents(collections)

    def collections(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            return self._reads.collections()

    def field_values(self, collection: str, limit: int) -> dict[str, list]:
        with self._lock:
            return field_values(self._reads, collection, limit)

    def selected_documents(self, selection: Selection) -> list[str]:
        with self._lock:
            return selected_documents(self._reads, selection)

    def counts(self) -> tuple[int, int]:
        """Row counts kept by Milvus (no scan): while a write is under way its passages
        may be counted before its document row."""
        with self._lock:
            return self._connection.count("documents"), self._connection.count("passages")

    def vector_count(self) -> int:
        with self._lock:
            return self._connection.count("passages")

    def dense_info(self) -> dict:
        return {"kind": f"milvus-{self.index_type.lower()}", "vectors": self.vector_count()}

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        with self._lock:
            return self._reads.chunks(ids)

    def search_dense(
        self, vector: np.ndarray, k: int, selection: Selection | None = None
    ) -> list[tuple[int, float]]:
        """See :meth:`rag.stores.base.DocumentStore.search_dense` and :mod:`.search`."""
        with self._lock:
            return self._search.dense(vector, k, selection)

    def search_lexical(
        self, text: str, k: int, selection: Selection | None = None
    ) -> list[tuple[int, float]]:
        """See :meth:`rag.stores.base.DocumentStore.search_lexical` and :mod:`.search`."""
        with self._lock:
            return self._search.lexical(text, k, selection)

    def export(self, batch: int = 256) -> Iterator[list[tuple[Document, list[Chunk], np.ndarray]]]:
        """Documents with their passages and vectors, oldest first, in batches."""
        ids = [d.doc_id for d in self.documents()]
        for lo in range(0, len(ids), batch):
            with self._lock:
                items = self._reads.exported(ids[lo : lo + batch])
            yield items
