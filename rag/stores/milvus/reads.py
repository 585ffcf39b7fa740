"""Reads of a Milvus index: documents, passages, collections, and export (the searches
are in :mod:`.search`).

A passage is only ever returned with its document's row, which a write stores last
(its commit mark, see :mod:`rag.stores.milvus.writes`): a passage whose write has not
committed, or crashed, is not there for a reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import numpy as np

from rag.core import locations
from rag.core.selection import collection_of_id
from rag.core.types import Chunk, Document, DocumentSummary, pages_of
from rag.stores.milvus.connection import MilvusConnection, is_in, quote
from rag.stores.milvus.schema import DOC_FIELDS, partition

#: Texts looked up per query of :meth:`MilvusReads.vectors_for_texts`.
LOOKUP_TEXTS = 100
_SUMMARY_FIELDS = ["doc_id", "title", "source", "created_at", "characters", "chunks"]


class MilvusReads:
    """What a :class:`rag.stores.base.DocumentStore` reads, from the collections of one
    connection. The caller holds the store's lock."""

    def __init__(self, connection: MilvusConnection) -> None:
        self.connection = connection
        #: What filters look at, by collections (:func:`.scope.candidates`); every
        #: write of this store empties it.
        self.cache: dict[tuple[str, ...] | None, list] = {}

    def document_of(self, row: dict, parts: list[dict] | None = None) -> Document:
        """The document of a ``documents`` row, its text joined from its parts (read
        here unless given)."""
        if parts is None:
            where = f"doc_id == {quote(row['doc_id'])}"
            parts = self.connection.query("texts", where, ["part_id", "ord", "text"])
        return self._joined(row, parts)

    def _joined(self, row: dict, parts: list[dict]) -> Document:
        """The document of a ``documents`` row and its text's parts (those of the version
        the row names: see :func:`version_parts`)."""
        mine = version_parts(row, parts)
        text = "".join(p["text"] for p in sorted(mine, key=lambda p: p["ord"]))
        return Document(
            row["doc_id"],
            row["title"],
            text,
            row["source"],
            row["content_hash"],
            row["created_at"],
            metadata=json.loads(row.get("metadata") or "{}"),
            collection=collection_of_id(row["doc_id"]),
        )

    def document(self, doc_id: str) -> Document | None:
        fields = self.connection.layout.doc_fields
        rows = self.connection.query("documents", f"doc_id == {quote(doc_id)}", fields)
        return self.document_of(rows[0]) if rows else None

    def rows(self, collections: Iterable[str] | None, fields: list[str]) -> Iterator[dict]:
        """The document rows of ``collections`` (None: all), found by the ``collection``
        field where the index has it, else by what each id names."""
        wanted = None if collections is None else set(collections)
        if wanted is not None and not wanted:
            return
        where = 'doc_id != ""'
        if wanted is not None and self.connection.layout.has_collections:
            where = is_in("collection", sorted(wanted))
        for row in self.connection.scan("documents", where, fields):
            if wanted is None or collection_of_id(row["doc_id"]) in wanted:
                yield row

    def documents(self, collections: Iterable[str] | None = None) -> list[DocumentSummary]:
        """Every document (of ``collections``) without its text, oldest first."""
        summaries = [
            DocumentSummary(
                *(r[f] for f in _SUMMARY_FIELDS), collection=collection_of_id(r["doc_id"])
            )
            for r in self.rows(collections, _SUMMARY_FIELDS)
        ]
        return sorted(summaries, key=lambda d: (d.created_at, d.doc_id))

    def collections(self) -> dict[str, tuple[int, int]]:
        """(documents, passages) of every collection that holds a document: the passages
        its committed document rows count."""
        found: dict[str, tuple[int, int]] = {}
        for row in self.rows(None, ["doc_id", "chunks"]):
            name = collection_of_id(row["doc_id"])
            documents, passages = found.get(name, (0, 0))
            found[name] = (documents + 1, passages + int(row["chunks"]))
        return dict(sorted(found.items()))

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        """Passages by id with their document's title; those without a document row
        (uncommitted) are left out, like unknown ids."""
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        fields = ["id", "doc_id", "ord", "start", "end", "text", *self._region_field()]
        rows = self.connection.query("passages", f"id in {ids}", fields)
        documents = self._titles(sorted({r["doc_id"] for r in rows}))
        found = {}
        for r in rows:
            document = documents.get(r["doc_id"])
            if document is None:
                continue  # a document's row is its commit mark
            starts = json.loads(document.get("metadata") or "{}").get("page_starts")
            pages = pages_of(r["start"], r["end"], starts) if starts else ()
            chunk = Chunk(
                r["doc_id"],
                r["ord"],
                r["start"],
                r["end"],
                r["text"],
                r["id"],
                pages,
                locations.loads(r.get("regions")),
            )
            found[r["id"]] = (chunk, document["title"])
        return found

    def _region_field(self) -> list[str]:
        """``["regions"]`` where the passages have locations, else none."""
        return ["regions"] if self.connection.layout.has_regions else []

    def _titles(self, doc_ids: list[str]) -> dict[str, dict]:
        """The committed documents among ``doc_ids``: title (and metadata, for pages)."""
        if not doc_ids:
            return {}
        fields = ["doc_id", "title", *self.connection.layout.doc_fields[len(DOC_FIELDS) :]]
        rows = self.connection.query("documents", is_in("doc_id", doc_ids), fields)
        return {row["doc_id"]: row for row in rows}

    def exported(self, doc_ids: list[str]) -> list[tuple[Document, list[Chunk], np.ndarray]]:
        """These documents with their passages and vectors (one batch of an export, at
        most a filter's worth): three queries a batch, not three a document."""
        where = is_in("doc_id", doc_ids)
        rows = self.connection.query("documents", where, self.connection.layout.doc_fields)
        texts: dict[str, list[dict]] = {}
        for part in self.connection.scan("texts", where, ["doc_id", "part_id", "ord", "text"]):
            texts.setdefault(part["doc_id"], []).append(part)
        passages: dict[str, list[dict]] = {}
        fields = ["id", "doc_id", "ord", "start", "end", "text", "dense", *self._region_field()]
        for row in self.connection.scan("passages", where, fields):  # paged on a server
            passages.setdefault(row["doc_id"], []).append(row)
        found = {row["doc_id"]: row for row in rows}
        items = []
        for doc_id in (i for i in doc_ids if i in found):
            document = self._joined(found[doc_id], texts.get(doc_id, []))
            mine = sorted(passages.get(doc_id, []), key=lambda r: r["ord"])
            chunks = [
                Chunk(
                    doc_id,
                    r["ord"],
                    r["start"],
                    r["end"],
                    r["text"],
                    r["id"],
                    regions=locations.loads(r.get("regions")),
                )
                for r in mine
            ]
            vectors = np.array([r["dense"] for r in mine], dtype=np.float32)
            items.append((document, chunks, vectors.reshape(len(mine), self.connection.dimension)))
        return items

    def vectors_for_texts(self, collection: str, texts: list[str]) -> dict[str, np.ndarray]:
        """The vectors of committed passages of ``collection`` holding these texts, asked
        for by value (strings as JSON literals, which Milvus' filters read) in the
        collection's partition; a batch Milvus cannot parse is left unmatched (those
        texts are embedded again: slower, never wrong)."""
        from pymilvus.exceptions import MilvusException

        wanted = sorted(set(texts))
        found: dict[str, np.ndarray] = {}
        name = partition(collection)
        if name not in self.connection.partitions("passages"):
            return found
        for lo in range(0, len(wanted), LOOKUP_TEXTS):
            where = "text in " + json.dumps(wanted[lo : lo + LOOKUP_TEXTS], ensure_ascii=False)
            try:
                rows = self.connection.query("passages", where, ["doc_id", "text", "dense"], [name])
            except MilvusException:
                continue
            live = self._titles(sorted({r["doc_id"] for r in rows}))
            for r in rows:
                if r["doc_id"] in live and collection_of_id(r["doc_id"]) == collection:
                    found.setdefault(r["text"], np.asarray(r["dense"], dtype=np.float32))
        return found


def version_parts(row: dict, parts: list[dict]) -> list[dict]:
    """The text parts of the version a document row names: those named ``doc@hash:n``
    after its content hash, else (a document written before parts were named so) the
    parts named ``doc:n``. A write that crashed may have left another version's."""
    named = f"{row['doc_id']}@{row['content_hash'][:16]}:"
    mine = [p for p in parts if p.get("part_id", "").startswith(named)]
    return mine or [p for p in parts if "@" not in p.get("part_id", "")]
