"""Exactness of ``python -m benchmarks filters``: each store's filtered top-k against an
exhaustive search over the same selection, computed apart from the store's own path.

* **Dense**: the inner product of the question with every selected passage's vector (the
  corpus' own vectors, not the store's), ties by passage number.
* **BM25, SQLite**: each collection's FTS5 table searched with the store's query (its
  rarest words within the budget, :meth:`LexicalSearch.planned`) over **every** match, with
  no restriction and no top-k cut; the selected matches kept here, and the best of them
  weighed by their coverage of the question's words (:mod:`rag.core.coverage`) as the
  store weighs its own.
* **BM25, Milvus**: its own BM25 over the selection with no top-k cut (every selected
  passage, at most Milvus' 16,384), the best of each partition weighed as the store weighs
  them: Milvus' scores cannot be recomputed outside it; hits are checked to be selected
  and counted.
* **Fused**: :func:`rag.retrieval.hybrid.score_blend` of the two lists of 30, as
  :class:`~rag.retrieval.hybrid.HybridRetriever` fuses them, from the store's lists and
  from the exhaustive ones.

Hits are compared as passage numbers (the stores number chunks their own way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.filters_corpus import PASSAGES_PER_DOC
from rag.core.selection import Selection
from rag.retrieval.hybrid import score_blend

#: Hits each search returns, as HybridRetriever asks for them (``RAG_CANDIDATES``).
CANDIDATES = 30
TOP = 10
DENSE_WEIGHT = 0.35
#: Milvus returns at most this many hits per search.
MILVUS_LIMIT = 16_384

Hits = list[tuple[int, float]]


def passage_of(doc_id: str, index: int) -> int:
    """The corpus passage a stored chunk is (document ``[collection:]d000042``, index)."""
    return int(doc_id.rpartition(":")[2][1:]) * PASSAGES_PER_DOC + index


def as_passages(store, hits: Hits) -> Hits:
    """A store's hits as (passage number, score)."""
    found = store.chunks([i for i, _ in hits])
    return [(passage_of(found[i][0].doc_id, found[i][0].index), s) for i, s in hits]


def top(scores: np.ndarray, passages: np.ndarray, k: int) -> Hits:
    """The ``k`` best (passage, score), ties by passage number."""
    order = np.lexsort((passages, -scores))[:k]
    return [(int(passages[i]), float(scores[i])) for i in order]


def exact_dense(vectors: np.ndarray, query: np.ndarray, selected: np.ndarray) -> Hits:
    """The true top :data:`CANDIDATES` of the selected passages (ascending numbers)."""
    if not len(selected):
        return []
    chosen = vectors if len(selected) == len(vectors) else vectors[selected]
    return top(chosen @ query, selected, CANDIDATES)


@dataclass
class TableMatches:
    """Every match of the store's query in one FTS5 table: chunk ids, passage numbers,
    BM25 scores; the planned words with their frequencies, which words each match holds,
    and the table's passage count (for the coverage weighing)."""

    ids: np.ndarray
    passages: np.ndarray
    scores: np.ndarray
    planned: dict[str, int]
    holds: dict[int, set[str]]
    size: int


class SQLiteLexicalTruth:
    """Exhaustive BM25 over an SQLite store's FTS5 tables (its query planning, none of its
    restriction or cut), weighed by coverage (:mod:`rag.core.coverage`) as the store
    weighs its best ``CANDIDATES`` hits of each table, with the words each match holds
    found by one unrestricted FTS5 search per word and the passages counted in FTS5's
    ``docsize`` table."""

    def __init__(self, store) -> None:
        from rag.stores.sqlite.fts import LexicalSearch

        self.db = store.db
        self.lexical = LexicalSearch(self.db, store.lexical_budget)
        rows = self.db.execute("SELECT id, doc_id, ord FROM chunks").fetchall()
        self.passage = {cid: passage_of(doc_id, ord_) for cid, doc_id, ord_ in rows}
        self._matches: dict[str, list[TableMatches]] = {}

    def matches(self, text: str) -> list[TableMatches]:
        """Every passage the store's query matches, table by table."""
        if text not in self._matches:
            self._matches[text] = self._every_match(text)
        return self._matches[text]

    def _every_match(self, text: str) -> list[TableMatches]:
        from rag.stores.sqlite.fts import fts_query

        found = []
        for table in self.lexical.tables(None):
            planned = self.lexical.planned(text, table)
            if not planned:
                continue
            sql = f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ?"
            rows = self.db.execute(sql, (fts_query(list(planned)),)).fetchall()
            holds: dict[int, set[str]] = {}
            for word in planned:
                for (rowid,) in self.db.execute(
                    f"SELECT rowid FROM {table} WHERE {table} MATCH ?", (fts_query([word]),)
                ):
                    holds.setdefault(rowid, set()).add(word)
            # the rows FTS5 indexed (a count of the table would count its content table,
            # every collection's chunks)
            (size,) = self.db.execute(f"SELECT count(*) FROM {table}_docsize").fetchone()
            ids = np.array([r for r, _ in rows], dtype=np.int64)
            passages = np.array([self.passage[r] for r, _ in rows], dtype=np.int64)
            scores = np.array([-s for _, s in rows], dtype=np.float64)
            found.append(TableMatches(ids, passages, scores, planned, holds, size))
        return found

    def top(self, matches: list[TableMatches], selected: np.ndarray) -> tuple[Hits, int]:
        """The selected passages' top :data:`CANDIDATES`, and how many matched at all."""
        from rag.core.coverage import RESCORED_HITS, weigh_by_coverage

        hits: Hits = []
        matching = 0
        for table in matches:
            keep = np.isin(table.passages, selected)
            matching += int(keep.sum())
            ids, scores = table.ids[keep], table.scores[keep]
            # BM25's best, ties by chunk id as the store's SQL orders them
            order = np.lexsort((ids, -scores))[: max(CANDIDATES, RESCORED_HITS)]
            best = [(int(ids[i]), float(scores[i])) for i in order]
            weighed = weigh_by_coverage(best, table.holds, table.planned, table.size)
            hits += [(self.passage[i], s) for i, s in weighed]
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:CANDIDATES], matching


def milvus_lexical_truth(store, text: str, selection: Selection | None, selected: int):
    """Milvus' BM25 over the selection without a top-k cut, the best :data:`CANDIDATES`
    of each partition weighed by coverage as the store weighs them (its frequencies):
    (top hits, how many matched). ``selection`` None: everything is selected."""
    from rag.core.coverage import RESCORED_HITS
    from rag.core.text import content_words
    from rag.stores.milvus.connection import is_in
    from rag.stores.milvus.scope import resolve

    limit = CANDIDATES if selection is None else min(max(selected, CANDIDATES), MILVUS_LIMIT)
    words, bm25 = content_words(text), store._search.bm25
    hits: Hits = []
    matching = 0
    for name, ids in resolve(store._reads, selection).parts.items():
        where = "" if ids is None else is_in("doc_id", ids)
        found = bm25.matches(" ".join(words), limit, name, where, ["text"])
        matching += len(found)
        found.sort(key=lambda h: (-abs(float(h["distance"])), int(h["id"])))
        hits += bm25.weigh(found[: max(CANDIDATES, RESCORED_HITS)], words, name)
    hits.sort(key=lambda hit: (-hit[1], hit[0]))
    return as_passages(store, hits[:CANDIDATES]), matching


@dataclass
class Verdict:
    """One question of one case: recall@10 of each search, whether each returned
    min(10, possible) hits, and whether every hit is selected."""

    dense: float
    lexical: float
    fused: float
    counts_ok: bool
    selected_ok: bool


def recall(got: Hits, truth: Hits, k: int = TOP) -> float:
    """Share of the true top-k found in the store's top-k (1.0 when both are empty)."""
    want = {p for p, _ in truth[:k]}
    return len(want & {p for p, _ in got[:k]}) / len(want) if want else float(not got[:k])


def judge(
    dense: Hits,
    lexical: Hits,
    truth_dense: Hits,
    truth_lexical: Hits,
    lexical_matching: int,
    selected: np.ndarray,
) -> Verdict:
    """``dense`` and ``lexical``: the store's lists of 30 as passage numbers."""
    fused = [(i, s) for i, s, _ in score_blend(dense, lexical, DENSE_WEIGHT)[:TOP]]
    truth_fused = [
        (i, s) for i, s, _ in score_blend(truth_dense, truth_lexical, DENSE_WEIGHT)[:TOP]
    ]
    counts_ok = len(dense[:TOP]) == min(TOP, len(selected)) and len(lexical[:TOP]) == min(
        TOP, lexical_matching
    )
    hit = np.array([p for p, _ in dense + lexical], dtype=np.int64)
    return Verdict(
        dense=recall(dense, truth_dense),
        lexical=recall(lexical, truth_lexical),
        fused=recall(fused, truth_fused),
        counts_ok=counts_ok,
        selected_ok=bool(np.isin(hit, selected).all()),
    )


def summary(verdicts: list[Verdict]) -> dict:
    n = len(verdicts)
    return {
        "questions_checked": n,
        "recall_at_10": {
            search: round(sum(getattr(v, search) for v in verdicts) / n, 4) if n else None
            for search in ("dense", "lexical", "fused")
        },
        "hits_min_10_matching": sum(v.counts_ok for v in verdicts),
        "hits_all_selected": sum(v.selected_ok for v in verdicts),
    }
