"""Persistent storage: SQLite for documents, chunks and vectors; FAISS for dense search.

SQLite is the source of truth: it holds every chunk's vector too, so the FAISS
file is a derived index that can always be repaired from it. A write commits
the SQLite transaction first, then updates FAISS and replaces its file
atomically (temporary file, fsync, rename). A crash between the two leaves
FAISS behind or ahead of SQLite; :meth:`Store.open` compares the two id sets
and repairs FAISS, so the two never disagree once the store is open.
Chunk ids come from an AUTOINCREMENT key and are never reused.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from rag.types import Chunk, Document

SCHEMA_VERSION = "1"
DB_NAME = "rag.sqlite3"
FAISS_NAME = "vectors.faiss"

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

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in "
    "into is it its of on or s she he that the their them they this to was were what when where "
    "which who whom whose why will with would you".split()
)


class StoreError(RuntimeError):
    """The index folder cannot be used (corrupt, foreign, or unwritable)."""


class IndexMismatchError(StoreError):
    """The index was built with another embedding model."""


@dataclass(frozen=True)
class Reconciliation:
    """What :meth:`Store.open` had to repair in the FAISS index."""

    added: int = 0
    removed: int = 0
    rebuilt: bool = False


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the question's words, each quoted (no FTS syntax from users)."""
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    content = [t for t in tokens if t not in _STOPWORDS] or tokens
    unique = list(dict.fromkeys(content))[:64]
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)


def _atomic_write_index(index: faiss.Index, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Store:
    """Documents, chunks and vectors of one index folder."""

    def __init__(self, directory: Path, *, model_id: str, dimension: int | None) -> None:
        """``dimension=None`` opens an existing index with the dimension it records,
        so that reading it (listing documents) needs no embedding model loaded."""
        self.directory = Path(directory)
        self.model_id = model_id
        self.dimension = dimension
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._index: faiss.IndexIDMap2 | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def db_path(self) -> Path:
        return self.directory / DB_NAME

    @property
    def faiss_path(self) -> Path:
        return self.directory / FAISS_NAME

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
        with self._lock:
            if self._db is not None:
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

    def _load_faiss(self) -> Reconciliation:
        rebuilt = False
        index = None
        if self.faiss_path.exists():
            try:
                index = faiss.read_index(str(self.faiss_path))
            except RuntimeError:
                index = None
            if index is not None and (
                index.d != self.dimension or not isinstance(index, faiss.IndexIDMap2)
            ):
                index = None
        if index is None:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
            rebuilt = True
        self._index = index
        db_ids = {row[0] for row in self.db.execute("SELECT id FROM chunks")}
        faiss_ids = set(faiss.vector_to_array(index.id_map).tolist()) if index.ntotal else set()
        extra = np.array(sorted(faiss_ids - db_ids), dtype=np.int64)
        missing = sorted(db_ids - faiss_ids)
        if len(extra):
            index.remove_ids(extra)
        if missing:
            self._add_vectors(missing, self._vectors(missing))
        report = Reconciliation(added=len(missing), removed=len(extra), rebuilt=rebuilt)
        if (
            missing
            or len(extra)
            or (rebuilt and self.faiss_path.exists())
            or not (self.faiss_path.exists())
        ):
            _atomic_write_index(index, self.faiss_path)
        return report

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
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        with self._lock:
            existing = self.find_by_hash(document.content_hash)
            if existing is not None:
                return existing, False
            created_at = datetime.now(UTC).isoformat(timespec="seconds")
            blobs = np.ascontiguousarray(vectors, dtype=np.float32)
            with self._transaction() as db:
                old_ids = [
                    r[0]
                    for r in db.execute(
                        "SELECT id FROM chunks WHERE doc_id = ?", (document.doc_id,)
                    )
                ]
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (document.doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id = ?", (document.doc_id,))
                db.execute(
                    "INSERT INTO documents(doc_id, title, text, source, content_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        document.doc_id,
                        document.title,
                        document.text,
                        document.source,
                        document.content_hash,
                        created_at,
                    ),
                )
                ids = []
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
                    ids.append(cur.lastrowid)
            if old_ids:
                self._index.remove_ids(np.array(old_ids, dtype=np.int64))
            self._add_vectors(ids, blobs)
            _atomic_write_index(self._index, self.faiss_path)
            stored = Document(
                document.doc_id,
                document.title,
                document.text,
                document.source,
                document.content_hash,
                created_at,
            )
            return stored, True

    def delete(self, doc_id: str) -> bool:
        with self._lock:
            with self._transaction() as db:
                ids = [
                    r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))
                ]
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                deleted = db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
            if ids:
                self._index.remove_ids(np.array(ids, dtype=np.int64))
                _atomic_write_index(self._index, self.faiss_path)
            return bool(deleted)

    def _add_vectors(self, ids: list[int], vectors: np.ndarray) -> None:
        if ids:
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.array(ids, dtype=np.int64)
            )

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
        with self._lock:
            docs = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
            chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return docs, chunks

    def vector_count(self) -> int:
        with self._lock:
            return int(self._index.ntotal)

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
        with self._lock:
            if self._index.ntotal == 0:
                return []
            scores, ids = self._index.search(
                np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1),
                min(k, self._index.ntotal),
            )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def search_lexical(self, text: str, k: int) -> list[tuple[int, float]]:
        """BM25 through FTS5; scores are positive, higher is better."""
        query = fts_query(text)
        if not query:
            return []
        with self._lock:
            rows = self.db.execute(
                "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
                " ORDER BY s LIMIT ?",
                (query, k),
            ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]


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
