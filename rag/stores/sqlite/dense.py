"""The dense index over chunk ids: exact while small, approximate (IVF) when large.

Below ``ivf_threshold`` vectors a flat inner-product index is exact and fast enough
(a scan of 100k × 384 floats takes a few milliseconds). Above it, memory and time
grow with every passage, so the store switches to an inverted-file index with
8-bit scalar quantisation (IVF-SQ8): a quarter of the memory of float32, and a
search that only scans ``nprobe`` of ``nlist`` clusters. The quantised scores
are approximate; :class:`rag.stores.base.Store` re-ranks the candidates with the exact
float32 vectors it keeps in SQLite, so recall is what the clustering allows.

Parameters by size (``n`` vectors when the index is built):
``nlist`` = the power of two nearest 4·√n (1M → 4096), ``nprobe`` = nlist / 16,
at least 16 (1M → 256). Measured on 300k passages shaped like real ones (``rag
bench scale``; nlist 2048, 3x candidates re-ranked): recall@10 0.77 / 0.87 / 0.94
/ 0.97 / 0.99 at nprobe 16 / 32 / 64 / 128 / 256, at 0.3 to 3 ms per question.
The index is rebuilt once the corpus has grown to four times the size it was
trained for, so that clusters stay the right size.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import faiss
import numpy as np

from rag.core.durable import fsync_dir

#: Vectors past which a flat index is replaced by IVF-SQ8.
IVF_THRESHOLD = 100_000
#: An IVF index is retrained once the corpus is this many times its training size.
REGROW_FACTOR = 4
#: Training sample per cluster (FAISS warns below 39; more costs time, gains little).
TRAIN_PER_LIST = 64


@dataclass(frozen=True)
class IvfParameters:
    nlist: int
    nprobe: int

    @classmethod
    def for_size(cls, n: int) -> IvfParameters:
        nlist = 2 ** max(4, round(math.log2(4 * math.sqrt(max(n, 1)))))
        return cls(nlist=nlist, nprobe=max(16, nlist // 16))


def training_size(n: int) -> int:
    """How many vectors train the IVF clusters of an index for ``n`` vectors."""
    return min(n, IvfParameters.for_size(n).nlist * TRAIN_PER_LIST)


def atomic_write(index: faiss.Index, path: os.PathLike) -> None:
    """Write ``index`` to a temporary file, fsync it and rename it over ``path``."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    faiss.write_index(index, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path) or ".")


class DenseIndex:
    """A FAISS index whose ids are chunk ids; flat or IVF-SQ8 (see the module docstring)."""

    def __init__(self, index: faiss.Index, trained_for: int = 0) -> None:
        self.index = index
        self.trained_for = trained_for
        self._positions: tuple[np.ndarray, np.ndarray] | None = None  # (sorted ids, rows)

    # ------------------------------------------------------------------ construction

    @classmethod
    def flat(cls, dimension: int) -> DenseIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @classmethod
    def create(
        cls,
        n: int,
        dimension: int,
        sample: np.ndarray | None = None,
        *,
        ivf_threshold: int = IVF_THRESHOLD,
        seed: int = 0,
    ) -> DenseIndex:
        """An empty index of the right kind for ``n`` vectors; IVF is trained on ``sample``
        (about :func:`training_size` of them, drawn at random from the corpus)."""
        if n < ivf_threshold or sample is None:
            return cls.flat(dimension)
        params = IvfParameters.for_size(n)
        ivf = faiss.index_factory(dimension, f"IVF{params.nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = seed
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.nprobe = params.nprobe
        return cls(ivf, trained_for=n)

    @classmethod
    def read(cls, path: os.PathLike, dimension: int) -> DenseIndex | None:
        """The index saved at ``path``, or None when it is missing, unreadable or foreign."""
        try:
            index = faiss.read_index(os.fspath(path))
        except RuntimeError:
            return None
        if index.d != dimension:
            return None
        if isinstance(index, faiss.IndexIDMap2):
            return cls(index)
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is None:
            return None
        # the training size is not stored by FAISS: ~ nlist² / 16 inverts for_size()
        return cls(index, trained_for=max(index.ntotal, ivf.nlist**2 // 16))

    # ------------------------------------------------------------------ properties

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def approximate(self) -> bool:
        return not isinstance(self.index, faiss.IndexIDMap2)

    def describe(self) -> dict:
        if not self.approximate:
            return {"kind": "flat", "vectors": self.ntotal}
        ivf = faiss.extract_index_ivf(self.index)
        return {
            "kind": "ivf-sq8",
            "vectors": self.ntotal,
            "nlist": int(ivf.nlist),
            "nprobe": int(ivf.nprobe),
        }

    def needs_rebuild(self, ivf_threshold: int = IVF_THRESHOLD) -> bool:
        """Flat past the threshold, or IVF trained for far fewer (or far more) vectors."""
        n = self.ntotal
        if not self.approximate:
            return n >= ivf_threshold
        return n > REGROW_FACTOR * self.trained_for or n < ivf_threshold // REGROW_FACTOR

    def ids(self) -> np.ndarray:
        """Every id in the index (for reconciliation with SQLite)."""
        if not self.approximate:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        invlists = faiss.extract_index_ivf(self.index).invlists
        parts = []
        for lst in range(invlists.nlist):
            size = invlists.list_size(lst)
            if size:
                ptr = invlists.get_ids(lst)
                parts.append(faiss.rev_swig_ptr(ptr, size).copy())
                invlists.release_ids(lst, ptr)
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    # ------------------------------------------------------------------ changes

    def gather(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored vectors of ``ids`` (all in the index), read in place from a flat
        index; None for IVF, whose vectors are quantised (the database has them)."""
        if self.approximate:
            return None
        n, d = self.ntotal, self.index.d
        if self._positions is None:
            order = faiss.vector_to_array(self.index.id_map)
            rows = np.argsort(order, kind="stable")
            self._positions = (order[rows], rows)
        sorted_ids, rows = self._positions
        flat = faiss.downcast_index(self.index.index)
        vectors = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)
        return vectors[rows[np.searchsorted(sorted_ids, ids)]]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._positions = None
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )

    def remove(self, ids: np.ndarray) -> None:
        self._positions = None
        if len(ids):
            self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.ntotal == 0:
            return []
        scores, ids = self.index.search(
            np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1), min(k, self.ntotal)
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: os.PathLike) -> None:
        atomic_write(self.index, path)
