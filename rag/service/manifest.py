"""The manifest of synced folders: what `rag sync` last stored for each file.

It lives in ``sync.sqlite3`` in the index folder, one row per file of each (collection,
folder root): size, mtime, the hash of the file's bytes, the stored document's content
hash and id, the parser and embedding model versions, and the ids of its passages (read
back from the store after the write: a file is recorded only once its vectors are
stored). The store stays the source of truth; the manifest is an accelerator (an
unchanged size and mtime skip reading a file) and the sync's intent log:

* before a document is written, a ``pending`` row names its file and id. A crash after
  the write but before the file's row leaves that pending row, so the next sync knows the
  document is its own and rewrites it (re-embedding nothing: the vectors are stored).
* a vanished file's row is removed only after its document is deleted.

Losing the file (a rebuild swaps the index folder) costs one re-read of every file: the
next sync finds each stored document's content equal and only records it.

Two syncs of one index never run at once: :meth:`Manifest.lock` takes an exclusive
``flock`` on the index folder, which the kernel releases when the process dies
(SIGKILL included), so a crashed sync never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.core.errors import StoreError

MANIFEST_NAME = "sync.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    collection TEXT NOT NULL,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    file_hash TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    parser TEXT NOT NULL,
    model TEXT NOT NULL,
    passages TEXT NOT NULL,
    PRIMARY KEY (collection, root, path)
);
CREATE TABLE IF NOT EXISTS pending (
    collection TEXT NOT NULL,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (collection, root, path, doc_id)
);
"""


@dataclass(frozen=True)
class Entry:
    """What the last sync stored for one file (``path`` relative to the root, with ``/``)."""

    path: str
    size: int
    mtime_ns: int
    file_hash: str
    content_hash: str
    doc_id: str
    parser: str
    model: str
    passages: tuple[int, ...]


class Manifest:
    """The manifest file of an index folder; one connection, used by one thread at a time
    (a sync holds :meth:`lock` while it uses it)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / MANIFEST_NAME
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"{self.path} is not a usable sync manifest ({exc})") from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the index's sync lock, or refuse at once with one line."""
        fd = os.open(self.index_dir, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(
                    f"another sync of the index {self.index_dir} is running; try again "
                    "when it has finished"
                ) from None
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ reads

    def roots(self, collection: str) -> list[str]:
        """The folder roots synced into ``collection``."""
        rows = self.db.execute(
            "SELECT root FROM files WHERE collection = ? UNION "
            "SELECT root FROM pending WHERE collection = ? ORDER BY root",
            (collection, collection),
        ).fetchall()
        return [root for (root,) in rows]

    def entries(self, collection: str, root: str) -> dict[str, Entry]:
        rows = self.db.execute(
            "SELECT path, size, mtime_ns, file_hash, content_hash, doc_id, parser, model,"
            " passages FROM files WHERE collection = ? AND root = ?",
            (collection, root),
        ).fetchall()
        return {row[0]: Entry(*row[:8], passages=tuple(json.loads(row[8]))) for row in rows}

    def pending(self, collection: str, root: str) -> list[tuple[str, str]]:
        """(path, document id) of every write begun and not recorded (a crash)."""
        return self.db.execute(
            "SELECT path, doc_id FROM pending WHERE collection = ? AND root = ?"
            " ORDER BY path, doc_id",
            (collection, root),
        ).fetchall()

    # ------------------------------------------------------------------ writes

    def begin(self, collection: str, root: str, intents: Iterable[tuple[str, str]]) -> None:
        """Record (path, document id) of writes about to be made, durably, before them."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO pending VALUES (?, ?, ?, ?)",
                [(collection, root, path, doc_id) for path, doc_id in intents],
            )

    def record(
        self,
        collection: str,
        root: str,
        entries: Iterable[Entry],
        gone: Iterable[str] = (),
        done: Iterable[tuple[str, str]] = (),
        begun: Iterable[tuple[str, str]] = (),
    ) -> None:
        """In one transaction: ``entries`` written, the rows of ``gone`` paths removed, the
        ``done`` intents cleared and the ``begun`` ones recorded (a row that no longer
        names a document still to be deleted: it stays the sync's until it is)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO pending VALUES (?, ?, ?, ?)",
                [(collection, root, path, doc_id) for path, doc_id in begun],
            )
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (collection, root, e.path, e.size, e.mtime_ns, e.file_hash,
                     e.content_hash, e.doc_id, e.parser, e.model, json.dumps(e.passages))
                    for e in entries
                ],
            )  # fmt: skip
            db.executemany(
                "DELETE FROM files WHERE collection = ? AND root = ? AND path = ?",
                [(collection, root, path) for path in gone],
            )
            db.executemany(
                "DELETE FROM pending WHERE collection = ? AND root = ? AND path = ? AND doc_id = ?",
                [(collection, root, path, doc_id) for path, doc_id in done],
            )

    def move_root(self, collection: str, old: str, new: str) -> None:
        """The rows of a folder that moved (its old root gone) become the new root's."""
        with self.transaction() as db:
            for table in ("files", "pending"):
                db.execute(
                    f"UPDATE {table} SET root = ? WHERE collection = ? AND root = ?",
                    (new, collection, old),
                )

    def rebuilt(self, versions: tuple[str, str], passages: dict[str, tuple[int, ...]]) -> None:
        """After a rebuild re-cut and re-embedded the stored documents (``passages``: each
        one's new passage ids), the rows naming them record the versions that made them,
        so that the next sync finds those files current and rewrites nothing."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE files SET parser = ?, model = ?, passages = ? WHERE doc_id = ?",
                [(*versions, json.dumps(ids), doc_id) for doc_id, ids in passages.items()],
            )
