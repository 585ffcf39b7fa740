"""Dense and lexical search of a Milvus index, within a selection resolved first
(:mod:`.scope`), never filtered after an approximate top-k.

* Lexical (BM25, each hit weighed by its coverage of the question's rare words:
  :mod:`.lexical`): one search per partition (a collection), each with its own
  statistics (Milvus Lite keeps them per segment and a segment holds one partition; a
  Milvus server with partition-level BM25 statistics keeps them per partition), merged
  by score. Within a partition the filter ``doc_id in [...]`` is applied by Milvus as
  it scores: sparse inverted search is exhaustive, so every matching passage can come
  back.
* Dense: without a filter, one search over the selected partitions (as approximate as
  the index). With one, HNSW searched through a filter can miss passages (its graph is
  walked only through admitted nodes and ``ef`` bounds the walk), so a selection of at
  most ``EXACT_PASSAGES`` passages is ranked exactly here from its stored vectors; a
  larger one is searched by Milvus with a wider ``ef``, and ranked exactly here too if
  fewer than min(k, selected) hits come back. A FLAT index is exact under a filter.
"""

from __future__ import annotations

import numpy as np

from rag.core.coverage import RESCORED_HITS
from rag.core.selection import Selection
from rag.core.text import content_words
from rag.stores.milvus.connection import MilvusConnection, is_in, slices
from rag.stores.milvus.lexical import PartitionBM25
from rag.stores.milvus.reads import MilvusReads
from rag.stores.milvus.schema import STRONG
from rag.stores.milvus.scope import Scope, resolve

#: Up to this many selected passages, a filtered dense search is ranked here, exactly.
EXACT_PASSAGES = 20_000
#: HNSW's ``ef`` for a filtered search of a larger selection (Milvus' ceiling is 32,768).
FILTERED_EF = 2_048

Hits = list[tuple[int, float]]


class MilvusSearch:
    """Both searches of a :class:`rag.stores.base.DocumentStore`; the caller holds the
    store's lock."""

    def __init__(self, reads: MilvusReads) -> None:
        self.reads = reads
        self.connection: MilvusConnection = reads.connection
        self.bm25 = PartitionBM25(self.connection)

    def dense(self, vector: np.ndarray, k: int, selection: Selection | None = None) -> Hits:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        scope = resolve(self.reads, selection)
        if not scope.parts or k <= 0:
            return []
        if not scope.filtered:
            return self._search_dense(query, k, scope, "")
        wanted = min(k, scope.passages or 0)
        exact = self.connection.layout.index_type == "FLAT"
        if not exact and (scope.passages or 0) <= EXACT_PASSAGES:
            return self._exact(query, k, scope)
        hits = self._search_dense(query, k, scope, is_in("doc_id", scope.doc_ids()), wide=True)
        return hits if exact or len(hits) >= wanted else self._exact(query, k, scope)

    def lexical(self, text: str, k: int, selection: Selection | None = None) -> Hits:
        """BM25 over the question's content words (stop words dropped, as the SQLite
        store's FTS5 search does), each partition with its own statistics, the hits
        weighed by their coverage of the question's rare words (:mod:`.lexical`)."""
        words = content_words(text)
        if not words or k <= 0:
            return []
        scope = resolve(self.reads, selection)
        found: Hits = []
        for name, ids in scope.parts.items():
            where = "" if ids is None else is_in("doc_id", ids)
            found += self.bm25.search(words, max(k, RESCORED_HITS), name, where)
        found.sort(key=lambda hit: (-hit[1], hit[0]))
        return found[:k]

    def _search_dense(
        self, query: np.ndarray, k: int, scope: Scope, where: str, wide: bool = False
    ) -> Hits:
        params = self.connection.layout.search_params(k)
        if wide and "ef" in params:
            params["ef"] = max(params["ef"], min(FILTERED_EF, max(k, scope.passages or 0)))
        hits = self.connection.client.search(
            self.connection.collection("passages"),
            data=[query.tolist()],
            anns_field="dense",
            limit=k,
            filter=where,
            partition_names=None if scope.whole else sorted(scope.parts),
            search_params={"metric_type": "IP", "params": params},
            **STRONG,
        )
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def _exact(self, query: np.ndarray, k: int, scope: Scope) -> Hits:
        """The ``k`` selected passages nearest ``query``, by the inner product of their
        stored vectors (ties: the smaller id first)."""
        ids: list[int] = []
        rows: list[list[float]] = []
        for names in slices(scope.doc_ids()):
            for row in self.connection.scan(
                "passages", is_in("doc_id", names), ["id", "dense"], sorted(scope.parts)
            ):
                ids.append(int(row["id"]))
                rows.append(row["dense"])
        if not ids:
            return []
        scores = np.asarray(rows, dtype=np.float32) @ query
        order = np.lexsort((np.asarray(ids), -scores))[:k]
        return [(ids[i], float(scores[i])) for i in order]
