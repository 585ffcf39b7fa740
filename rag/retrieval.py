"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over FTS5), fused by reciprocal rank.

Dense search finds paraphrases ("invited" ~ "extended the offer"); lexical search
finds rare names exactly ("Ri Yong-ho"), which embeddings of small models blur.
Reciprocal rank fusion needs no score calibration between the two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rag.embedding import Embedder
from rag.store import Store
from rag.types import Passage


def reciprocal_rank_fusion(
    rankings: list[list[int]], k: int = 60
) -> list[tuple[int, float, list[int | None]]]:
    """(id, score normalised to 0..1, rank in each list) by descending fused score."""
    ranks: dict[int, list[int | None]] = {}
    for r_idx, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, start=1):
            ranks.setdefault(item, [None] * len(rankings))[r_idx] = rank
    best = len(rankings) / (k + 1)
    fused = [
        (item, sum(1.0 / (k + r) for r in rs if r is not None) / best, rs)
        for item, rs in ranks.items()
    ]
    fused.sort(key=lambda x: (-x[1], x[0]))
    return fused


@dataclass
class HybridRetriever:
    store: Store
    embedder: Embedder
    candidates: int = 30
    rrf_k: int = 60

    def retrieve_timed(
        self, question: str, top_k: int, vector: np.ndarray | None = None
    ) -> tuple[list[Passage], dict]:
        """The passages, and milliseconds spent embedding, searching and fetching them
        (``vector``: the question's embedding, when it was computed with others)."""
        t0 = time.perf_counter()
        if vector is None:
            vector = self.embedder.embed_query(question)
        t1 = time.perf_counter()
        dense = self.store.search_dense(vector, self.candidates)
        t2 = time.perf_counter()
        lexical = self.store.search_lexical(question, self.candidates)
        t3 = time.perf_counter()
        fused = reciprocal_rank_fusion(
            [[i for i, _ in dense], [i for i, _ in lexical]], self.rrf_k
        )[:top_k]
        chunks = self.store.chunks(item for item, _, _ in fused)
        passages = []
        for item, score, (d_rank, l_rank) in fused:
            if item in chunks:  # a chunk deleted since the search is skipped
                chunk, title = chunks[item]
                passages.append(Passage(chunk, title, round(score, 4), d_rank, l_rank))
        t4 = time.perf_counter()
        ms = {
            "embed": t1 - t0,
            "dense": t2 - t1,
            "lexical": t3 - t2,
            "fetch": t4 - t3,
        }
        return passages, {key: round(value * 1000, 2) for key, value in ms.items()}
