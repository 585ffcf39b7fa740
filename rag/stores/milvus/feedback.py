"""Users' feedback in a Milvus index: the collection ``{prefix}_feedback``, one row per
verdict.

A row holds the whole :class:`~rag.core.types.Feedback` as JSON (ASCII-escaped, so that
its length in bytes, which bounds a VARCHAR, is its length in characters), and beside
it the fields it is found by: ``question_key`` (the normalised question, each /ask looks it up)
and ``doc_id`` (deleting a document deletes its feedback). Like the documents, it is
read with the Strong consistency level: a verdict is used by the next question.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable

from rag.core.types import Chunk, Feedback
from rag.stores.milvus.connection import MilvusConnection, is_in, quote, slices
from rag.stores.milvus.schema import NO_VECTOR, Collections

#: VARCHAR bytes of the JSON record (questions, answer and span are each bounded far below).
RECORD_BYTES = 65_535


def create_collection(connection: MilvusConnection, *, wait: bool) -> None:
    """The feedback collection, where missing (an index made before feedback existed
    gets it when next opened)."""
    from pymilvus import DataType

    collections = Collections(connection.client, connection.prefix, wait=wait)
    long = (DataType.VARCHAR, {"max_length": RECORD_BYTES})
    schema = collections._plain_schema(
        "id",
        question_key=long,
        doc_id=(DataType.VARCHAR, {"max_length": 256}),
        created_at=(DataType.VARCHAR, {"max_length": 64}),
        record=long,
    )
    name = connection.collection("feedback")
    collections._create(name, schema, lookups=("question_key", "doc_id"))


class MilvusFeedback:
    """The feedback and chunk reads of :class:`rag.stores.milvus.store.MilvusStore` (a
    mixin: it uses the store's ``_connection`` and ``_lock``)."""

    _connection: MilvusConnection
    _lock: threading.RLock

    def add_feedback(self, feedback: Feedback) -> None:
        row = {
            "id": feedback.id,
            "question_key": feedback.key,
            "doc_id": feedback.doc_id or "",
            "created_at": feedback.created_at,
            "record": json.dumps(dataclasses.asdict(feedback)),
            "none": NO_VECTOR,
        }
        with self._lock:
            self._connection.client.insert(self._connection.collection("feedback"), [row])

    def feedback(
        self, key: str | None = None, collections: Iterable[str] | None = None
    ) -> list[Feedback]:
        """Stored feedback, oldest first (see :meth:`rag.stores.base.DocumentStore.feedback`).
        A verdict's collection is in its record (one from before collections has none:
        the default one), so ``collections`` are chosen here, after the query."""
        with self._lock:
            if key is None:  # every verdict: in pages on a server
                rows = list(self._connection.scan("feedback", 'id != ""', ["record"]))
            else:  # one question's few, on every /ask: one query, no iterator
                rows = self._connection.query(
                    "feedback", f"question_key == {quote(key)}", ["record"]
                )
        found = [Feedback(**json.loads(row["record"])) for row in rows]
        if collections is not None:
            wanted = set(collections)
            found = [f for f in found if f.collection in wanted]
        return sorted(found, key=lambda f: (f.created_at, f.id))

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        with self._lock:
            if not self._connection.query("documents", f"doc_id == {quote(doc_id)}", ["doc_id"]):
                return []  # a document's row is its commit mark
            rows = self._connection.query(
                "passages", f"doc_id == {quote(doc_id)}", ["id", "ord", "start", "end", "text"]
            )
        rows.sort(key=lambda r: r["ord"])
        return [Chunk(doc_id, r["ord"], r["start"], r["end"], r["text"], id=r["id"]) for r in rows]

    def _drop_feedback(self, doc_id: str) -> None:
        """Delete a document's feedback (the caller holds the lock)."""
        self._connection.delete("feedback", f"doc_id == {quote(doc_id)}")

    def _content_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        """id → content hash of those of ``doc_ids`` that are stored."""
        found: dict[str, str] = {}
        for part in slices(doc_ids):
            rows = self._connection.query(
                "documents", is_in("doc_id", part), ["doc_id", "content_hash"]
            )
            found.update((row["doc_id"], row["content_hash"]) for row in rows)
        return found

    def _move_feedback(self, old: str, new: str) -> None:
        """Hand a document's feedback to ``new`` (upserted under the same ids; the caller
        holds the lock)."""
        rows = self._connection.query(
            "feedback", f"doc_id == {quote(old)}", ["id", "question_key", "created_at", "record"]
        )
        moved = []
        for row in rows:
            record = {**json.loads(row["record"]), "doc_id": new}
            moved.append({**row, "doc_id": new, "record": json.dumps(record), "none": NO_VECTOR})
        if moved:
            self._connection.client.upsert(self._connection.collection("feedback"), moved)
