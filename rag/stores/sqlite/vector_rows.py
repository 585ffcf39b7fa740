"""The vectors kept in the SQLite database (every chunk's row holds its vector), read the
way the FAISS file needs them: the database is the source the file is derived from and
repaired from (a :class:`rag.stores.sqlite.vector_file.VectorSource`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import numpy as np

#: Characters of a passage's text the ``chunks_text`` expression index holds: enough to
#: tell passages apart, a fraction of the text's size on disk.
TEXT_KEY_CHARS = 64
#: Texts looked up per query (SQLite's bound parameters stay well under its limit).
LOOKUP_TEXTS = 500


def stored_vectors(db: sqlite3.Connection, collection: str, texts: list[str]) -> dict:
    """The stored vector of each of ``texts`` that a passage of ``collection`` holds,
    found through the ``chunks_text`` index on the text's first characters (an indexed
    look-up, not a scan of every passage); the exact text is compared here."""
    wanted = set(texts)
    found: dict[str, np.ndarray] = {}
    keys = sorted({t[:TEXT_KEY_CHARS] for t in wanted})
    for lo in range(0, len(keys), LOOKUP_TEXTS):
        part = keys[lo : lo + LOOKUP_TEXTS]
        rows = db.execute(
            f"SELECT c.text, c.vector FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
            f" WHERE substr(c.text, 1, {TEXT_KEY_CHARS}) IN ({','.join('?' * len(part))})"
            " AND d.collection = ?",
            (*part, collection),
        )
        for text, blob in rows:
            if text in wanted and text not in found:
                found[text] = np.frombuffer(blob, dtype=np.float32).copy()
    return found


class SQLiteVectors:
    """The vectors kept in the database, as the FAISS file reads them (a ``VectorSource``)."""

    def __init__(self, db: sqlite3.Connection, dimension: int) -> None:
        self.db = db
        self.dimension = dimension

    def generation(self) -> int:
        """Bumped by every committed write; the FAISS file records the one it reflects."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def index_id(self) -> str:
        """A random id given to the index when it was created: a vector file saved by
        another index is recognised even when its generation matches."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'index_id'").fetchone()
        return row[0] if row else ""

    def chunk_ids(self) -> np.ndarray:
        return np.fromiter(
            (row[0] for row in self.db.execute("SELECT id FROM chunks ORDER BY id")),
            dtype=np.int64,
        )

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The vectors of ``ids``, in that order (zeros for an id not stored), read with
        one query (a filtered search under IVF reads every selected vector here)."""
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        rows = self.db.execute(
            "SELECT id, vector FROM chunks WHERE id IN (SELECT value FROM json_each(?))"
            " ORDER BY id",
            (json.dumps(ids),),
        ).fetchall()
        if not rows:
            return out
        found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        wanted = np.asarray(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(found, wanted), len(found) - 1)
        hit = found[at] == wanted
        out[hit] = self._decode([r[1] for r in rows])[at[hit]]
        return out

    def vector_batches(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        ids: list[int] = []
        blobs: list[bytes] = []
        for cid, blob in self.db.execute("SELECT id, vector FROM chunks ORDER BY id"):
            ids.append(cid)
            blobs.append(blob)
            if len(ids) == size:
                yield np.array(ids, dtype=np.int64), self._decode(blobs)
                ids, blobs = [], []
        if ids:
            yield np.array(ids, dtype=np.int64), self._decode(blobs)

    def _decode(self, blobs: list[bytes]) -> np.ndarray:
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
