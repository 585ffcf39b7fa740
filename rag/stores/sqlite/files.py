"""The files of a SQLite index as a whole: its lock file, its documents and feedback read
raw (whatever model built it), and swapping in a rebuilt store.

An index folder holds more than the store: API keys (``keys.sqlite3``), jobs, the sync
manifest. A rebuild (``rag reindex``) therefore replaces the store's own files in place,
never the folder, so that what lives beside them stays. Every open store holds the lock
``rag.sqlite3.lock`` shared, a rebuild exclusively (:mod:`rag.stores.lock`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from rag.core import locations
from rag.core.durable import fsync_dir
from rag.core.errors import StoreError
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.types import Document, Feedback
from rag.stores.sqlite import migrate
from rag.stores.sqlite.db import DB_NAME
from rag.stores.sqlite.rows import DOC_COLUMNS, document_from_row
from rag.stores.sqlite.vector_file import FAISS_NAME, GENERATION_NAME

LOCK_NAME = DB_NAME + ".lock"

_FEEDBACK_COLUMNS = (
    "question",
    "resolved_question",
    "answer",
    "verdict",
    "doc_id",
    "start",
    "end",
    "text",
    "key",
    "created_at",
    "id",
    "collection",
)


def read_documents(directory: Path, batch: int = 256) -> Iterator[list[Document]]:
    """Every document of an index folder, whatever model built it, oldest first, ``batch``
    at a time (a rebuild of millions of passages holds one batch, not the corpus), each
    with its regions gathered from its passages (a rebuild cuts the passages again)."""
    path = Path(directory) / DB_NAME
    if not path.is_file():
        return
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            with_regions = "regions" in migrate.columns(db, "chunks")
            rows = db.execute(f"SELECT {DOC_COLUMNS} FROM documents ORDER BY created_at, doc_id")
            while part := rows.fetchmany(batch):
                documents = [document_from_row(row) for row in part]
                yield _with_regions(db, documents) if with_regions else documents
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable rag index ({exc})") from None


def _with_regions(db: sqlite3.Connection, documents: list[Document]) -> list[Document]:
    ids = [d.doc_id for d in documents]
    regions: dict[str, list] = {}
    for doc_id, stored in db.execute(
        f"SELECT doc_id, regions FROM chunks WHERE doc_id IN ({','.join('?' * len(ids))})"
        " AND regions != '' ORDER BY doc_id, ord",
        ids,
    ):
        regions.setdefault(doc_id, []).append(locations.loads(stored))
    return [
        replace(d, regions=locations.merged(regions[d.doc_id])) if d.doc_id in regions else d
        for d in documents
    ]


def read_feedback(directory: Path) -> list[Feedback]:
    """The feedback kept in an index folder's database, oldest first (for a rebuild, which
    carries it over: it points into documents that keep their ids and texts)."""
    if not (Path(directory) / DB_NAME).is_file():
        return []
    db = sqlite3.connect(f"file:{Path(directory) / DB_NAME}?mode=ro", uri=True)
    try:
        present = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
        if not present:
            return []
        picked = ", ".join(
            f'"{c}"' if c in present else f"'{DEFAULT_COLLECTION}'" for c in _FEEDBACK_COLUMNS
        )
        rows = db.execute(f"SELECT {picked} FROM feedback ORDER BY created_at, id").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{directory / DB_NAME} is not a usable rag index ({exc})") from None
    finally:
        db.close()
    return [Feedback(*row) for row in rows]


def replace_store(fresh: Path, target: Path) -> None:
    """Put the store built in ``fresh`` (closed) in place of ``target``'s, leaving every
    other file of ``target`` as it was; ``fresh`` is left empty.

    Crash-safe in this order: the old FAISS file goes first (an index without one is
    rebuilt from its database on open), the old database's WAL is folded in and removed
    (a stale ``-wal`` beside the new database would be replayed into it), then the new
    database replaces the old in one rename, and its FAISS file follows."""
    for name in (GENERATION_NAME, FAISS_NAME):
        (target / name).unlink(missing_ok=True)
    _fold_wal(target / DB_NAME)
    _fold_wal(fresh / DB_NAME)
    fsync_dir(target)
    os.replace(fresh / DB_NAME, target / DB_NAME)
    fsync_dir(target)
    for name in (FAISS_NAME, GENERATION_NAME):
        if (fresh / name).exists():
            os.replace(fresh / name, target / name)
    fsync_dir(target)


def _fold_wal(path: Path) -> None:
    """Checkpoint a database's WAL into it and leave it in rollback-journal mode, so that
    the file alone is the whole database (the store turns WAL on again when it opens)."""
    if not path.exists():
        return
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
