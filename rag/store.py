"""Persistent storage: SQLite for documents, chunks and vectors; FAISS for dense search.

SQLite is the source of truth: it holds every chunk's vector too, so the FAISS
file is a derived index that can always be repaired from it. A write commits
the SQLite transaction first (which bumps a generation number), then updates the
in-memory FAISS index. The FAISS file is replaced atomically (temporary file,
fsync, rename) at most every ``flush_seconds`` and on close, together with the
generation it reflects: rewriting a million vectors after every write would make
writes cost seconds. On open, a file of the current generation is used as is;
otherwise (a crash, a write by another process) the two id sets are compared and
FAISS is repaired from SQLite, so the two never disagree once the store is open.
Chunk ids come from an AUTOINCREMENT key and are never reused.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.types import Chunk, Document
from rag.vectors import IVF_THRESHOLD, DenseIndex, training_size

SCHEMA_VERSION = "1"
DB_NAME = "rag.sqlite3"
FAISS_NAME = "vectors.faiss"
GENERATION_NAME = "vectors.faiss.generation"
#: Approximate (IVF) hits are re-ranked with exact vectors: this many per result.
RERANK_FACTOR = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ord);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""

#: Passages BM25 may score per question: the rarest words are kept until their
#: document frequencies add up to this (always at least one word).
LEXICAL_BUDGET = 4000

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in "
    "into is it its of on or s she he that the their them they this to was were what when where "
    "which who whom whose why will with would you".split()
)


class IndexMismatchError(StoreError):
    """The index was built with another embedding model."""


@dataclass(frozen=True)
class Reconciliation:
    """What :meth:`Store.open` had to repair in the FAISS index."""

    added: int = 0
    removed: int = 0
    rebuilt: bool = False


def fts_words(text: str) -> list[str]:
    """The question's distinct words without stop words (all of them if only stop words)."""
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    content = [t for t in tokens if t not in _STOPWORDS] or tokens
    return list(dict.fromkeys(content))[:64]


def fts_query(words: list[str]) -> str:
    """An FTS5 OR-query of ``words``, each quoted (no FTS syntax from users)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in words)


class Store:
    """Documents, chunks and vectors of one index folder."""

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
        self._dense: DenseIndex | None = None
        self._saved_generation = -1
        self._last_save = 0.0
        self._timer: threading.Timer | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def db_path(self) -> Path:
        return self.directory / DB_NAME

    @property
    def faiss_path(self) -> Path:
        return self.directory / FAISS_NAME

    @property
    def generation_path(self) -> Path:
        return self.directory / GENERATION_NAME

    def open(self) -> Reconciliation:
        """Open or create the index; refuse foreign folders and other models; repair FAISS."""
        if self.directory.exists() and not self.directory.is_dir():
            raise StoreError(f"{self.directory} is not a folder")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create index folder {self.directory}: {exc.strerror}"
            ) from None
        if not self.db_path.exists() and any(self.directory.iterdir()):
            foreign = [p.name for p in self.directory.iterdir() if not p.name.startswith(".")]
            if foreign:
                raise StoreError(
                    f"{self.directory} holds other files ({', '.join(sorted(foreign)[:3])}) "
                    "and no rag index: choose an empty or new folder for RAG_INDEX_DIR"
                )
        try:
            db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.db_path} is not a usable rag index ({exc})") from None
        self._db = db
        self._check_meta()
        return self._load_faiss()

    def close(self) -> None:
        """Save the FAISS index if it is behind, then close SQLite."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._db is not None:
                self.flush()
                self._db.close()
                self._db = None

    def _check_meta(self) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if self.dimension is None:
            if not meta:
                raise StoreError(f"no rag index in {self.directory}: run `rag index` first")
            self.dimension = int(meta["dimension"])
        if not meta:
            with self._transaction():
                self.db.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [
                        ("schema_version", SCHEMA_VERSION),
                        ("embedding_model", self.model_id),
                        ("dimension", str(self.dimension)),
                        ("documents", "0"),
                        ("chunks", "0"),
                    ],
                )
            return
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"{self.db_path} has schema version {meta.get('schema_version')!r}, "
                f"this version reads {SCHEMA_VERSION!r}: rebuild it with `rag index --rebuild`"
            )
        if meta.get("embedding_model") != self.model_id or meta.get("dimension") != str(
            self.dimension
        ):
            raise IndexMismatchError(
                f"the index in {self.directory} was built with {meta.get('embedding_model')} "
                f"(dimension {meta.get('dimension')}), not {self.model_id} "
                f"(dimension {self.dimension}): set RAG_EMBEDDING_MODEL back or rebuild the "
                "index with `rag index --rebuild`"
            )
        if "documents" not in meta or "chunks" not in meta:
            self._count_rows()

    def generation(self) -> int:
        """Bumped by every committed write; the FAISS file records the one it reflects."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _saved_file_generation(self) -> int:
        try:
            return int(self.generation_path.read_text().strip())
        except (OSError, ValueError):
            return -1

    def _load_faiss(self) -> Reconciliation:
        generation = self.generation()
        dense = None
        if self.faiss_path.exists():
            dense = DenseIndex.read(self.faiss_path, self.dimension)
        rebuilt = dense is None
        if dense is not None and self._saved_file_generation() == generation:
            self._dense = dense  # the file reflects every committed write: nothing to compare
            self._saved_generation = generation
            self._last_save = time.monotonic()
            return Reconciliation()
        if dense is None:
            count = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            if count:
                self._rebuild_dense()
                self._save()
                return Reconciliation(added=count, rebuilt=True)
            dense = DenseIndex.flat(self.dimension)
        self._dense = dense
        db_ids = np.fromiter(
            (row[0] for row in self.db.execute("SELECT id FROM chunks")), dtype=np.int64
        )
        faiss_ids = dense.ids()
        extra = np.setdiff1d(faiss_ids, db_ids)
        missing = np.setdiff1d(db_ids, faiss_ids).tolist()
        dense.remove(extra)
        for lo in range(0, len(missing), 50_000):
            part = missing[lo : lo + 50_000]
            dense.add(np.array(part, dtype=np.int64), self._vectors(part))
        if dense.needs_rebuild(self.ivf_threshold):
            self._rebuild_dense()
        self._save()
        return Reconciliation(added=len(missing), removed=len(extra), rebuilt=rebuilt)

    def _rebuild_dense(self) -> None:
        """Build the right kind of index for the corpus from the vectors in SQLite,
        streaming them in batches so that a million vectors never sit in memory twice."""
        ids = np.fromiter(
            (row[0] for row in self.db.execute("SELECT id FROM chunks ORDER BY id")),
            dtype=np.int64,
        )
        sample = None
        if len(ids) >= self.ivf_threshold:
            rows = np.random.default_rng(0).choice(
                len(ids), size=training_size(len(ids)), replace=False
            )
            sample = self._vectors(ids[np.sort(rows)].tolist())
        dense = DenseIndex.create(
            len(ids), self.dimension, sample, ivf_threshold=self.ivf_threshold
        )
        batch_ids: list[int] = []
        batch: list[bytes] = []
        for cid, blob in self.db.execute("SELECT id, vector FROM chunks ORDER BY id"):
            batch_ids.append(cid)
            batch.append(blob)
            if len(batch) == 50_000:
                dense.add(np.array(batch_ids), self._decode(batch))
                batch_ids, batch = [], []
        dense.add(np.array(batch_ids, dtype=np.int64), self._decode(batch))
        self._dense = dense

    def _decode(self, blobs: list[bytes]) -> np.ndarray:
        if not blobs:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)

    # ------------------------------------------------------------------ FAISS persistence

    def _save(self) -> None:
        """Replace the FAISS file, then record which generation it reflects (in this order:
        a crash between the two leaves an old generation, which only costs a comparison)."""
        generation = self.generation()
        self._dense.save(self.faiss_path)
        tmp = self.generation_path.with_suffix(".tmp")
        tmp.write_text(str(generation))
        os.replace(tmp, self.generation_path)
        self._saved_generation = generation
        self._last_save = time.monotonic()

    def flush(self) -> None:
        """Save the FAISS index now if it is behind SQLite."""
        with self._lock:
            if (
                self._db is not None
                and self._dense is not None
                and self._saved_generation != self.generation()
            ):
                self._save()

    def _after_write(self) -> None:
        """Rebuild the dense index if the corpus outgrew it; save it now or schedule it."""
        if self._dense.needs_rebuild(self.ivf_threshold):
            self._rebuild_dense()
        wait = self._last_save + self.flush_seconds - time.monotonic()
        if wait <= 0:
            self._save()
        elif self._timer is None:
            self._timer = threading.Timer(wait, self._timed_flush)
            self._timer.daemon = True
            self._timer.start()

    def _timed_flush(self) -> None:
        with self._lock:
            self._timer = None
            self.flush()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, exc, tb) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _transaction(self) -> _Tx:
        return Store._Tx(self.db)

    # ------------------------------------------------------------------ writes

    def add(
        self, document: Document, chunks: list[Chunk], vectors: np.ndarray
    ) -> tuple[Document, bool]:
        """Store a document with its chunks and vectors; (stored document, created?).

        The same content already stored (under any id) is not stored twice: the
        existing document is returned. A document with the same id but new content
        replaces the old one in the same transaction.
        """
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(
        self, items: list[tuple[Document, list[Chunk], np.ndarray]]
    ) -> list[tuple[Document, bool]]:
        """:meth:`add` for many documents in one transaction (bulk indexing)."""
        for _, chunks, vectors in items:
            if len(chunks) != len(vectors):
                raise ValueError("one vector per chunk")
        results: list[tuple[Document, bool]] = []
        with self._lock:
            created_at = datetime.now(UTC).isoformat(timespec="seconds")
            old_ids: list[int] = []
            new_ids: list[int] = []
            new_vectors: list[np.ndarray] = []
            doc_delta = chunk_delta = 0
            with self._transaction() as db:
                seen: dict[str, Document] = {}
                for document, chunks, vectors in items:
                    existing = seen.get(document.content_hash) or self.find_by_hash(
                        document.content_hash
                    )
                    if existing is not None:
                        results.append((existing, False))
                        continue
                    blobs = np.ascontiguousarray(vectors, dtype=np.float32)
                    old_ids += [
                        r[0]
                        for r in db.execute(
                            "SELECT id FROM chunks WHERE doc_id = ?", (document.doc_id,)
                        )
                    ]
                    chunk_delta -= db.execute(
                        "DELETE FROM chunks WHERE doc_id = ?", (document.doc_id,)
                    ).rowcount
                    doc_delta -= db.execute(
                        "DELETE FROM documents WHERE doc_id = ?", (document.doc_id,)
                    ).rowcount
                    doc_delta += 1
                    chunk_delta += len(chunks)
                    stored = dataclasses.replace(document, created_at=created_at)
                    db.execute(
                        f"INSERT INTO documents({self._DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                        dataclasses.astuple(stored),
                    )
                    for chunk, vector in zip(chunks, blobs, strict=True):
                        cur = db.execute(
                            'INSERT INTO chunks(doc_id, ord, start, "end", text, vector)'
                            " VALUES (?, ?, ?, ?, ?, ?)",
                            (
                                document.doc_id,
                                chunk.index,
                                chunk.start,
                                chunk.end,
                                chunk.text,
                                vector.tobytes(),
                            ),
                        )
                        new_ids.append(cur.lastrowid)
                    new_vectors.append(blobs)
                    seen[document.content_hash] = stored
                    results.append((stored, True))
                if new_ids or old_ids:
                    self._bump_generation(db, doc_delta, chunk_delta)
            if new_ids or old_ids:
                self._dense.remove(np.array(old_ids, dtype=np.int64))
                self._dense.add(np.array(new_ids, dtype=np.int64), np.concatenate(new_vectors))
                self._after_write()
        return results

    @staticmethod
    def _bump_generation(db: sqlite3.Connection, documents: int = 0, chunks: int = 0) -> None:
        """Count the write, and keep the document and chunk counts (``count(*)`` reads the
        whole table: 1.8 s at a million documents, too slow for every /health)."""
        for key, delta in (("generation", 1), ("documents", documents), ("chunks", chunks)):
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
                " DO UPDATE SET value = CAST(value AS INTEGER) + ?",
                (key, str(delta), delta),
            )

    def delete(self, doc_id: str) -> bool:
        with self._lock:
            with self._transaction() as db:
                ids = [
                    r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))
                ]
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                deleted = db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
                if deleted:
                    self._bump_generation(db, -deleted, -len(ids))
            if ids:
                self._dense.remove(np.array(ids, dtype=np.int64))
            if deleted:
                self._after_write()
            return bool(deleted)

    def _vectors(self, ids: list[int]) -> np.ndarray:
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        pos = {cid: i for i, cid in enumerate(ids)}
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            for cid, blob in self.db.execute(
                f"SELECT id, vector FROM chunks WHERE id IN ({marks})", part
            ):
                out[pos[cid]] = np.frombuffer(blob, dtype=np.float32)
        return out

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _document(row) -> Document:
        return Document(*row)

    _DOC_COLUMNS = "doc_id, title, text, source, content_hash, created_at"

    def find_by_hash(self, digest: str) -> Document | None:
        with self._lock:
            row = self.db.execute(
                f"SELECT {self._DOC_COLUMNS} FROM documents WHERE content_hash = ?", (digest,)
            ).fetchone()
        return self._document(row) if row else None

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            row = self.db.execute(
                f"SELECT {self._DOC_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return self._document(row) if row else None

    def documents(self) -> list[dict]:
        """Every document without its text, with its size and number of chunks."""
        with self._lock:
            rows = self.db.execute(
                "SELECT d.doc_id, d.title, d.source, d.created_at, length(d.text),"
                " (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id)"
                " FROM documents d ORDER BY d.created_at, d.doc_id"
            ).fetchall()
        keys = ("doc_id", "title", "source", "created_at", "characters", "chunks")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def counts(self) -> tuple[int, int]:
        """(documents, chunks), kept in the meta table by every write."""
        with self._lock:
            meta = dict(
                self.db.execute(
                    "SELECT key, value FROM meta WHERE key IN ('documents', 'chunks')"
                ).fetchall()
            )
        return int(meta.get("documents", 0)), int(meta.get("chunks", 0))

    def _count_rows(self) -> None:
        """Record the counts in an index written before they were kept (once)."""
        with self._transaction() as db:
            for key in ("documents", "chunks"):
                (n,) = db.execute(f"SELECT count(*) FROM {key}").fetchone()
                db.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
                    " DO UPDATE SET value = excluded.value",
                    (key, str(n)),
                )

    def vector_count(self) -> int:
        with self._lock:
            return self._dense.ntotal

    def dense_info(self) -> dict:
        """What kind of dense index serves the corpus (flat or IVF, with its parameters)."""
        with self._lock:
            return self._dense.describe()

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        """Chunks by id, each with its document's title."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self.db.execute(
                f'SELECT c.id, c.doc_id, c.ord, c.start, c."end", c.text, d.title'
                f" FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({marks})",
                ids,
            ).fetchall()
        return {
            row[0]: (Chunk(row[1], row[2], row[3], row[4], row[5], id=row[0]), row[6])
            for row in rows
        }

    def search_dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-``k`` chunks by cosine similarity. Approximate (IVF) hits are re-ranked with
        the exact vectors from SQLite: quantised scores may misorder close neighbours."""
        with self._lock:
            if not self._dense.approximate:
                return self._dense.search(vector, k)
            hits = self._dense.search(vector, k * RERANK_FACTOR)
            ids = [i for i, _ in hits]
            exact = self._vectors(ids) @ np.asarray(vector, dtype=np.float32).reshape(-1)
        order = np.argsort(-exact, kind="stable")[:k]
        return [(ids[i], float(exact[i])) for i in order]

    def search_lexical(self, text: str, k: int) -> list[tuple[int, float]]:
        """BM25 through FTS5; scores are positive, higher is better.

        FTS5 scores every passage that holds any query word, so in a large corpus a
        common word ("year") would cost a scan of half of it (200 ms at a million
        passages). The question's words are ranked by document frequency and the
        rarest are kept until their frequencies add up to ``lexical_budget``; a word
        in more passages than that is never scored. The dropped words are the ones
        whose BM25 weight (IDF) is smallest, and the dense retriever sees them all;
        a question made only of such words is ranked by dense search alone. In
        corpora of a few thousand passages every word is kept.
        """
        with self._lock:
            query = self._lexical_query(text)
            if not query:
                return []
            rows = self.db.execute(
                "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
                " ORDER BY s LIMIT ?",
                (query, k),
            ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _lexical_query(self, text: str) -> str:
        words = fts_words(text)
        cap = self.lexical_budget + 1
        # document frequency of each word, counted only up to the budget: FTS5 stops
        # reading a word's posting list there, so a common word costs no more than a rare one
        ranked = []
        for i, word in enumerate(words):
            (df,) = self.db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)",
                (fts_query([word]), cap),
            ).fetchone()
            if 0 < df <= self.lexical_budget:
                ranked.append((df, i))
        chosen, total = [], 0
        for df, i in sorted(ranked):
            if total + df > self.lexical_budget:
                break
            chosen.append(i)
            total += df
        return fts_query([words[i] for i in sorted(chosen)])


def read_documents(directory: Path) -> list[Document]:
    """Every document of an index folder, whatever model built it (for rebuilds)."""
    path = Path(directory) / DB_NAME
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT doc_id, title, text, source, content_hash, created_at FROM documents"
                " ORDER BY created_at, doc_id"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable rag index ({exc})") from None
    return [Document(*row) for row in rows]
