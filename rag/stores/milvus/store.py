"""A document store on Milvus (Milvus Lite in a file for one machine, a Milvus server or
cluster past it): dense search, BM25 (Milvus' own function over an analysed field) and
the documents themselves.

Milvus has no multi-row transactions, so a write is ordered to be safe: a batch's
documents are first marked pending in ``meta``, their passages and text are written
next, their rows in ``documents`` last (a document's row is its commit mark), and the
marks are then cleared. Readers only ever return passages whose document row exists;
opening the store removes what a write left behind without its document row (a crash
mid-write), found through the marks, so it never scans the collection. A mark younger
than ``orphan_grace`` seconds may belong to another replica still writing: it is left
alone (Milvus Lite is opened by one process only, so its grace is 0). Every operation
uses the Strong consistency level, so that an acknowledged document is answerable at
once, from any replica. Chunk ids are Milvus' own (``auto_id``): unique across
replicas writing at once, never reused. (Collections made before version 0.9 keep a
counter in ``meta``, advanced before its ids are used; one writer only.)

Milvus needs a vector field in every collection: the collections that hold no vectors
(documents, text parts, meta) carry a constant two-dimensional one.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.core.errors import IndexMismatchError, StoreError
from rag.core.text import content_words
from rag.core.types import Chunk, Document, DocumentSummary, Reconciliation, pages_of
from rag.stores.base import check_items

SCHEMA_VERSION = "1"
#: Milvus' VARCHAR limit is 65,535 bytes: document texts are stored in parts of this many.
PART_CHARS = 16_000
_NO_VECTOR = [0.0, 1.0]
_STRONG = {"consistency_level": "Strong"}
DOC_FIELDS = ["doc_id", "title", "source", "content_hash", "created_at", "parts"]
#: Dense index types offered (all of them exist in Milvus Lite and in Milvus servers).
DENSE_INDEXES = {
    "HNSW": ({"M": 16, "efConstruction": 200}, lambda k: {"ef": max(64, 2 * k)}),
    "FLAT": ({}, lambda k: {}),
}
#: Rows per insert request (a gRPC message stays well under its 64 MB cap).
INSERT_ROWS = 2_000
#: Values per ``in [...]`` filter.
FILTER_VALUES = 1_000
_PENDING = "pending:"


def _quote(value: str) -> str:
    """A string literal of a Milvus filter expression."""
    return json.dumps(value)


class MilvusStore:
    """Documents, passages and vectors in Milvus collections named ``{prefix}_…``."""

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
        a new collection (an existing one keeps its own)."""
        if index_type not in DENSE_INDEXES:
            raise ValueError(f"index_type must be one of {', '.join(DENSE_INDEXES)}")
        self.uri = uri
        self.token = token
        self.model_id = model_id
        self.dimension = dimension
        self.prefix = prefix
        self.index_type = index_type
        self._lite = lite = "://" not in uri
        self.orphan_grace = orphan_grace if orphan_grace is not None else (0.0 if lite else 600.0)
        self._search_params = DENSE_INDEXES[index_type][1]
        self._auto_ids = True
        self._doc_fields = DOC_FIELDS
        self._client = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ lifecycle

    def _c(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    @property
    def client(self):
        if self._client is None:
            raise StoreError("the store is not open")
        return self._client

    def open(self) -> Reconciliation:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        if "://" not in self.uri:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client = MilvusClient(self.uri, token=self.token or "")
        except MilvusException as exc:
            raise StoreError(f"cannot open Milvus at {self.uri}: {exc}") from None
        with self._lock:
            # a restarted Milvus (Lite) holds its collections released: load ours
            for name in self._client.list_collections():
                if name.startswith(f"{self.prefix}_"):
                    self._client.load_collection(name)
            self._check_meta()
            self._create_collections()
            self._find_index_type()
            return Reconciliation(removed=self._remove_orphans())

    def close(self) -> None:
        """Closes the client; for Milvus Lite also stops this process' server of the
        file, which flushes it and frees its lock for another process."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                if self._lite:
                    from milvus_lite.server_manager import server_manager_instance

                    server_manager_instance.release_server(self.uri)

    def _meta(self) -> dict[str, str]:
        if not self.client.has_collection(self._c("meta")):
            return {}
        rows = self.client.query(
            self._c("meta"), filter='key != ""', output_fields=["key", "value"], **_STRONG
        )
        return {r["key"]: r["value"] for r in rows}

    def _set_meta(self, **values: str) -> None:
        self.client.upsert(
            self._c("meta"),
            [{"key": k, "value": str(v), "none": _NO_VECTOR} for k, v in values.items()],
        )

    def _check_meta(self) -> None:
        meta = self._meta()
        if self.dimension is None:
            if not meta:
                raise StoreError(f"no rag index in Milvus at {self.uri}: run `rag index` first")
            self.dimension = int(meta["dimension"])
        if not meta:
            self._create(self._c("meta"), self._plain_schema("key"))
            self._set_meta(
                schema_version=SCHEMA_VERSION,
                embedding_model=self.model_id,
                dimension=str(self.dimension),
                next_id="1",
                index_id=uuid.uuid4().hex,
            )
            return
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"the Milvus index at {self.uri} has schema version "
                f"{meta.get('schema_version')!r}, this version reads {SCHEMA_VERSION!r}"
            )
        if meta.get("embedding_model") != self.model_id or meta.get("dimension") != str(
            self.dimension
        ):
            raise IndexMismatchError(
                f"the index at {self.uri} was built with {meta.get('embedding_model')} "
                f"(dimension {meta.get('dimension')}), not {self.model_id} "
                f"(dimension {self.dimension}): set RAG_EMBEDDING_MODEL back or rebuild it"
            )

    def _plain_schema(self, key: str, **fields):
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field(key, DataType.VARCHAR, is_primary=True, max_length=256)
        for name, (kind, extra) in fields.items():
            schema.add_field(name, kind, **extra)
        if key == "key":
            schema.add_field("value", DataType.VARCHAR, max_length=1024)
        schema.add_field("none", DataType.FLOAT_VECTOR, dim=2)
        return schema

    def _create(self, name: str, schema, index=None, lookups: tuple[str, ...] = ()) -> None:
        """A collection; ``lookups``: fields filtered by value, given a scalar index so
        that finding a document's rows does not scan the collection."""
        if self.client.has_collection(name):
            return
        if index is None:
            index = self.client.prepare_index_params()
            index.add_index("none", index_type="FLAT", metric_type="L2")
        for field in lookups:
            index.add_index(field, index_type="INVERTED")
        self.client.create_collection(name, schema=schema, index_params=index, **_STRONG)

    def _create_collections(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        text = (DataType.VARCHAR, {"max_length": 65_535})
        short = (DataType.VARCHAR, {"max_length": 1024})
        number = (DataType.INT64, {})
        self._create(
            self._c("documents"),
            self._plain_schema(
                "doc_id",
                title=short,
                metadata=(DataType.VARCHAR, {"max_length": 65_535}),
                source=short,
                content_hash=(DataType.VARCHAR, {"max_length": 128}),
                created_at=(DataType.VARCHAR, {"max_length": 64}),
                characters=number,
                chunks=number,
                parts=number,
            ),
            lookups=("content_hash",),
        )
        self._create(
            self._c("texts"),
            self._plain_schema(
                "part_id", doc_id=(DataType.VARCHAR, {"max_length": 256}), ord=number, text=text
            ),
            lookups=("doc_id",),
        )
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
        schema.add_field("ord", DataType.INT64)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index = self.client.prepare_index_params()
        index.add_index(
            "dense",
            index_type=self.index_type,
            metric_type="IP",
            params=DENSE_INDEXES[self.index_type][0],
        )
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._create(self._c("passages"), schema, index, lookups=("doc_id",))

    def _find_index_type(self) -> None:
        """An existing collection keeps the dense index (and the kind of ids) it was
        built with."""
        fields = self.client.describe_collection(self._c("passages"))["fields"]
        self._auto_ids = any(f["name"] == "id" and f.get("auto_id") for f in fields)
        documents = self.client.describe_collection(self._c("documents"))["fields"]
        # collections from before documents had metadata store none
        self._doc_fields = DOC_FIELDS + (
            ["metadata"] if any(f["name"] == "metadata" for f in documents) else []
        )
        found = self.client.describe_index(self._c("passages"), "dense").get("index_type")
        if found in DENSE_INDEXES:
            self.index_type = found
            self._search_params = DENSE_INDEXES[found][1]

    def _remove_orphans(self) -> int:
        """What a write or delete left behind without its document row (a crash),
        through the pending marks older than the grace; the number of passages removed."""
        now = datetime.now(UTC)
        stale = [
            key.removeprefix(_PENDING)
            for key, value in self._meta().items()
            if key.startswith(_PENDING)
            and (now - datetime.fromisoformat(value)).total_seconds() >= self.orphan_grace
        ]
        removed = 0
        for ids in _slices(stale):
            live = {r["doc_id"] for r in self._query("documents", _in("doc_id", ids), ["doc_id"])}
            orphans = [i for i in ids if i not in live]
            if orphans:
                removed += len(self._query("passages", _in("doc_id", orphans), ["id"]))
                for collection in ("passages", "texts"):
                    self.client.delete(self._c(collection), filter=_in("doc_id", orphans))
            self.client.delete(self._c("meta"), filter=_in("key", [_PENDING + i for i in ids]))
        return removed

    def _query(self, collection: str, filter: str, fields: list[str]) -> list[dict]:
        return self.client.query(
            self._c(collection), filter=filter, output_fields=fields, **_STRONG
        )

    def _scan(self, collection: str, filter: str, fields: list[str]) -> Iterator[dict]:
        """Every matching row, in pages on a server (which caps one query's result);
        Milvus Lite answers in one (it has no iterator timestamps)."""
        if self._lite:
            yield from self._query(collection, filter, fields)
            return
        pages = self.client.query_iterator(
            self._c(collection), batch_size=10_000, filter=filter, output_fields=fields, **_STRONG
        )
        try:
            while rows := pages.next():
                yield from rows
        finally:
            pages.close()

    # ------------------------------------------------------------------ writes

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]]
    ) -> list[tuple[Document, bool]]:
        """See :meth:`rag.stores.base.DocumentStore.add_many`. The whole batch is written with a
        few requests per collection (a round trip per document made large imports slow);
        the document rows come last (their commit marks)."""
        check_items(items)
        results: list[tuple[Document, bool]] = []
        with self._lock:
            hashes = sorted({document.content_hash for document, _, _ in items})
            stored_rows: dict[str, dict] = {}
            for values in _slices(hashes):
                for row in self._query("documents", _in("content_hash", values), self._doc_fields):
                    stored_rows.setdefault(row["content_hash"], row)
            created_at = datetime.now(UTC).isoformat(timespec="seconds")
            seen: dict[str, Document] = {}
            new: dict[str, tuple[Document, list[Chunk], np.ndarray]] = {}
            for document, chunks, vectors in items:
                digest = document.content_hash
                if digest not in seen and digest in stored_rows:
                    seen[digest] = self._document(stored_rows[digest])
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

    def _mark_pending(self, doc_ids: list[str], **meta: str) -> None:
        now = datetime.now(UTC).isoformat()
        self._set_meta(**meta, **{_PENDING + doc_id: now for doc_id in doc_ids})

    def _clear_pending(self, doc_ids: list[str]) -> None:
        for ids in _slices(doc_ids):
            self.client.delete(self._c("meta"), filter=_in("key", [_PENDING + i for i in ids]))

    def _write(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> None:
        doc_ids = [document.doc_id for document, _, _ in items]
        counter = {}
        first = 0
        if not self._auto_ids:  # a collection from before auto ids: ids from the counter
            first = int(self._meta()["next_id"])
            total = sum(len(chunks) for _, chunks, _ in items)
            counter["next_id"] = str(first + total)  # advanced first: ids are never reused
        self._mark_pending(doc_ids, **counter)
        self._delete(doc_ids)
        passages, parts, documents = [], [], []
        for document, chunks, vectors in items:
            passages += [
                {
                    **({} if self._auto_ids else {"id": first + i}),
                    "doc_id": document.doc_id,
                    "ord": c.index,
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                    "dense": v.tolist(),
                }
                for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))
            ]
            first += len(chunks)
            texts = [
                document.text[i : i + PART_CHARS] for i in range(0, len(document.text), PART_CHARS)
            ]
            parts += [
                {
                    "part_id": f"{document.doc_id}:{i}",
                    "doc_id": document.doc_id,
                    "ord": i,
                    "text": part,
                    "none": _NO_VECTOR,
                }
                for i, part in enumerate(texts)
            ]
            documents.append(
                {
                    "doc_id": document.doc_id,
                    "title": document.title[:1000],
                    "source": document.source[:1000],
                    "content_hash": document.content_hash,
                    "created_at": document.created_at,
                    "characters": len(document.text),
                    "chunks": len(chunks),
                    "parts": len(texts),
                    **(
                        {"metadata": json.dumps(document.metadata, ensure_ascii=False)}
                        if "metadata" in self._doc_fields
                        else {}
                    ),
                    "none": _NO_VECTOR,
                }
            )
        batches = (("passages", passages), ("texts", parts), ("documents", documents))
        for collection, rows in batches:
            for lo in range(0, len(rows), INSERT_ROWS):
                self.client.insert(self._c(collection), rows[lo : lo + INSERT_ROWS])
        self._clear_pending(doc_ids)

    def _delete(self, doc_ids: list[str]) -> list[str]:
        """Removes documents (their rows first: readers stop seeing them); the ids found."""
        found: list[str] = []
        for ids in _slices(doc_ids):
            found += [r["doc_id"] for r in self._query("documents", _in("doc_id", ids), ["doc_id"])]
            for collection in ("documents", "passages", "texts"):
                self.client.delete(self._c(collection), filter=_in("doc_id", ids))
        return found

    def delete(self, doc_id: str) -> bool:
        with self._lock:
            self._mark_pending([doc_id])
            found = self._delete([doc_id])
            self._clear_pending([doc_id])
            return bool(found)

    # ------------------------------------------------------------------ reads

    def _document(self, row: dict) -> Document:
        parts = self._query("texts", f"doc_id == {_quote(row['doc_id'])}", ["ord", "text"])
        text = "".join(p["text"] for p in sorted(parts, key=lambda p: p["ord"]))
        return Document(
            row["doc_id"],
            row["title"],
            text,
            row["source"],
            row["content_hash"],
            row["created_at"],
            metadata=json.loads(row.get("metadata") or "{}"),
        )

    def find_by_hash(self, digest: str) -> Document | None:
        with self._lock:
            rows = self._query("documents", f"content_hash == {_quote(digest)}", self._doc_fields)
            return self._document(rows[0]) if rows else None

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            rows = self._query("documents", f"doc_id == {_quote(doc_id)}", self._doc_fields)
            return self._document(rows[0]) if rows else None

    def documents(self) -> list[DocumentSummary]:
        with self._lock:
            rows = list(
                self._scan(
                    "documents",
                    'doc_id != ""',
                    ["doc_id", "title", "source", "created_at", "characters", "chunks"],
                )
            )
        summaries = [
            DocumentSummary(
                r["doc_id"], r["title"], r["source"], r["created_at"], r["characters"], r["chunks"]
            )
            for r in rows
        ]
        return sorted(summaries, key=lambda d: (d.created_at, d.doc_id))

    def _count(self, collection: str) -> int:
        with self._lock:
            rows = self.client.query(
                self._c(collection), filter="", output_fields=["count(*)"], **_STRONG
            )
        return int(rows[0]["count(*)"])

    def counts(self) -> tuple[int, int]:
        """Row counts kept by Milvus (no scan): while a write is under way its passages
        may be counted before its document row."""
        return self._count("documents"), self._count("passages")

    def vector_count(self) -> int:
        return self._count("passages")

    def dense_info(self) -> dict:
        return {"kind": f"milvus-{self.index_type.lower()}", "vectors": self.vector_count()}

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        with self._lock:
            rows = self._query(
                "passages", f"id in {ids}", ["id", "doc_id", "ord", "start", "end", "text"]
            )
            doc_ids = sorted({r["doc_id"] for r in rows})
            fields = ["doc_id", "title", *self._doc_fields[len(DOC_FIELDS) :]]
            rows_of_documents = (
                self._query("documents", _in("doc_id", doc_ids), fields) if doc_ids else []
            )
            documents = {d["doc_id"]: d for d in rows_of_documents}
        found = {}
        for r in rows:
            document = documents.get(r["doc_id"])
            if document is None:
                continue  # a document's row is its commit mark
            starts = json.loads(document.get("metadata") or "{}").get("page_starts")
            pages = pages_of(r["start"], r["end"], starts) if starts else ()
            chunk = Chunk(r["doc_id"], r["ord"], r["start"], r["end"], r["text"], r["id"], pages)
            found[r["id"]] = (chunk, document["title"])
        return found

    def search_dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self._lock:
            hits = self.client.search(
                self._c("passages"),
                data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
                anns_field="dense",
                limit=k,
                search_params={"metric_type": "IP", "params": self._search_params(k)},
                **_STRONG,
            )
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def search_lexical(self, text: str, k: int) -> list[tuple[int, float]]:
        """BM25 over the question's content words (stop words dropped, as for FTS5)."""
        query = " ".join(content_words(text))
        if not query:
            return []
        with self._lock:
            hits = self.client.search(
                self._c("passages"),
                data=[query],
                anns_field="sparse",
                limit=k,
                search_params={"metric_type": "BM25"},
                **_STRONG,
            )
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits[0] if h["distance"]]

    def export(self, batch: int = 256) -> Iterator[list[tuple[Document, list[Chunk], np.ndarray]]]:
        """Documents with their passages and vectors, oldest first, in batches."""
        ids = [d.doc_id for d in self.documents()]
        for lo in range(0, len(ids), batch):
            items = []
            with self._lock:
                for doc_id in ids[lo : lo + batch]:
                    document = self.document(doc_id)
                    rows = self._query(
                        "passages",
                        f"doc_id == {_quote(doc_id)}",
                        ["id", "ord", "start", "end", "text", "dense"],
                    )
                    rows.sort(key=lambda r: r["ord"])
                    chunks = [
                        Chunk(doc_id, r["ord"], r["start"], r["end"], r["text"], id=r["id"])
                        for r in rows
                    ]
                    vectors = np.array([r["dense"] for r in rows], dtype=np.float32)
                    items.append((document, chunks, vectors.reshape(len(rows), self.dimension)))
            yield items


def _slices(values: list[str], size: int = FILTER_VALUES) -> Iterator[list[str]]:
    for lo in range(0, len(values), size):
        yield values[lo : lo + size]


def _in(field: str, values: list[str]) -> str:
    """A filter matching ``field`` against ``values`` (strings quoted as JSON)."""
    return f"{field} in {json.dumps(values)}"
