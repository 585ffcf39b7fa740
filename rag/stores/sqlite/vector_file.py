"""The FAISS file of an index folder: a derived copy of the vectors kept in SQLite.

Rewriting a million vectors after every write would make writes cost seconds, so
the file is replaced atomically (temporary file, fsync, rename) at most every
``flush_seconds`` and on close, together with the generation of the database it
reflects. On open, a file of the current generation is used as is; otherwise (a
crash, a write by another process) its ids are compared with the database's and
it is repaired from there, so the two never disagree once the store is open.

Another process may write to the same database while this one has it open (``rag sync``
or ``rag index`` beside a running server). The index in memory records the generation it
reflects; a search, a count or a write that finds the database ahead of it first catches
up the same way (ids compared, the difference applied), and a save stamps the file with
the generation its vectors reflect, never a later one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.core.errors import StoreDamagedError
from rag.core.types import Reconciliation
from rag.stores.sqlite.dense import IVF_THRESHOLD, DenseIndex, training_size

log = logging.getLogger(__name__)

FAISS_NAME = "vectors.faiss"
GENERATION_NAME = "vectors.faiss.generation"
#: Approximate (IVF) hits are re-ranked with exact vectors: this many per result.
RERANK_FACTOR = 3
#: Vectors read from the database at a time when (re)building.
BATCH = 50_000


class VectorSource(Protocol):
    """Where the vectors truly live (the database); the FAISS file is derived from it."""

    def generation(self) -> int: ...

    def chunk_ids(self) -> np.ndarray: ...

    def vectors(self, ids: list[int]) -> np.ndarray: ...

    def vector_batches(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def index_id(self) -> str: ...


class VectorFile:
    """The dense index of an index folder, its file on disk and the timer that saves it.

    ``lock`` is the store's: the timer's save reads the database's generation.
    """

    def __init__(
        self,
        directory: Path,
        dimension: int,
        source: VectorSource,
        lock: threading.RLock,
        *,
        flush_seconds: float = 0.0,
        ivf_threshold: int = IVF_THRESHOLD,
    ) -> None:
        self.path = Path(directory) / FAISS_NAME
        self.generation_path = Path(directory) / GENERATION_NAME
        self.dimension = dimension
        self.source = source
        self.flush_seconds = flush_seconds
        self.ivf_threshold = ivf_threshold
        self._lock = lock
        self._dense = DenseIndex.flat(dimension)
        #: The database generation the index in memory reflects.
        self._reflects = -1
        self._saved_generation = -1
        self._last_save = 0.0
        self._timer: threading.Timer | None = None

    # ------------------------------------------------------------------ open and repair

    def open(self) -> Reconciliation:
        """Load the file, or rebuild it; repair whatever the database disagrees with."""
        generation = self.source.generation()
        file_id, file_generation = self._stamp()
        foreign = file_id is not None and file_id != self.source.index_id()
        if not foreign and file_generation > generation:
            raise StoreDamagedError(
                f"the database is older than its vector file (generation {generation} < "
                f"{file_generation}): it lost committed writes (a deleted -wal file?) or was "
                "replaced by an older copy. Restore it, or rebuild with `rag index --rebuild`"
            )
        dense = None
        if self.path.exists() and not foreign:
            dense = DenseIndex.read(self.path, self.dimension)
        if dense is not None and file_generation == generation:
            self._dense = dense  # the file reflects every committed write: nothing to compare
            self._reflects = self._saved_generation = generation
            self._last_save = time.monotonic()
            return Reconciliation()
        db_ids = self.source.chunk_ids()
        if dense is None and len(db_ids):
            self.rebuild()
            self._reflects = generation
            self.save()
            return Reconciliation(added=len(db_ids), rebuilt=True)
        self._dense = dense if dense is not None else DenseIndex.flat(self.dimension)
        added, removed = self._apply_difference(db_ids)
        self._reflects = generation
        self.save()
        return Reconciliation(added=added, removed=removed)

    def _apply_difference(self, db_ids: np.ndarray) -> tuple[int, int]:
        """Make the index hold exactly ``db_ids`` (the database's): (added, removed)."""
        extra = np.setdiff1d(self._dense.ids(), db_ids)
        missing = np.setdiff1d(db_ids, self._dense.ids()).tolist()
        self._dense.remove(extra)
        for lo in range(0, len(missing), BATCH):
            part = missing[lo : lo + BATCH]
            self._dense.add(np.array(part, dtype=np.int64), self.source.vectors(part))
        if self._dense.needs_rebuild(self.ivf_threshold):
            self.rebuild()
        return len(missing), len(extra)

    def catch_up(self) -> None:
        """Apply what another process wrote since the index last matched the database
        (the caller holds the lock). One read of the generation when nothing did."""
        generation = self.source.generation()
        if generation == self._reflects:
            return
        added, removed = self._apply_difference(self.source.chunk_ids())
        log.info("vectors caught up with another writer: %d added, %d removed", added, removed)
        self._reflects = generation  # read before the ids: a later write is caught next time

    def rebuild(self) -> None:
        """Build the right kind of index for the corpus from the database's vectors,
        streamed in batches so that a million vectors never sit in memory twice."""
        ids = self.source.chunk_ids()
        sample = None
        if len(ids) >= self.ivf_threshold:
            rows = np.random.default_rng(0).choice(
                len(ids), size=training_size(len(ids)), replace=False
            )
            sample = self.source.vectors(ids[np.sort(rows)].tolist())
        dense = DenseIndex.create(
            len(ids), self.dimension, sample, ivf_threshold=self.ivf_threshold
        )
        for batch_ids, vectors in self.source.vector_batches(BATCH):
            dense.add(batch_ids, vectors)
        self._dense = dense

    def _stamp(self) -> tuple[str | None, int]:
        """(index id, generation) the file was saved with; (None, -1) when unknown. Files
        saved before index ids were recorded hold the generation alone."""
        try:
            parts = self.generation_path.read_text().split()
            return (parts[0] if len(parts) == 2 else None), int(parts[-1])
        except (OSError, ValueError, IndexError):
            return None, -1

    # ------------------------------------------------------------------ changes and saves

    def update(self, removed: list[int], added: list[int], vectors: list[np.ndarray]) -> None:
        """Apply a committed write (one generation); rebuild if the corpus outgrew the
        index; save or schedule. Had another process written before it, catch up too."""
        self._dense.remove(np.array(removed, dtype=np.int64))
        if added:
            self._dense.add(np.array(added, dtype=np.int64), np.concatenate(vectors))
        if self.source.generation() == self._reflects + 1:
            self._reflects += 1
        else:
            self.catch_up()
        if self._dense.needs_rebuild(self.ivf_threshold):
            self.rebuild()
        wait = self._last_save + self.flush_seconds - time.monotonic()
        if wait <= 0:
            self._save_quietly()
        elif self._timer is None:
            self._timer = threading.Timer(wait, self._timed_flush)
            self._timer.daemon = True
            self._timer.start()

    def save(self) -> None:
        """Replace the file, then record which generation it reflects (in this order: a
        crash between the two leaves an old generation, which only costs a comparison)."""
        generation = self._reflects
        self._dense.save(self.path)
        tmp = self.generation_path.with_suffix(".tmp")
        tmp.write_text(f"{self.source.index_id()} {generation}")
        os.replace(tmp, self.generation_path)
        self._saved_generation = generation
        self._last_save = time.monotonic()

    def flush(self) -> None:
        """Save now if the file is behind the index in memory (the caller holds the
        lock); what another process wrote and this one has not read is that process's to
        save (or the next open's to repair)."""
        if self._saved_generation != self._reflects:
            self._save_quietly()

    def _save_quietly(self) -> None:
        """Save, but let a failure (a full disk) cost only a log line: the write it follows
        is committed, and a lagging file is repaired from the database on the next open."""
        try:
            self.save()
        except OSError as exc:
            log.error(
                "could not save %s (%s); it will be repaired on the next start", self.path, exc
            )

    def _timed_flush(self) -> None:
        with self._lock:
            if self._timer is None:  # closed meanwhile
                return
            self._timer = None
            self.flush()

    def close(self) -> None:
        """Cancel a scheduled save and save now if behind (the caller holds the lock)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()

    # ------------------------------------------------------------------ reads

    @property
    def ntotal(self) -> int:
        self.catch_up()
        return self._dense.ntotal

    def describe(self) -> dict:
        return self._dense.describe()

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-``k`` ids by inner product. Approximate (IVF) hits are re-ranked with the
        exact vectors from the database: quantised scores may misorder close neighbours.
        Another process's writes are caught up first (``rag sync`` beside a server)."""
        self.catch_up()
        if not self._dense.approximate:
            return self._dense.search(vector, k)
        hits = self._dense.search(vector, k * RERANK_FACTOR)
        ids = [i for i, _ in hits]
        exact = self.source.vectors(ids) @ np.asarray(vector, dtype=np.float32).reshape(-1)
        order = np.argsort(-exact, kind="stable")[:k]
        return [(ids[i], float(exact[i])) for i in order]

    def search_among(self, vector: np.ndarray, k: int, ids: np.ndarray) -> list[tuple[int, float]]:
        """Top-``k`` of ``ids`` by inner product, exactly: every selected vector is scored
        (read in place from a flat index, from the database under IVF), so the cost
        follows the selection and nothing selected is missed."""
        self.catch_up()
        if not len(ids):
            return []
        vectors = self._dense.gather(ids)
        if vectors is None:
            vectors = self.source.vectors(ids.tolist())
        scores = vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        top = top[np.lexsort((ids[top], -scores[top]))]
        return [(int(ids[i]), float(scores[i])) for i in top]
