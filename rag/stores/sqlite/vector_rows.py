"""The vectors kept in the SQLite database (every chunk's row holds its vector), read the
way the FAISS file needs them: the database is the source the file is derived from and
repaired from (a :class:`rag.stores.sqlite.vector_file.VectorSource`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import numpy as np


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
