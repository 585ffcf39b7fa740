"""Writes to a Milvus index, ordered to be safe without multi-row transactions.

A batch's documents are first marked pending in ``meta``, their passages and text are
written next, their rows in ``documents`` last (a document's row is its commit mark),
and the marks are then cleared. Readers only ever return passages whose document row
exists; opening the store removes what a write left behind without its document row (a
crash mid-write), found through the marks, so it never scans the collection. A mark
younger than ``orphan_grace`` seconds may belong to another replica still writing: it is
left alone. Chunk ids are Milvus' own (``auto_id``): unique across replicas writing at
once, never reused. (Collections made before version 0.9 keep a counter in ``meta``,
advanced before its ids are used; one writer only.)
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import numpy as np

from rag.core import locations
from rag.core.selection import collection_of_id
from rag.core.types import Chunk, Document
from rag.stores.milvus.connection import MilvusConnection, is_in, slices
from rag.stores.milvus.reads import MilvusReads
from rag.stores.milvus.schema import NO_VECTOR, Layout, partition

#: Milvus' VARCHAR limit is 65,535 bytes: document texts are stored in parts of this many.
PART_CHARS = 16_000
#: Rows per insert request (a gRPC message stays well under its 64 MB cap).
INSERT_ROWS = 2_000
#: The ``meta`` key of a pending write's mark is this and the document id.
PENDING = "pending:"

Item = tuple[Document, list[Chunk], np.ndarray]


class MilvusWrites:
    """Adds and deletes documents with the pending-mark protocol; removes what a crashed
    one left behind. The caller holds the store's lock."""

    def __init__(self, connection: MilvusConnection, reads: MilvusReads) -> None:
        self.connection = connection
        self.reads = reads

    def add_many(self, items: list[Item]) -> list[tuple[Document, bool]]:
        """See :meth:`rag.stores.base.DocumentStore.add_many`. The whole batch is written
        with a few requests per collection (a round trip per document made large imports
        slow)."""
        stored_rows = self._stored_by_hash(sorted({d.content_hash for d, _, _ in items}))
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        results: list[tuple[Document, bool]] = []
        seen: dict[tuple[str, str], Document] = {}
        new: dict[str, Item] = {}
        for document, chunks, vectors in items:
            digest = (document.collection, document.content_hash)  # dedup per collection
            if digest not in seen and digest in stored_rows:
                seen[digest] = self.reads.document_of(stored_rows[digest])
            if digest in seen:
                results.append((seen[digest], False))
                continue
            stored = dataclasses.replace(document, created_at=created_at)
            seen[digest] = stored
            new.pop(stored.doc_id, None)  # a later document of the same id replaces it
            new[stored.doc_id] = (stored, chunks, np.asarray(vectors, dtype=np.float32))
            results.append((stored, True))
        if new:
            self._write(list(new.values()))
        return results

    def delete(self, doc_id: str) -> bool:
        self.reads.cache.clear()
        self._mark_pending([doc_id])
        found = self._delete([doc_id])
        self._clear_pending([doc_id])
        return bool(found)

    def remove_orphans(self, grace: float) -> int:
        """What a write or delete left behind without its document row (a crash),
        through the pending marks at least ``grace`` seconds old; the number of passages
        removed."""
        now = datetime.now(UTC)
        stale = [
            key.removeprefix(PENDING)
            for key, value in self.connection.meta().items()
            if key.startswith(PENDING)
            and (now - datetime.fromisoformat(value)).total_seconds() >= grace
        ]
        removed = 0
        self.reads.cache.clear()
        for ids in slices(stale):
            live = set(self._committed(ids))
            orphans = [i for i in ids if i not in live]
            if orphans:
                removed += len(self.connection.query("passages", is_in("doc_id", orphans), ["id"]))
                for collection in ("passages", "texts"):
                    self.connection.delete(collection, is_in("doc_id", orphans))
            self.connection.delete("meta", is_in("key", [PENDING + i for i in ids]))
        return removed

    def _stored_by_hash(self, hashes: list[str]) -> dict[tuple[str, str], dict]:
        """The document rows already holding these contents, by (collection, content
        hash): the same text in two collections is two documents."""
        fields = self.connection.layout.doc_fields
        rows: dict[tuple[str, str], dict] = {}
        for values in slices(hashes):
            for row in self.connection.query("documents", is_in("content_hash", values), fields):
                rows.setdefault((collection_of_id(row["doc_id"]), row["content_hash"]), row)
        return rows

    def _write(self, items: list[Item]) -> None:
        """Mark, replace the documents' old rows, write passages and texts, then the
        document rows (the commit marks), then clear the marks."""
        self.reads.cache.clear()
        doc_ids = [document.doc_id for document, _, _ in items]
        counter: dict[str, str] = {}
        first: int | None = None
        if not self.connection.layout.auto_ids:  # from before auto ids: ids from the counter
            first = int(self.connection.meta()["next_id"])
            total = sum(len(chunks) for _, chunks, _ in items)
            counter["next_id"] = str(first + total)  # advanced first: ids are never reused
        self._mark_pending(doc_ids, **counter)
        self._delete(doc_ids)
        passages: dict[str, list[dict]] = {}
        parts, documents = [], []
        layout = self.connection.layout
        for document, chunks, vectors in items:
            rows = passage_rows(document, chunks, vectors, first, layout)
            passages.setdefault(partition(document.collection), []).extend(rows)
            if first is not None:
                first += len(chunks)
            texts = text_rows(document)
            parts += texts
            documents.append(document_row(document, len(chunks), len(texts), layout))
        for name, rows in sorted(passages.items()):  # each collection's own partition
            self.connection.insert("passages", rows, INSERT_ROWS, partition=name)
        self.connection.insert("texts", parts, INSERT_ROWS)
        self.connection.insert("documents", documents, INSERT_ROWS)  # the commit marks, last
        self._clear_pending(doc_ids)

    def _delete(self, doc_ids: list[str]) -> list[str]:
        """Removes documents (their rows first: readers stop seeing them); the ids found."""
        found: list[str] = []
        for ids in slices(doc_ids):
            found += self._committed(ids)
            for collection in ("documents", "passages", "texts"):
                self.connection.delete(collection, is_in("doc_id", ids))
        return found

    def _committed(self, doc_ids: list[str]) -> list[str]:
        """Those of ``doc_ids`` (at most a filter's worth) that have a document row."""
        rows = self.connection.query("documents", is_in("doc_id", doc_ids), ["doc_id"])
        return [row["doc_id"] for row in rows]

    def _mark_pending(self, doc_ids: list[str], **meta: str) -> None:
        now = datetime.now(UTC).isoformat()
        self.connection.set_meta(**meta, **{PENDING + doc_id: now for doc_id in doc_ids})

    def _clear_pending(self, doc_ids: list[str]) -> None:
        for ids in slices(doc_ids):
            self.connection.delete("meta", is_in("key", [PENDING + i for i in ids]))


def passage_rows(
    document: Document,
    chunks: list[Chunk],
    vectors: np.ndarray,
    first: int | None,
    layout: Layout,
) -> list[dict]:
    """A document's passages; ids from ``first`` on, or Milvus' own where ``None``; the
    ``collection`` and ``regions`` fields where ``layout`` has them."""
    return [
        {
            **({} if first is None else {"id": first + i}),
            **({"collection": document.collection} if layout.has_collections else {}),
            **({"regions": locations.dumps(c.regions)} if layout.has_regions else {}),
            "doc_id": document.doc_id,
            "ord": c.index,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "dense": v.tolist(),
        }
        for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))
    ]


def text_rows(document: Document) -> list[dict]:
    """A document's text in parts of ``PART_CHARS``."""
    return [
        {
            "part_id": f"{document.doc_id}:{i}",
            "doc_id": document.doc_id,
            "ord": i,
            "text": document.text[lo : lo + PART_CHARS],
            "none": NO_VECTOR,
        }
        for i, lo in enumerate(range(0, len(document.text), PART_CHARS))
    ]


def document_row(document: Document, chunks: int, parts: int, layout: Layout) -> dict:
    """A document's row (its commit mark), with the fields ``layout`` has."""
    row = {
        "doc_id": document.doc_id,
        "title": document.title[:1000],
        "source": document.source[:1000],
        "content_hash": document.content_hash,
        "created_at": document.created_at,
        "characters": len(document.text),
        "chunks": chunks,
        "parts": parts,
        "none": NO_VECTOR,
    }
    if layout.has_metadata:
        row["metadata"] = json.dumps(document.metadata, ensure_ascii=False)
    if layout.has_collections:
        row["collection"] = document.collection
    return row
