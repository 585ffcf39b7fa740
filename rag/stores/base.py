"""The document store contract: what every backend implements (the factory that picks one
from the settings is :func:`rag.stores.open_store`).

A store keeps documents, their chunks (with exact offsets into the document text)
and one vector per chunk, and answers the two searches hybrid retrieval fuses:
dense (cosine over the vectors) and lexical (BM25 over the chunk texts). Chunk ids
are integers the store assigns and never reuses. Retrieval (:mod:`rag.retrieval.hybrid`)
fuses the two searches; the store only searches.

Two backends implement it: :class:`rag.stores.sqlite.store.SQLiteStore` (SQLite with
FTS5 for BM25 and a FAISS file for dense search; the default) and
:class:`rag.stores.milvus.store.MilvusStore` (Milvus Lite or a Milvus server, which does
both searches). The contract every implementation must meet is tested once, in
``tests/stores/test_store.py``, and run against each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import numpy as np

from rag.core.bounds import check_chunks, check_document
from rag.core.embedders import mismatch_advice
from rag.core.errors import IndexMismatchError, StoreError
from rag.core.selection import Selection, check_document_id, collection_of_id
from rag.core.types import Chunk, Document, DocumentSummary, Feedback, Reconciliation

__all__ = ["DocumentStore", "check_items", "check_recorded", "distinct_values"]


@runtime_checkable
class DocumentStore(Protocol):
    """Documents, chunks and vectors of one index; dense and lexical search over them."""

    #: Which backend this is ("sqlite", "milvus"); /health reports it.
    name: str
    #: Dimension of the vectors (read from the index when opened with ``None``).
    dimension: int | None

    def open(self) -> Reconciliation:
        """Open or create the index; refuse one built by another embedding model
        (:class:`IndexMismatchError`); report what had to be repaired (SQLite: the FAISS
        file behind the database; Milvus: what a crashed write left behind)."""
        ...

    def close(self) -> None:
        """Make every acknowledged write durable and release the index."""
        ...

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]], remove: Iterable[str] = ()
    ) -> list[tuple[Document, bool]]:
        """Store documents, each with its chunks and one vector per chunk, each whole or
        not at all (SQLite commits the batch in one transaction, Milvus each document by
        its row, written last); (stored document, created?) for each. Content already
        stored in the same collection is not stored twice (the stored document comes back,
        created=False); new content under an existing id replaces that document. A
        document's id names its collection (:func:`rag.core.selection.document_id`), so a
        write to one collection never replaces another's document. A document is stamped
        with the time it is stored (``created_at``) unless it comes with one (a copy, a
        rebuild: when it was first indexed stays).

        ``remove``: documents this write deletes or rewrites (a vanished, renamed or
        re-read file's; ``rag sync``). Their content does not count as stored, so a
        renamed file's document is stored under its new id, and an unchanged one can be
        rewritten; one that no item replaces is deleted with its feedback, as
        :meth:`delete` does, unless a document this write creates in its collection holds
        its content (a rename): the feedback then follows (:func:`feedback_heirs`). A new
        version is always stored before the old one is gone:
        SQLite does all of it in one transaction; Milvus stores the new documents first
        and removes the old rows after, so a crash between leaves both, never neither
        (and opening the store keeps the version whose document row is there)."""
        ...

    def vectors_for_texts(self, collection: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vector of each of ``texts`` that a passage of ``collection`` holds
        (texts no passage holds are left out): a changed file's unchanged passages and a
        renamed file's keep their vectors, so that only new text is embedded. Looked up,
        not scanned (SQLite: an index on the text's first characters)."""
        ...

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        """:meth:`add_many` for one document."""
        ...

    def delete(self, doc_id: str) -> bool:
        """Remove a document with its chunks, vectors and feedback; False when there was
        none."""
        ...

    def document(self, doc_id: str) -> Document | None: ...

    def documents(self, collections: Iterable[str] | None = None) -> list[DocumentSummary]:
        """Every document (of these collections; None: of all) without its text, oldest
        first."""
        ...

    def collections(self) -> dict[str, tuple[int, int]]:
        """Every collection that holds a document: (documents, passages) of each."""
        ...

    def field_values(self, collection: str, limit: int) -> dict[str, list]:
        """The ``meta.<key>`` fields the documents of ``collection`` hold (what a page
        offers to filter by), each with its first ``limit`` distinct values, as JSON
        values a filter takes: numbers, booleans, strings, dates as RFC 3339 strings in
        UTC (a list's elements one by one; nulls, and the pages of a PDF, left out).
        Fields in name order, values by kind (bool, date, num, str), then value: what
        :func:`distinct_values` makes of the documents' typed values."""
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

    def search_dense(
        self, vector: np.ndarray, k: int, selection: Selection | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity: the inner product of unit vectors) of the ``k``
        nearest chunks, best first (as the backend's index finds them: HNSW and IVF are
        approximate). With a ``selection`` (collections, a filter), only its chunks, and
        exactly: the selection is resolved first, never applied to an approximate top-k,
        so that min(k, chunks selected) come back."""
        ...

    def search_lexical(
        self, text: str, k: int, selection: Selection | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score > 0) of the ``k`` best chunks for ``text``, best first;
        with a ``selection``, only its chunks. BM25's statistics are each collection's
        own: what one collection holds never changes another's scores. Each score is
        weighed by the chunk's coverage of the question's rare words
        (:mod:`rag.core.coverage`), alike in every store."""
        ...

    def selected_documents(self, selection: Selection) -> list[str]:
        """The ids of the documents in ``selection``, sorted (tests, benchmarks)."""
        ...

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in order (empty when there is no such document): the
        passage that holds a span users confirmed is cited, and exported for training."""
        ...

    def add_feedback(self, feedback: Feedback) -> None:
        """Store a user's verdict (its ``id`` and ``created_at`` set). Deleting the
        document it names deletes it too (:meth:`delete`; replacing the document does
        not: a span still in the new text still holds)."""
        ...

    def feedback(
        self, key: str | None = None, collections: Iterable[str] | None = None
    ) -> list[Feedback]:
        """Stored feedback, oldest first; with ``key``, only that normalised question's;
        with ``collections``, only feedback on those collections."""
        ...

    def export(self, batch: int = 256) -> Iterator[list[tuple[Document, list[Chunk], np.ndarray]]]:
        """Every document with its chunks and their vectors, ``batch`` documents at a time,
        oldest first: what :meth:`add_many` of another backend takes (moving an index
        needs no re-embedding)."""
        ...


def feedback_heirs(removed: dict[str, str], results: list[tuple[Document, bool]]) -> dict[str, str]:
    """Of the removed documents (id → content hash) that no item rewrote, those whose
    content a document this write created in their collection now holds (a renamed
    file's), each with that document's id. Their feedback follows the content: its
    offsets point into the same text."""
    created = {(d.collection, d.content_hash): d.doc_id for d, new in results if new}
    rewritten = {d.doc_id for d, new in results if new}
    heirs = {}
    for doc_id, digest in removed.items():
        heir = created.get((collection_of_id(doc_id), digest))
        if heir is not None and doc_id not in rewritten:
            heirs[doc_id] = heir
    return heirs


def check_items(items: list[tuple[Document, list[Chunk], np.ndarray]]) -> None:
    """What every backend's ``add_many`` checks before it writes anything: one vector per
    chunk, and the bounds both backends keep (:mod:`rag.core.bounds`), so that a document
    one store accepts the other does too."""
    for document, chunks, vectors in items:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        check_document(document)
        check_document_id(document.doc_id, document.collection)
        check_chunks(chunks)


def check_recorded(
    meta: dict, *, where: str, schema: str, model_id: str, dimension: int, rebuild: str
) -> None:
    """What every backend checks when it opens an existing index: the schema version it
    was written with, and the embedding model and dimension its vectors came from (mixing
    two models' vectors would make dense search meaningless). ``where`` names the index
    in the message, ``rebuild`` says how to start over."""
    if meta.get("schema_version") != schema:
        raise StoreError(
            f"{where} has schema version {meta.get('schema_version')!r}, "
            f"this version reads {schema!r}: {rebuild}"
        )
    recorded = meta.get("embedding_model")
    if recorded != model_id and (advice := mismatch_advice(str(recorded), model_id, rebuild)):
        raise IndexMismatchError(f"{where} {advice}")
    if recorded != model_id or meta.get("dimension") != str(dimension):
        raise IndexMismatchError(
            f"{where} was built with {recorded} "
            f"(dimension {meta.get('dimension')}), not {model_id} "
            f"(dimension {dimension}): set RAG_EMBEDDING_MODEL back or {rebuild}"
        )


#: Metadata no filter form offers: where a PDF's pages start, which were read by OCR
#: (set by the service).
UNOFFERED_FIELDS = ("meta.page_starts", "meta.pages", "meta.ocr_pages")


def distinct_values(rows: Iterable[tuple[str, str, object]], limit: int) -> dict[str, list]:
    """What :meth:`DocumentStore.field_values` answers, from (field, kind, comparable
    value) rows (:func:`rag.core.selection.field_rows`): the meta fields, each with its
    first ``limit`` distinct values in (kind, value) order, as JSON values."""
    found: dict[str, set[tuple[str, object]]] = {}
    for field, kind, value in rows:
        if field.startswith("meta.") and field not in UNOFFERED_FIELDS:
            found.setdefault(field, set()).add((kind, value))
    return {
        field: [_json_value(kind, value) for kind, value in sorted(found[field])[:limit]]
        for field in sorted(found)
    }


def _json_value(kind: str, value: object) -> object:
    """A typed value as a filter takes it back: a date as RFC 3339 in UTC, a whole number
    as an integer."""
    if kind == "date":
        moment = datetime.fromtimestamp(float(value), UTC)  # type: ignore[arg-type]
        return moment.isoformat().replace("+00:00", "Z")
    if kind == "bool":
        return bool(value)
    if kind == "num" and float(value).is_integer() and abs(value) < 2**53:  # type: ignore[arg-type]
        return int(value)  # type: ignore[call-overload]
    return value
