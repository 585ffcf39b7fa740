"""Writes to a Milvus index, ordered to be safe without multi-row transactions.

A batch's documents are first marked pending in ``meta``; their new passages and text
parts are written next, their rows in ``documents`` last (upserted: a document's row is
its commit mark, and an upsert swaps an old version's row for the new one in one
operation); only then are the old version's passages and parts removed, and the marks
cleared. A new version is thus stored before the old one is deleted: a crash or a failed
request leaves the old version (no new row yet) or the new one, never neither. Text parts
are named by the content they belong to (``doc@hash:n``), so that a reader joins the
parts of the version its row names, never a mix.

Readers only ever return passages whose document row exists. Opening the store settles
what a crashed write left behind, found through the marks, so it never scans the
collection: a document without its row loses its passages and parts; one with its row
keeps, of its passages, one per position that its committed text holds (the newest), and
the parts of that text. A mark younger than ``orphan_grace`` seconds may belong to another
replica still writing: it is left alone. Between the new rows and the old ones' removal
(a few requests) a search may meet passages of both versions. Chunk ids are Milvus' own
(``auto_id``): unique across replicas writing at once, never reused. (Collections made
before version 0.9 keep a counter in ``meta``, advanced before its ids are used; one
writer only.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from rag.core import locations
from rag.core.selection import collection_of_id
from rag.core.types import Chunk, Document
from rag.stores.milvus.connection import FILTER_VALUES, MilvusConnection, is_in, quote, slices
from rag.stores.milvus.reads import MilvusReads, version_parts
from rag.stores.milvus.schema import NO_VECTOR, Layout, partition

#: Milvus' VARCHAR limit is 65,535 bytes: document texts are stored in parts of this many.
PART_CHARS = 16_000
#: Rows per insert request (a gRPC message stays well under its 64 MB cap).
INSERT_ROWS = 2_000
#: The ``meta`` key of a pending write's mark is this and the document id.
PENDING = "pending:"

Item = tuple[Document, list[Chunk], np.ndarray]
#: What :meth:`MilvusWrites.add_many` returns: the items' results and the ids deleted.
AddResult = tuple[list[tuple[Document, bool]], list[str]]


class MilvusWrites:
    """Adds and deletes documents with the pending-mark protocol; removes what a crashed
    one left behind. The caller holds the store's lock."""

    def __init__(self, connection: MilvusConnection, reads: MilvusReads) -> None:
        self.connection = connection
        self.reads = reads

    def add_many(self, items: list[Item], remove: Iterable[str] = ()) -> AddResult:
        """See :meth:`rag.stores.base.DocumentStore.add_many`: (stored document, created?)
        of each item, and the ids of ``remove`` deleted (not replaced). The whole batch is
        written with a few requests per collection (a round trip per document made large
        imports slow)."""
        remove = list(dict.fromkeys(remove))
        stored_rows = self._stored_by_hash(sorted({d.content_hash for d, _, _ in items}))
        stored_rows = {k: r for k, r in stored_rows.items() if r["doc_id"] not in remove}
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
            when = document.created_at or created_at  # a copy's or rebuild's kept
            stored = dataclasses.replace(document, created_at=when)
            seen[digest] = stored
            new.pop(stored.doc_id, None)  # a later document of the same id replaces it
            new[stored.doc_id] = (stored, chunks, np.asarray(vectors, dtype=np.float32))
            results.append((stored, True))
        gone = [doc_id for doc_id in remove if doc_id not in new]
        deleted = self._write(list(new.values()), gone) if new or gone else []
        return results, deleted

    def delete(self, doc_id: str) -> bool:
        return bool(self._write([], [doc_id]))

    def remove_orphans(self, grace: float) -> int:
        """Settle what a write or delete left behind (a crash), through the pending
        marks at least ``grace`` seconds old; the number of passages removed."""
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
            removed += sum(self._settle(doc_id) for doc_id in sorted(live))
            self.connection.delete("meta", is_in("key", [PENDING + i for i in ids]))
        return removed

    def _settle(self, doc_id: str) -> int:
        """Keep, of a committed document's passages and parts, those of the version its
        row names (a crash between a new version's rows and the old ones' removal leaves
        both): one passage per position, the newest whose text is the document's text at
        its offsets; the passages removed."""
        fields = [*self.connection.layout.doc_fields, "chunks"]
        (row,) = self.connection.query("documents", f"doc_id == {quote(doc_id)}", fields)
        parts = self.connection.query(
            "texts", f"doc_id == {quote(doc_id)}", ["part_id", "ord", "text"]
        )
        kept_parts = {p["part_id"] for p in version_parts(row, parts)}
        text = self.reads.document_of(row, parts).text
        stray = [p["part_id"] for p in parts if p["part_id"] not in kept_parts]
        if stray:
            self.connection.delete("texts", is_in("part_id", stray))
        rows = self.connection.query(
            "passages", f"doc_id == {quote(doc_id)}", ["id", "ord", "start", "end", "text"]
        )
        keep: dict[int, int] = {}
        for p in sorted(rows, key=lambda r: -r["id"]):
            fits = p["ord"] < row["chunks"] and text[p["start"] : p["end"]] == p["text"]
            if fits and p["ord"] not in keep:
                keep[p["ord"]] = p["id"]
        kept = set(keep.values())
        extra = [p["id"] for p in rows if p["id"] not in kept]
        if extra:
            self.connection.delete("passages", f"id in {extra}")
        return len(extra)

    def _stored_by_hash(self, hashes: list[str]) -> dict[tuple[str, str], dict]:
        """The document rows already holding these contents, by (collection, content
        hash): the same text in two collections is two documents."""
        fields = self.connection.layout.doc_fields
        rows: dict[tuple[str, str], dict] = {}
        for values in slices(hashes):
            for row in self.connection.query("documents", is_in("content_hash", values), fields):
                rows.setdefault((collection_of_id(row["doc_id"]), row["content_hash"]), row)
        return rows

    def _write(self, items: list[Item], gone: list[str]) -> list[str]:
        """Mark; write the new passages and parts, then the document rows (the commit
        marks); then remove the old versions' passages and parts, and the documents of
        ``gone``; clear the marks. The ids of ``gone`` that were there."""
        self.reads.cache.clear()
        doc_ids = [document.doc_id for document, _, _ in items]
        counter: dict[str, str] = {}
        first: int | None = None
        if not self.connection.layout.auto_ids:  # from before auto ids: ids from the counter
            first = int(self.connection.meta()["next_id"])
            total = sum(len(chunks) for _, chunks, _ in items)
            counter["next_id"] = str(first + total)  # advanced first: ids are never reused
        self._mark_pending(doc_ids + gone, **counter)
        old_passages = self._ids("passages", "id", doc_ids)
        old_parts = self._ids("texts", "part_id", doc_ids)
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
        self.connection.insert("texts", parts, INSERT_ROWS, upsert=True)
        self.connection.insert("documents", documents, INSERT_ROWS, upsert=True)  # commits
        for lo in range(0, len(old_passages), FILTER_VALUES):
            self.connection.delete("passages", f"id in {old_passages[lo : lo + FILTER_VALUES]}")
        stale = sorted(set(old_parts) - {p["part_id"] for p in parts})
        for values in slices(stale):
            self.connection.delete("texts", is_in("part_id", values))
        deleted = self._delete(gone)
        self._clear_pending(doc_ids + gone)
        return deleted

    def _ids(self, collection: str, key: str, doc_ids: list[str]) -> list:
        """The ``key`` of every row of ``collection`` belonging to ``doc_ids``."""
        found = []
        for ids in slices(doc_ids):
            found += [r[key] for r in self.connection.scan(collection, is_in("doc_id", ids), [key])]
        return found

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
    """A document's text in parts of ``PART_CHARS``, named by the document and its
    content (a version's parts never overwrite another version's)."""
    return [
        {
            "part_id": f"{document.doc_id}@{document.content_hash[:16]}:{i}",
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
