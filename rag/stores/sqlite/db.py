"""The SQLite file of an index folder: schema, connection, transactions and row writes.

SQLite is the source of truth of the default store: documents, chunks (with exact
offsets) and every chunk's vector. A ``meta`` table records the schema version, the
embedding model and dimension that built the index, the document and chunk counts,
and a generation number bumped by every committed write (the FAISS file records the
generation it reflects, see :mod:`rag.stores.sqlite.vector_file`).
"""

from __future__ import annotations

import errno
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.core import locations
from rag.core.errors import StorageFullError, StoreDamagedError, StoreError
from rag.core.types import Chunk, Document
from rag.stores.base import check_recorded
from rag.stores.sqlite import fts, migrate
from rag.stores.sqlite.fts import SCHEMA as LEXICAL_SCHEMA
from rag.stores.sqlite.migrate import SCHEMA_VERSION
from rag.stores.sqlite.rows import DOC_COLUMNS, document_row
from rag.stores.sqlite.selection import SCHEMA as FIELDS_SCHEMA
from rag.stores.sqlite.selection import insert_fields
from rag.stores.sqlite.vector_file import FAISS_NAME

DB_NAME = "rag.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL,
    regions TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ord);
-- the passages whose vectors a changed or moved file reuses (vector_rows.stored_vectors)
CREATE INDEX IF NOT EXISTS chunks_text ON chunks(substr(text, 1, 64));
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    question TEXT NOT NULL,
    resolved_question TEXT NOT NULL,
    answer TEXT,
    verdict TEXT NOT NULL,
    doc_id TEXT,
    start INTEGER,
    "end" INTEGER,
    text TEXT,
    created_at TEXT NOT NULL,
    collection TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX IF NOT EXISTS feedback_key ON feedback(key, created_at);
CREATE INDEX IF NOT EXISTS feedback_doc ON feedback(doc_id);
"""


@contextmanager
def translated() -> Iterator[None]:
    """SQLite's errors as the store's: a full disk, a damaged file."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "full" in str(exc):
            raise StorageFullError(f"the disk is full; nothing was stored ({exc})") from None
        raise
    except sqlite3.DatabaseError as exc:
        raise StoreDamagedError(f"the index database is damaged: {exc}") from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StorageFullError(f"the disk is full: {exc.strerror}") from None
        raise


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the schema in place; durable commits (WAL, synchronous=FULL)."""
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(migrate.DOCUMENTS + _SCHEMA + LEXICAL_SCHEMA + FIELDS_SCHEMA)
        migrate.upgrade(db)  # an index of an earlier version, brought up to this one
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable rag index ({exc})") from None
    return db


def make_folder(directory: Path) -> None:
    """Create the index folder, or refuse in one line (a file there, no permission)."""
    if directory.exists() and not directory.is_dir():
        raise StoreError(f"{directory} is not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create index folder {directory}: {exc.strerror}") from None


#: What else an index folder holds: Milvus Lite's index, the lock, keys, jobs, manifest.
OURS = ("milvus.", DB_NAME + ".lock", "keys.sqlite3", "jobs", "sync.sqlite3")


def check_folder(directory: Path) -> None:
    """Create the index folder; refuse a file, or a folder holding something else."""
    make_folder(directory)
    db = directory / DB_NAME
    if (not db.exists() or db.stat().st_size == 0) and (directory / FAISS_NAME).exists():
        state = "is empty" if db.exists() else "is missing"
        raise StoreDamagedError(
            f"{db} {state} but {directory / FAISS_NAME} is there: the documents are lost "
            "from this index; restore the database, or remove the folder to start anew"
        )
    if not db.exists():
        foreign = [
            p.name
            for p in directory.iterdir()
            if not p.name.startswith(".") and not p.name.startswith(OURS)
        ]
        if foreign:
            raise StoreError(
                f"{directory} holds other files ({', '.join(sorted(foreign)[:3])}) "
                "and no rag index: choose an empty or new folder for RAG_INDEX_DIR"
            )


class Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite ends the transaction itself on a full disk
            self.db.execute("ROLLBACK")


def check_meta(
    db: sqlite3.Connection, directory: Path, model_id: str, dimension: int | None
) -> int:
    """Record a new index's model and dimension, or check an existing one's; its dimension.

    ``dimension=None`` accepts whatever the index records (reading needs no model).
    """
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if dimension is None:
        if not meta:
            raise StoreError(f"no rag index in {directory}: run `rag index` first")
        dimension = int(meta["dimension"])
    if not meta:
        with Transaction(db):
            db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("schema_version", SCHEMA_VERSION),
                    ("embedding_model", model_id),
                    ("dimension", str(dimension)),
                    ("documents", "0"),
                    ("chunks", "0"),
                    ("index_id", uuid.uuid4().hex),
                ],
            )
        return dimension
    check_recorded(
        meta,
        where=f"the index in {directory}",
        schema=SCHEMA_VERSION,
        model_id=model_id,
        dimension=dimension,
        rebuild="run `rag reindex`",
    )
    if "documents" not in meta or "chunks" not in meta:
        _count_rows(db)
    if "index_id" not in meta:  # an index from before ids were recorded
        with Transaction(db):
            db.execute("INSERT INTO meta(key, value) VALUES ('index_id', ?)", (uuid.uuid4().hex,))
    return dimension


def _count_rows(db: sqlite3.Connection) -> None:
    """Record the counts in an index written before they were kept (once)."""
    with Transaction(db):
        for key in ("documents", "chunks"):
            (n,) = db.execute(f"SELECT count(*) FROM {key}").fetchone()
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
                " DO UPDATE SET value = excluded.value",
                (key, str(n)),
            )


def remove_rows(db: sqlite3.Connection, doc_id: str) -> tuple[int, list[int]]:
    """Delete a document's rows, its filterable values and its BM25 entries: (documents
    deleted, ids of its chunks)."""
    found = db.execute("SELECT collection FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    if found is None:
        return 0, []
    rows = db.execute("SELECT id, text FROM chunks WHERE doc_id = ?", (doc_id,)).fetchall()
    table = fts.table_of(db, found[0])
    if table is not None:
        fts.unindex_chunks(db, table, rows)
    db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
    deleted = db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
    return deleted, [r[0] for r in rows]


def remove_many(db: sqlite3.Connection, doc_ids: list[str]) -> tuple[int, list[int]]:
    """:func:`remove_rows` of each of ``doc_ids``: (documents deleted, chunk ids)."""
    deleted, ids = 0, []
    for doc_id in doc_ids:
        found, removed = remove_rows(db, doc_id)
        deleted += found
        ids.extend(removed)
    return deleted, ids


def insert_rows(
    db: sqlite3.Connection, document: Document, chunks: list[Chunk], vectors: np.ndarray
) -> list[int]:
    """Insert a document, its chunks (into its collection's BM25 table too) and its
    filterable values; the new chunk ids."""
    marks = ", ".join("?" * len(DOC_COLUMNS.split(",")))
    db.execute(f"INSERT INTO documents({DOC_COLUMNS}) VALUES ({marks})", document_row(document))
    ids = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        cur = db.execute(
            'INSERT INTO chunks(doc_id, ord, start, "end", text, vector, regions)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                document.doc_id,
                chunk.index,
                chunk.start,
                chunk.end,
                chunk.text,
                vector.tobytes(),
                locations.dumps(chunk.regions),
            ),
        )
        ids.append(cur.lastrowid)
    table = fts.table_of(db, document.collection, create=True)
    fts.index_chunks(db, table, [(i, c.text) for i, c in zip(ids, chunks, strict=True)])
    insert_fields(db, document)
    return ids


def bump_generation(db: sqlite3.Connection, documents: int = 0, chunks: int = 0) -> None:
    """Count the write, and keep the document and chunk counts (``count(*)`` reads the
    whole table: 1.8 s at a million documents, too slow for every /health)."""
    for key, delta in (("generation", 1), ("documents", documents), ("chunks", chunks)):
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
            " DO UPDATE SET value = CAST(value AS INTEGER) + ?",
            (key, str(delta), delta),
        )
