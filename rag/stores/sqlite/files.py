"""The files of a SQLite index as a whole: who has them open, and swapping in a rebuilt one.

An index folder holds more than the store: API keys (``keys.sqlite3``), jobs, the sync
manifest. A rebuild (``rag reindex``) therefore replaces the store's own files in place,
never the folder, so that what lives beside them stays.

Every open store holds a shared ``flock`` on ``rag.sqlite3.lock`` (a file of its own:
closing a second descriptor of the database would drop SQLite's POSIX locks); a rebuild
holds it exclusively, from before it reads the documents to after the swap. So a rebuild
never starts under a server, a sync or an index run whose writes it would lose, and none
of those opens the index while it runs; the kernel releases a dead process's lock.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from rag.core.durable import fsync_dir
from rag.core.errors import StoreError
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.types import Feedback
from rag.stores.sqlite.db import DB_NAME
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


def hold(directory: Path, exclusive: bool = False) -> int:
    """A descriptor holding the index's lock (shared by every open store, exclusive for a
    rebuild), or a one-line refusal; release it with ``os.close``."""
    try:
        fd = os.open(Path(directory) / LOCK_NAME, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open the index {directory}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        if exclusive:
            raise StoreError(
                f"the index {directory} is open in another process (a server, a sync or an "
                "index run): stop it before rebuilding, or its writes would be lost"
            ) from None
        raise StoreError(
            f"the index {directory} is being rebuilt (`rag reindex`); try again when that "
            "has finished"
        ) from None
    return fd


def read_feedback(directory: Path) -> list[Feedback]:
    """The feedback kept in an index folder's database, oldest first (for a rebuild, which
    carries it over: it points into documents that keep their ids and texts)."""
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
