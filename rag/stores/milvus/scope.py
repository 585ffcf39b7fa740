"""A :class:`~rag.core.selection.Selection` resolved against a Milvus index before any
search ranks: which partitions (collections) a search reads, and in each, which
documents.

The filter is evaluated by the reference itself (:meth:`Selection.admits`) on each
candidate document row (its title, source, creation time, collection and metadata; no
text), so that Milvus and SQLite select exactly alike: compiling the typed semantics
(kinds, list elements, missing fields, ``!=`` as NOT ``==``) into Milvus' JSON
expressions would be a second implementation to keep identical, and how Milvus
compares missing or mistyped JSON values is not specified (untested here). A scan of
the selected collections' document rows is the cost (Milvus Lite, 4,000 documents: 0.9 s for the
first filtered question after a write, 34 ms for the next ones, which use the rows kept);
a selection of collections alone reads no row at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rag.core.selection import Selection, collection_of_id, field_rows
from rag.core.types import Document
from rag.stores.base import distinct_values
from rag.stores.milvus.connection import MilvusConnection
from rag.stores.milvus.reads import MilvusReads
from rag.stores.milvus.schema import partition


@dataclass(frozen=True)
class Scope:
    """What a search reads: each partition searched, with the ids of its selected
    documents (None: every passage of the partition), and how many passages the selected
    documents have (None where no document row was read)."""

    parts: dict[str, list[str] | None]
    passages: int | None = None
    #: Every partition, each whole: no selection.
    whole: bool = False

    @property
    def filtered(self) -> bool:
        """Whether some partition is restricted to a list of documents."""
        return any(ids is not None for ids in self.parts.values())

    def doc_ids(self) -> list[str]:
        return sorted(i for ids in self.parts.values() for i in ids or ())


def everything(connection: MilvusConnection) -> Scope:
    """Every partition of the passages, each whole (no selection)."""
    names = connection.client.list_partitions(connection.collection("passages"))
    return Scope(dict.fromkeys(sorted(names)), whole=True)


def resolve(reads: MilvusReads, selection: Selection | None) -> Scope:
    """The scope of ``selection``: without a filter, the partitions of its collections
    that exist (no row read); with one, the documents the reference admits."""
    if selection is None or selection.everything:
        return everything(reads.connection)
    if selection.filter is None:
        names = everything(reads.connection).parts
        wanted = {partition(c) for c in selection.collections or ()}
        return Scope({name: None for name in names if name in wanted})
    parts: dict[str, list[str] | None] = {}
    passages = 0
    for document, chunks in candidates(reads, selection):
        if selection.admits(document):
            ids = parts.setdefault(partition(document.collection), [])
            ids.append(document.doc_id)  # type: ignore[union-attr]
            passages += chunks
    return Scope(parts, passages)


def candidates(reads: MilvusReads, selection: Selection) -> list[tuple[Document, int]]:
    """(document without its text, chunk count) of every committed document of the
    selection's collections: what a filter can look at. Milvus Lite, which one process
    serves, keeps them until this store next writes (a scan of 4,000 documents took
    ~0.9 s there); a server's other replicas may write at any time, so it reads them."""
    key = None if selection.collections is None else tuple(sorted(selection.collections))
    cached = reads.cache.get(key)
    if cached is not None:
        return cached
    fields = ["chunks", *reads.connection.layout.doc_fields]
    found = [
        (
            Document(
                row["doc_id"],
                row["title"],
                "",
                row["source"],
                row["content_hash"],
                row["created_at"],
                metadata=json.loads(row.get("metadata") or "{}"),
                collection=collection_of_id(row["doc_id"]),
            ),
            int(row["chunks"]),
        )
        for row in reads.rows(selection.collections, fields)
    ]
    if reads.connection.lite:
        reads.cache[key] = found
    return found


def selected_documents(reads: MilvusReads, selection: Selection) -> list[str]:
    """The ids of the documents in ``selection``, sorted."""
    if selection.filter is None:
        fields = ["doc_id"]
        return sorted(r["doc_id"] for r in reads.rows(selection.collections, fields))
    return sorted(d.doc_id for d, _ in candidates(reads, selection) if selection.admits(d))


def field_values(reads: MilvusReads, collection: str, limit: int) -> dict[str, list]:
    """The collection's meta fields and their first ``limit`` distinct values, from the
    document rows filters look at (:func:`candidates`, kept by Milvus Lite)."""
    documents = candidates(reads, Selection((collection,)))
    return distinct_values((row for d, _ in documents for row in field_rows(d)), limit)
