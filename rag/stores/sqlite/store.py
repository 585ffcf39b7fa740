"""The default document store: SQLite + FTS5 + a FAISS file, in one index folder.

SQLite (:mod:`rag.stores.sqlite.db`) is the source of truth: it holds every chunk's vector
too, so the FAISS file (:mod:`rag.stores.sqlite.vector_file`) is a derived index that can always be
repaired from it. A write commits the SQLite transaction first (which bumps a
generation number), then updates the in-memory FAISS index, whose file is saved
lazily. BM25 is SQLite's FTS5 (:mod:`rag.stores.sqlite.fts`). Chunk ids come from an
AUTOINCREMENT key and are never reused.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.core.errors import StoreError
from rag.core.selection import Selection
from rag.core.types import Chunk, Document, DocumentSummary, Reconciliation
from rag.stores import lock
from rag.stores.base import check_items
from rag.stores.sqlite import db as sqlite_db
from rag.stores.sqlite import feedback as feedback_rows
from rag.stores.sqlite import files
from rag.stores.sqlite.db import DB_NAME, Transaction, translated
from rag.stores.sqlite.dense import IVF_THRESHOLD
from rag.stores.sqlite.feedback import SQLiteFeedback
from rag.stores.sqlite.fts import LEXICAL_BUDGET, LexicalSearch
from rag.stores.sqlite.rows import DOC_COLUMNS, document_from_row
from rag.stores.sqlite.selection import Selector, field_values
from rag.stores.sqlite.vector_file import VectorFile
from rag.stores.sqlite.vector_rows import SQLiteVectors


class SQLiteStore(SQLiteFeedback):
    """Documents, chunks, vectors and feedback of one index folder (a
    :class:`rag.stores.base.DocumentStore`)."""

    name = "sqlite"

    def __init__(
        self,
        directory: Path,
        *,
        model_id: str,
        dimension: int | None,
        flush_seconds: float = 0.0,
        ivf_threshold: int = IVF_THRESHOLD,
        lexical_budget: int = LEXICAL_BUDGET,
    ) -> None:
        """``dimension=None`` opens an existing index with the dimension it records,
        so that reading it (listing documents) needs no embedding model loaded.
        ``flush_seconds=0`` saves the FAISS file after every write."""
        self.directory = Path(directory)
        self.model_id = model_id
        self.dimension = dimension
        self.flush_seconds = flush_seconds
        self.ivf_threshold = ivf_threshold
        self.lexical_budget = lexical_budget
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._vectors: VectorFile | None = None
        self._lexical: LexicalSearch | None = None
        self._selector: Selector | None = None
        self._held: int | None = None  # the index's lock, shared (rag.stores.lock)

    @property
    def db_path(self) -> Path:
        return self.directory / DB_NAME

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    def open(self) -> Reconciliation:
        """Open or create the index; refuse foreign folders and other models; repair FAISS."""
        sqlite_db.check_folder(self.directory)
        with self._lock:
            if self._held is None:
                self._held = lock.hold(self.directory / files.LOCK_NAME)
            try:
                return self._open()
            except BaseException:
                self._vectors = None  # nothing to save: close the database, release the lock
                self.close()
                raise

    def _open(self) -> Reconciliation:
        with self._lock:
            self._db = sqlite_db.connect(self.db_path)
            self.dimension = sqlite_db.check_meta(
                self._db, self.directory, self.model_id, self.dimension
            )
            self._lexical = LexicalSearch(self._db, self.lexical_budget)
            self._selector = Selector(self._db)
            self._vectors = VectorFile(
                self.directory,
                self.dimension,
                SQLiteVectors(self._db, self.dimension),
                self._lock,
                flush_seconds=self.flush_seconds,
                ivf_threshold=self.ivf_threshold,
            )
            return self._vectors.open()

    def close(self) -> None:
        """Save the FAISS index if it is behind, then close SQLite."""
        with self._lock:
            if self._db is not None:
                if self._vectors is not None:
                    self._vectors.close()
                # fold the WAL into the database file: a copy of rag.sqlite3 alone is whole
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.close()
                self._db = None
            lock.release(self._held)
            self._held = None

    # ------------------------------------------------------------------ writes

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        """Store one document: see :meth:`add_many`."""
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]], remove: Iterable[str] = ()
    ) -> list[tuple[Document, bool]]:
        """Remove the documents of ``remove`` (first: their content no longer counts as
        stored) and store the items, in one transaction; (stored document, created?) of
        each (:meth:`rag.stores.base.DocumentStore.add_many`)."""
        check_items(items)
        results: list[tuple[Document, bool]] = []
        remove = list(dict.fromkeys(remove))
        with self._lock, translated():
            created_at = datetime.now(UTC).isoformat(timespec="seconds")
            new_ids, new_vectors = [], []
            with Transaction(self.db) as db:
                hashes = feedback_rows.content_hashes(db, remove)
                deleted, old_ids = sqlite_db.remove_many(db, remove)
                doc_delta, chunk_delta = -deleted, -len(old_ids)
                seen: dict[tuple[str, str], Document] = {}
                for document, chunks, vectors in items:
                    place = (document.collection, document.content_hash)
                    existing = seen.get(place) or self.find_by_hash(*reversed(place))
                    if existing is not None:
                        results.append((existing, False))
                        continue
                    deleted, removed = sqlite_db.remove_rows(db, document.doc_id)
                    old_ids += removed
                    doc_delta += 1 - deleted
                    chunk_delta += len(chunks) - len(removed)
                    when = document.created_at or created_at  # a copy's or rebuild's kept
                    stored = dataclasses.replace(document, created_at=when)
                    blobs = np.ascontiguousarray(vectors, dtype=np.float32)
                    new_ids += sqlite_db.insert_rows(db, stored, chunks, blobs)
                    new_vectors.append(blobs)
                    seen[place] = stored
                    results.append((stored, True))
                feedback_rows.settle(db, remove, hashes, results)  # renamed: it follows
                if new_ids or old_ids:
                    sqlite_db.bump_generation(db, doc_delta, chunk_delta)
            if new_ids or old_ids:
                self._vectors.update(old_ids, new_ids, new_vectors)
        return results

    def delete(self, doc_id: str) -> bool:
        """Remove a document, its chunks, vectors and feedback; False when there was none."""
        with self._lock, translated():
            with Transaction(self.db) as db:
                deleted, ids = sqlite_db.remove_rows(db, doc_id)
                if deleted:
                    feedback_rows.remove(db, doc_id)
                    sqlite_db.bump_generation(db, -deleted, -len(ids))
            if deleted:
                self._vectors.update(ids, [], [])
            return bool(deleted)

    # ------------------------------------------------------------------ reads

    def find_by_hash(self, digest: str, collection: str = "default") -> Document | None:
        """The document of ``collection`` holding this content, if any."""
        with self._lock, translated():
            row = self.db.execute(
                f"SELECT {DOC_COLUMNS} FROM documents WHERE collection = ? AND content_hash = ?",
                (collection, digest),
            ).fetchone()
        return document_from_row(row) if row else None

    def document(self, doc_id: str) -> Document | None:
        with self._lock, translated():
            row = self.db.execute(
                f"SELECT {DOC_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return document_from_row(row) if row else None

    def documents(self, collections: Iterable[str] | None = None) -> list[DocumentSummary]:
        """Every document (of ``collections``) without its text, oldest first."""
        where, params = "", []
        if collections is not None:
            params = list(collections)
            where = f" WHERE d.collection IN ({','.join('?' * len(params))})"
        with self._lock, translated():
            rows = self.db.execute(
                "SELECT d.doc_id, d.title, d.source, d.created_at, length(d.text),"
                " (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id), d.collection"
                f" FROM documents d{where} ORDER BY d.created_at, d.doc_id",
                params,
            ).fetchall()
        return [DocumentSummary(*row) for row in rows]

    def collections(self) -> dict[str, tuple[int, int]]:
        """(documents, passages) of every collection that holds a document."""
        with self._lock, translated():
            rows = self.db.execute(
                "SELECT d.collection, count(DISTINCT d.doc_id), count(c.id) FROM documents d"
                " LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.collection"
                " ORDER BY d.collection"
            ).fetchall()
        return {name: (docs, chunks) for name, docs, chunks in rows}

    def field_values(self, collection: str, limit: int) -> dict[str, list]:
        """The collection's meta fields and their first distinct values (the page's filters)."""
        with self._lock, translated():
            return field_values(self.db, collection, limit)

    def selected_documents(self, selection: Selection) -> list[str]:
        with self._lock, translated():
            return self._selector.documents(selection)

    def counts(self) -> tuple[int, int]:
        """(documents, chunks), kept in the meta table by every write."""
        with self._lock, translated():
            meta = dict(
                self.db.execute(
                    "SELECT key, value FROM meta WHERE key IN ('documents', 'chunks')"
                ).fetchall()
            )
        return int(meta.get("documents", 0)), int(meta.get("chunks", 0))

    def vector_count(self) -> int:
        with self._lock, translated():
            return self._vectors.ntotal  # caught up with another process's writes

    def dense_info(self) -> dict:
        """What kind of dense index serves the corpus (flat or IVF, with its parameters)."""
        with self._lock:
            return self._vectors.describe()

    def search_dense(
        self, vector: np.ndarray, k: int, selection: Selection | None = None
    ) -> list[tuple[int, float]]:
        """Top-``k`` chunks by cosine similarity (IVF hits re-ranked exactly); with a
        ``selection``, every selected chunk is scored (exact, cost in proportion)."""
        with self._lock, translated():
            if self._selector.everything(selection):
                return self._vectors.search(vector, k)
            generation = self._vectors.source.generation()
            ids = self._selector.chunk_ids(selection, generation)
            return self._vectors.search_among(vector, k, ids)

    def search_lexical(
        self, text: str, k: int, selection: Selection | None = None
    ) -> list[tuple[int, float]]:
        """BM25 through FTS5, each collection with its own statistics (see
        :mod:`rag.stores.sqlite.fts`); a filter restricts the search itself."""
        with self._lock, translated():
            generation = self._vectors.source.generation()
            allowed = self._selector.filtered_ids(selection, generation)
            collections = None if selection is None else selection.collections
            return self._lexical.search(text, k, collections, allowed, generation)
