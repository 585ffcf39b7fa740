"""Users' feedback in the SQLite file, beside the documents it points into.

Feedback rows name their document without a foreign key: replacing a document (new
content under its id) deletes and re-inserts its row, and a span that is still in the
new text should still count. Only :meth:`SQLiteStore.delete` removes a document's
feedback, in the transaction that removes the document. (The table is created with the
others, in :mod:`rag.stores.sqlite.db`.)
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator

import numpy as np

from rag.core import locations
from rag.core.types import Chunk, Document, Feedback, pages_of
from rag.stores.base import feedback_heirs
from rag.stores.sqlite.db import Transaction, translated
from rag.stores.sqlite.vector_rows import stored_vectors

_COLUMNS = (
    'question, resolved_question, answer, verdict, doc_id, start, "end", text, key, created_at, id,'
    " collection"
)


def remove(db: sqlite3.Connection, doc_id: str) -> None:
    """Delete a document's feedback (inside the caller's transaction)."""
    db.execute("DELETE FROM feedback WHERE doc_id = ?", (doc_id,))


def content_hashes(db: sqlite3.Connection, doc_ids: list[str]) -> dict[str, str]:
    """id → content hash of those of ``doc_ids`` that are stored."""
    found: dict[str, str] = {}
    for lo in range(0, len(doc_ids), 500):
        part = doc_ids[lo : lo + 500]
        marks = ",".join("?" * len(part))
        query = f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks})"
        found.update(db.execute(query, part).fetchall())
    return found


def settle(
    db: sqlite3.Connection,
    removed: list[str],
    hashes: dict[str, str],
    results: list[tuple[Document, bool]],
) -> None:
    """The feedback of the documents a write removed and did not rewrite: handed to the
    document now holding the same content (a rename), else deleted as ``delete`` does."""
    heirs = feedback_heirs(hashes, results)
    for doc_id in set(removed) - {d.doc_id for d, created in results if created}:
        if doc_id in heirs:
            db.execute("UPDATE feedback SET doc_id = ? WHERE doc_id = ?", (heirs[doc_id], doc_id))
        else:
            remove(db, doc_id)


class SQLiteFeedback:
    """The feedback, chunk reads and export of :class:`rag.stores.sqlite.store.SQLiteStore`
    (a mixin: it uses the store's ``db``, ``_lock`` and ``document``)."""

    db: sqlite3.Connection
    _lock: threading.RLock

    def add_feedback(self, feedback: Feedback) -> None:
        with self._lock, translated(), Transaction(self.db) as db:
            db.execute(
                f"INSERT INTO feedback({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback.question,
                    feedback.resolved_question,
                    feedback.answer,
                    feedback.verdict,
                    feedback.doc_id,
                    feedback.start,
                    feedback.end,
                    feedback.text,
                    feedback.key,
                    feedback.created_at,
                    feedback.id,
                    feedback.collection,
                ),
            )

    def vectors_for_texts(self, collection: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the passages of ``collection`` holding these texts
        (:func:`rag.stores.sqlite.vector_rows.stored_vectors`)."""
        with self._lock, translated():
            return stored_vectors(self.db, collection, list(texts))

    def feedback(
        self, key: str | None = None, collections: Iterable[str] | None = None
    ) -> list[Feedback]:
        tests, args = [], []
        if key is not None:
            tests.append("key = ?")
            args.append(key)
        if collections is not None:
            names = list(collections)
            tests.append(f"collection IN ({','.join('?' * len(names))})")
            args += names
        where = ("WHERE " + " AND ".join(tests)) if tests else ""
        with self._lock, translated():
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM feedback {where} ORDER BY created_at, id", args
            ).fetchall()
        return [Feedback(*row) for row in rows]

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        """Chunks by id, each with its document's title."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock, translated():
            rows = self.db.execute(
                f'SELECT c.id, c.doc_id, c.ord, c.start, c."end", c.text, d.title,'
                " json_extract(d.metadata, '$.page_starts'), c.regions"
                f" FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({marks})",
                ids,
            ).fetchall()
        return {
            row[0]: (
                Chunk(
                    *row[1:6],
                    id=row[0],
                    pages=pages_of(row[3], row[4], json.loads(row[7])) if row[7] else (),
                    regions=locations.loads(row[8]),
                ),
                row[6],
            )
            for row in rows
        }

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        with self._lock, translated():
            rows = self.db.execute(
                'SELECT id, ord, start, "end", text FROM chunks WHERE doc_id = ? ORDER BY ord',
                (doc_id,),
            ).fetchall()
        return [Chunk(doc_id, r[1], r[2], r[3], r[4], id=r[0]) for r in rows]

    def export(self, batch: int = 256) -> Iterator[list[tuple[Document, list[Chunk], np.ndarray]]]:
        """Documents with their chunks and stored vectors, oldest first, in batches."""
        with self._lock, translated():
            ids = [
                r[0]
                for r in self.db.execute("SELECT doc_id FROM documents ORDER BY created_at, doc_id")
            ]
        for lo in range(0, len(ids), batch):
            items = []
            with self._lock, translated():
                for doc_id in ids[lo : lo + batch]:
                    document = self.document(doc_id)
                    rows = self.db.execute(
                        'SELECT id, ord, start, "end", text, vector, regions FROM chunks'
                        " WHERE doc_id = ? ORDER BY ord",
                        (doc_id,),
                    ).fetchall()
                    chunks = [
                        Chunk(doc_id, *r[1:5], id=r[0], regions=locations.loads(r[6])) for r in rows
                    ]
                    vectors = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32)
                    items.append((document, chunks, vectors.reshape(len(rows), -1)))
            yield items
