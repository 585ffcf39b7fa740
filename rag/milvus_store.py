"""A document store on Milvus (Milvus Lite in a file for one machine, a Milvus server or
cluster past it): dense search, BM25 (Milvus' own function over an analysed field) and
the documents themselves.

Milvus has no multi-row transactions, so a write is ordered to be safe: a document's
passages and text are written first and its row in ``documents`` last; that row is the
commit mark. Readers only ever return passages whose document row exists, and opening
the store removes passages and text parts left without one (a crash mid-write). Every
operation uses the Strong consistency level, so that an acknowledged document is
answerable at once, from any replica. Chunk ids come from a counter in ``meta`` that is
advanced before the ids are used, so they are never reused.

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

from rag.errors import IndexMismatchError, StoreError
from rag.store import check_items
from rag.text import content_words
from rag.types import Chunk, Document, DocumentSummary, Reconciliation

SCHEMA_VERSION = "1"
#: Milvus' VARCHAR limit is 65,535 bytes: document texts are stored in parts of this many.
PART_CHARS = 16_000
_NO_VECTOR = [0.0, 1.0]
_STRONG = {"consistency_level": "Strong"}
DOC_FIELDS = ["doc_id", "title", "source", "content_hash", "created_at", "parts"]


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
    ) -> None:
        """``uri``: a file path (Milvus Lite) or ``http://host:19530``; ``dimension=None``
        opens an existing index with the dimension it records."""
        self.uri = uri
        self.token = token
        self.model_id = model_id
        self.dimension = dimension
        self.prefix = prefix
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
            return Reconciliation(removed=self._remove_orphans())

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

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

    def _create(self, name: str, schema, index=None) -> None:
        if self.client.has_collection(name):
            return
        if index is None:
            index = self.client.prepare_index_params()
            index.add_index("none", index_type="FLAT", metric_type="L2")
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
                source=short,
                content_hash=(DataType.VARCHAR, {"max_length": 128}),
                created_at=(DataType.VARCHAR, {"max_length": 64}),
                characters=number,
                chunks=number,
                parts=number,
            ),
        )
        self._create(
            self._c("texts"),
            self._plain_schema(
                "part_id", doc_id=(DataType.VARCHAR, {"max_length": 256}), ord=number, text=text
            ),
        )
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
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
        index.add_index("dense", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._create(self._c("passages"), schema, index)

    def _remove_orphans(self) -> int:
        """Passages and text parts whose document row was never written (a crash)."""
        known = {r["doc_id"] for r in self._query("documents", 'doc_id != ""', ["doc_id"])}
        removed = 0
        for collection in ("passages", "texts"):
            rows = self._query(collection, 'doc_id != ""', ["doc_id"])
            orphans = sorted({r["doc_id"] for r in rows} - known)
            for doc_id in orphans:
                removed += collection == "passages"
                self.client.delete(self._c(collection), filter=f"doc_id == {_quote(doc_id)}")
        return removed

    def _query(self, collection: str, filter: str, fields: list[str]) -> list[dict]:
        return self.client.query(
            self._c(collection), filter=filter, output_fields=fields, **_STRONG
        )

    # ------------------------------------------------------------------ writes

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]]
    ) -> list[tuple[Document, bool]]:
        """See :meth:`rag.store.DocumentStore.add_many`; each document's row is written
        last, after its passages and text (the commit mark)."""
        check_items(items)
        results: list[tuple[Document, bool]] = []
        with self._lock:
            created_at = datetime.now(UTC).isoformat(timespec="seconds")
            seen: dict[str, Document] = {}
            for document, chunks, vectors in items:
                existing = seen.get(document.content_hash) or self.find_by_hash(
                    document.content_hash
                )
                if existing is not None:
                    results.append((existing, False))
                    continue
                self.delete(document.doc_id)
                stored = dataclasses.replace(document, created_at=created_at)
                self._write(stored, chunks, np.asarray(vectors, dtype=np.float32))
                seen[document.content_hash] = stored
                results.append((stored, True))
        return results

    def _write(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        first = int(self._meta()["next_id"])
        self._set_meta(next_id=str(first + len(chunks)))  # ids are never reused
        if chunks:
            self.client.insert(
                self._c("passages"),
                [
                    {
                        "id": first + i,
                        "doc_id": document.doc_id,
                        "ord": c.index,
                        "start": c.start,
                        "end": c.end,
                        "text": c.text,
                        "dense": v.tolist(),
                    }
                    for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))
                ],
            )
        parts = [
            document.text[i : i + PART_CHARS] for i in range(0, len(document.text), PART_CHARS)
        ]
        self.client.insert(
            self._c("texts"),
            [
                {
                    "part_id": f"{document.doc_id}:{i}",
                    "doc_id": document.doc_id,
                    "ord": i,
                    "text": part,
                    "none": _NO_VECTOR,
                }
                for i, part in enumerate(parts)
            ],
        )
        self.client.insert(
            self._c("documents"),
            [
                {
                    "doc_id": document.doc_id,
                    "title": document.title[:1000],
                    "source": document.source[:1000],
                    "content_hash": document.content_hash,
                    "created_at": document.created_at,
                    "characters": len(document.text),
                    "chunks": len(chunks),
                    "parts": len(parts),
                    "none": _NO_VECTOR,
                }
            ],
        )

    def delete(self, doc_id: str) -> bool:
        with self._lock:
            found = self._query("documents", f"doc_id == {_quote(doc_id)}", ["doc_id"])
            where = f"doc_id == {_quote(doc_id)}"
            self.client.delete(self._c("documents"), filter=where)  # readers stop seeing it
            self.client.delete(self._c("passages"), filter=where)
            self.client.delete(self._c("texts"), filter=where)
            return bool(found)

    # ------------------------------------------------------------------ reads

    def _document(self, row: dict) -> Document:
        parts = self._query("texts", f"doc_id == {_quote(row['doc_id'])}", ["ord", "text"])
        text = "".join(p["text"] for p in sorted(parts, key=lambda p: p["ord"]))
        return Document(
            row["doc_id"], row["title"], text, row["source"], row["content_hash"], row["created_at"]
        )

    def find_by_hash(self, digest: str) -> Document | None:
        with self._lock:
            rows = self._query("documents", f"content_hash == {_quote(digest)}", DOC_FIELDS)
            return self._document(rows[0]) if rows else None

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            rows = self._query("documents", f"doc_id == {_quote(doc_id)}", DOC_FIELDS)
            return self._document(rows[0]) if rows else None

    def documents(self) -> list[DocumentSummary]:
        with self._lock:
            rows = self._query(
                "documents",
                'doc_id != ""',
                ["doc_id", "title", "source", "created_at", "characters", "chunks"],
            )
        summaries = [
            DocumentSummary(
                r["doc_id"], r["title"], r["source"], r["created_at"], r["characters"], r["chunks"]
            )
            for r in rows
        ]
        return sorted(summaries, key=lambda d: (d.created_at, d.doc_id))

    def counts(self) -> tuple[int, int]:
        with self._lock:
            rows = self._query("documents", 'doc_id != ""', ["chunks"])
        return len(rows), sum(r["chunks"] for r in rows)

    def vector_count(self) -> int:
        with self._lock:
            rows = self.client.query(
                self._c("passages"), filter="", output_fields=["count(*)"], **_STRONG
            )
        return int(rows[0]["count(*)"])

    def dense_info(self) -> dict:
        return {"kind": "milvus-flat", "vectors": self.vector_count()}

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        with self._lock:
            rows = self._query(
                "passages", f"id in {ids}", ["id", "doc_id", "ord", "start", "end", "text"]
            )
            doc_ids = sorted({r["doc_id"] for r in rows})
            titles = {
                r["doc_id"]: r["title"]
                for r in (
                    self._query("documents", f"doc_id in {doc_ids}", ["doc_id", "title"])
                    if doc_ids
                    else []
                )
            }
        return {
            r["id"]: (
                Chunk(r["doc_id"], r["ord"], r["start"], r["end"], r["text"], id=r["id"]),
                titles[r["doc_id"]],
            )
            for r in rows
            if r["doc_id"] in titles  # a document's row is its commit mark
        }

    def search_dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self._lock:
            hits = self.client.search(
                self._c("passages"),
                data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
                anns_field="dense",
                limit=k,
                search_params={"metric_type": "IP"},
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
