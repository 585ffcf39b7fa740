"""Indexes written by earlier versions, brought up to this one in place, nothing lost.

* Before metadata (0.x): ``documents`` gains a ``metadata`` column.
* Before locations: ``chunks`` gains a ``regions`` column (empty: no locations; re-adding
  or rebuilding a file gives its passages theirs).
* Before collections (schema 1): every document joins the ``default`` collection. A
  document's content was unique across the index; it is now unique within its collection,
  so ``documents`` is rebuilt without the old constraint (SQLite cannot drop one), the
  documents' filterable values are indexed (:mod:`rag.stores.sqlite.selection`), the one
  FTS5 table becomes the default collection's (the triggers that fed it are dropped: the
  store now writes each collection's table itself), and feedback gets a collection.

Everything happens in one transaction: a crash leaves the old index, which the next open
migrates again.
"""

from __future__ import annotations

import sqlite3

from rag.stores.sqlite.fts import DEFAULT_TABLE, OLD_TRIGGERS
from rag.stores.sqlite.rows import DOC_COLUMNS, document_from_row
from rag.stores.sqlite.selection import insert_fields

SCHEMA_VERSION = "2"

DOCUMENTS = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    collection TEXT NOT NULL DEFAULT 'default'
);
"""
INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS documents_hash ON documents(collection, content_hash);
CREATE INDEX IF NOT EXISTS documents_collection ON documents(collection, created_at);
"""


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def upgrade(db: sqlite3.Connection) -> bool:
    """Bring an index of an earlier version up to this one; whether anything changed."""
    changed = False
    if "metadata" not in columns(db, "documents"):  # an index from before metadata
        db.execute("ALTER TABLE documents ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'")
        changed = True
    if "collection" not in columns(db, "documents"):
        _add_collections(db)
        changed = True
    if "regions" not in columns(db, "chunks"):  # an index from before locations
        db.execute("ALTER TABLE chunks ADD COLUMN regions TEXT NOT NULL DEFAULT ''")
        changed = True
    if "collection" not in columns(db, "feedback"):
        db.execute("ALTER TABLE feedback ADD COLUMN collection TEXT NOT NULL DEFAULT 'default'")
        changed = True
    db.executescript(INDEXES)
    return changed


def _add_collections(db: sqlite3.Connection) -> None:
    """Schema 1 → 2 (see the module docstring), in one transaction."""
    db.execute("PRAGMA foreign_keys=OFF")  # rebuilding documents must not cascade to chunks
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute(DOCUMENTS.replace("documents", "documents_new", 1))
        db.execute(
            "INSERT INTO documents_new(doc_id, title, text, source, content_hash, created_at,"
            " metadata) SELECT doc_id, title, text, source, content_hash, created_at, metadata"
            " FROM documents"
        )
        db.execute("DROP TABLE documents")
        db.execute("ALTER TABLE documents_new RENAME TO documents")
        for trigger in OLD_TRIGGERS:
            db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        old_fts = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (DEFAULT_TABLE,)
        ).fetchone()
        if old_fts:
            db.execute(
                "INSERT OR IGNORE INTO fts_tables(collection, name) VALUES ('default', ?)",
                (DEFAULT_TABLE,),
            )
        for row in db.execute(f"SELECT {DOC_COLUMNS} FROM documents").fetchall():
            insert_fields(db, document_from_row(row))
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version' AND value = '1'",
            (SCHEMA_VERSION,),
        )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.execute("PRAGMA foreign_keys=ON")
