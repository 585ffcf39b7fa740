"""``python -m benchmarks filters``: filtered retrieval on both stores, exact and timed.

One synthetic corpus (:mod:`benchmarks.filters_corpus`: 100,000 passages by default, four
per document, in four collections, random vectors, Zipf-like texts) is stored in SQLite
(flat and IVF dense index) and in Milvus Lite. For each selection (none, filters selecting
100 %, 10 %, 1 %, 0.1 % of the passages and one document, one collection):

* **exactness**: each question's dense, BM25 and fused top-10 against an exhaustive search
  over the selected passages (:mod:`benchmarks.filters_check`), recall@10, and whether
  min(10, matching) hits came back, all of them selected;
* **time**: the store's searches only (dense + BM25 of 30 candidates each, as
  :class:`~rag.retrieval.hybrid.HybridRetriever` asks, with the selection resolved
  inside them), question vectors given (no embedding). Each question's selection is new
  to the store (SQLite's cache of resolved selections emptied: ``p50``, ``p95``); on
  SQLite the question is then asked again at once (``warm``: its selection resolved and
  its words' frequencies known). FAISS runs on one thread, as the service runs it.

Then random filters (``tests/support/filters.py``) on a small corpus of their own, in
both stores: the documents each store selects against :meth:`Selection.admits`
(:mod:`benchmarks.filters_agree`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks import filters_check as check
from benchmarks.common import machine, markdown_table, percentile
from benchmarks.filters_agree import agreement
from benchmarks.filters_corpus import (
    CASES,
    Corpus,
    build,
    case,
    fill,
    open_bench_store,
    passages_of,
    unit_vectors,
)

#: SQLite's default ``RAG_IVF_THRESHOLD``: IVF from this many passages.
IVF_THRESHOLD = 100_000
WARM_UP = 3


def forget(store, words: bool = False) -> None:
    """Empty SQLite's cache of resolved selections and, with ``words``, of word frequencies
    (Milvus keeps neither): every case starts as the unfiltered one did."""
    caches = [getattr(getattr(store, "_selector", None), "_cache", None)]
    if words:
        caches.append(getattr(getattr(store, "_lexical", None), "_frequencies", None))
    for cache in caches:
        if cache is not None:
            cache.clear()


def timed(store, name: str, corpus: Corpus, questions: list, twice: bool) -> tuple:
    """One case's questions, each with its selection resolved anew (SQLite's cache
    emptied) and, ``twice``, asked again at once (resolved just before). Milliseconds of
    each as (dense, lexical), and the first asking's hits."""
    cold, warm, hits = [], [], []
    forget(store, words=True)
    for q in range(-WARM_UP, len(questions)):
        vector, text = questions[q % len(questions)]
        selection, _ = case(name, q % len(questions), corpus)
        forget(store)
        for times in (cold, warm) if twice else (cold,):
            t0 = time.perf_counter()
            dense = store.search_dense(vector, check.CANDIDATES, selection)
            t1 = time.perf_counter()
            lexical = store.search_lexical(text, check.CANDIDATES, selection)
            t2 = time.perf_counter()
            if q >= 0:
                times.append(((t1 - t0) * 1000, (t2 - t1) * 1000))
        if q >= 0:
            hits.append((dense, lexical))
    return cold, warm, hits


def truths(store, backend: str, corpus: Corpus, name: str, questions: list, lexical_truth):
    """The exhaustive (dense, BM25, BM25 matching count) of each question of a case."""
    found = []
    for q, (vector, text) in enumerate(questions):
        selection, documents = case(name, q, corpus)
        selected = passages_of(documents)
        dense = check.exact_dense(corpus.vectors, vector, selected)
        if backend == "sqlite":
            lexical, matching = lexical_truth.top(lexical_truth.matches(text), selected)
        else:
            truth_selection = None if len(selected) == corpus.passages else selection
            lexical, matching = check.milvus_lexical_truth(
                store, text, truth_selection, len(selected)
            )
        found.append((dense, lexical, matching, selected))
    return found


def measure_case(store, backend: str, corpus: Corpus, name: str, questions: list, truth_of):
    """One row of a store's table: matching passages, times, exactness."""
    cold, warm, hits = timed(store, name, corpus, questions, twice=backend == "sqlite")
    truth = truths(store, backend, corpus, name, questions, truth_of)
    verdicts = [
        check.judge(
            check.as_passages(store, dense), check.as_passages(store, lexical), *t[:2], *t[2:]
        )
        for (dense, lexical), t in zip(hits, truth, strict=True)
    ]
    selection, documents = case(name, 0, corpus)
    agrees = None
    if selection is not None:
        expected = sorted(corpus.documents[d].doc_id for d in documents)
        admitted = sorted(d.doc_id for d in corpus.documents if selection.admits(d))
        agrees = store.selected_documents(selection) == expected == admitted
    total = [d + lx for d, lx in cold]
    row = {
        "case": name,
        "matching_passages": len(passages_of(documents)),
        "p50_ms": percentile(total, 50),
        "p95_ms": percentile(total, 95),
        "dense_p50_ms": percentile([d for d, _ in cold], 50),
        "lexical_p50_ms": percentile([lx for _, lx in cold], 50),
        "selected_documents_agree": agrees,
        **check.summary(verdicts),
    }
    if backend == "sqlite":
        row["warm_p50_ms"] = percentile([d + lx for d, lx in warm], 50)
        row["warm_p95_ms"] = percentile([d + lx for d, lx in warm], 95)
    return row


def measure_store(store, backend: str, corpus: Corpus, questions: list) -> dict:
    """Every case on one store; the machine's load average before and after."""
    started, load = time.perf_counter(), os.getloadavg()[0]
    truth_of = check.SQLiteLexicalTruth(store) if backend == "sqlite" else None
    if backend == "milvus":  # Milvus Lite builds its BM25 index on the first search
        store.search_lexical(questions[0][1], 1)
    first_s = round(time.perf_counter() - started, 1)
    rows = []
    for name in CASES:
        rows.append(measure_case(store, backend, corpus, name, questions, truth_of))
        print(
            f"{backend} {store.dense_info()['kind']} {name}: {rows[-1]['p50_ms']} ms",
            file=sys.stderr,
        )
    base = rows[0]["p50_ms"]
    ratios = {r["case"]: round(r["p50_ms"] / base, 3) for r in rows if r["case"].startswith("1 %")}
    result = {
        "store": backend,
        "dense_index": store.dense_info(),
        "questions": len(questions),
        "rows": rows,
        "one_percent_p50_over_unfiltered": ratios,
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    if backend == "milvus":
        result["first_lexical_search_s"] = first_s
    return result


def questions_for(corpus: Corpus, texts, n: int, seed: int) -> list:
    """``n`` (random unit vector, text) questions; texts from random passages."""
    rng = np.random.default_rng(seed)
    vectors = unit_vectors(n, rng)
    picks = rng.integers(len(corpus.documents), size=n)
    return [(vectors[i], texts.question(corpus.chunks[d][0].text)) for i, d in enumerate(picks)]


def _sqlite(
    folder: Path, corpus: Corpus, asked: list, counts: tuple, dense: tuple, builds: dict
) -> list:
    """SQLite built once with a flat index; for IVF, its FAISS file removed and rebuilt
    from the database on open (the repair path), as the default threshold makes it for
    ``RAG_IVF_THRESHOLD`` (100,000) passages or more."""
    from rag.stores.sqlite.vector_file import FAISS_NAME, GENERATION_NAME

    results = []
    store = open_bench_store(folder, "sqlite", 10 * corpus.passages)
    builds["sqlite"] = fill(store, corpus)
    if "flat" in dense:
        results.append(measure_store(store, "sqlite", corpus, asked[: counts[0]]))
    store.close()
    if "ivf" in dense:
        (folder / FAISS_NAME).unlink()
        (folder / GENERATION_NAME).unlink()
        t0 = time.perf_counter()
        store = open_bench_store(folder, "sqlite", min(corpus.passages, IVF_THRESHOLD))
        builds["sqlite_ivf_rebuild"] = round(time.perf_counter() - t0, 1)
        results.append(measure_store(store, "sqlite", corpus, asked[: counts[1]]))
        store.close()
    return results


def run(
    passages: int = 100_000,
    counts: tuple[int, int, int] = (100, 30, 10),
    stores: tuple[str, ...] = ("sqlite", "milvus"),
    dense: tuple[str, ...] = ("flat", "ivf"),
    random_filters: int = 1000,
    agreement_documents: int = 1000,
    workdir: Path | None = None,
    seed: int = 0,
) -> dict:
    """The whole benchmark. ``counts``: questions per selection on SQLite's flat index, on
    its IVF index and on Milvus; ``dense``: SQLite's dense index kinds (IVF: the default
    from ``RAG_IVF_THRESHOLD`` passages, 100,000; flat below)."""
    import faiss

    faiss.omp_set_num_threads(1)  # as the service runs it (rag/service/pipeline.py)
    started = time.perf_counter()
    load_before = os.getloadavg()
    corpus, texts = build(passages, seed)
    asked = questions_for(corpus, texts, max(counts), seed + 7)
    results, builds = [], {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-filters-", dir=workdir) as tmp:
        for backend in stores:
            folder = Path(tmp) / backend
            if backend == "sqlite":
                results += _sqlite(folder, corpus, asked, counts[:2], dense, builds)
            else:
                store = open_bench_store(folder, backend)
                builds[backend] = fill(store, corpus)
                store.close()  # searched once built and reopened, as a server finds it
                store = open_bench_store(folder, backend)
                results.append(measure_store(store, backend, corpus, asked[: counts[2]]))
                store.close()
            shutil.rmtree(folder, ignore_errors=True)
        agree = agreement(stores, random_filters, agreement_documents, Path(tmp), seed)
    return {
        "benchmark": "filters",
        "machine": machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "corpus": {
            "passages": corpus.passages,
            "documents": len(corpus.documents),
            "build_s": builds,
        },
        "stores": results,
        "agreement": agree,
        "total_s": round(time.perf_counter() - started, 1),
    }


_COLUMNS = [
    ("case", "selection"),
    ("matching_passages", "matching passages"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("warm_p50_ms", "warm p50 ms"),
    ("dense_p50_ms", "dense p50"),
    ("lexical_p50_ms", "BM25 p50"),
    ("recall", "recall@10 dense / BM25 / fused"),
    ("hits", "min(10, matching) hits"),
]


def table(report: dict) -> str:
    parts = []
    for result in report["stores"]:
        rows = [
            {
                **row,
                "recall": " / ".join(str(v) for v in row["recall_at_10"].values()),
                "hits": f"{row['hits_min_10_matching']}/{row['questions_checked']}",
            }
            for row in result["rows"]
        ]
        columns = [c for c in _COLUMNS if c[0] != "warm_p50_ms" or result["store"] == "sqlite"]
        head = f"{result['store']}, {result['dense_index']}, {result['questions']} questions"
        parts.append(head + "\n\n" + markdown_table(rows, columns))
    parts.append(f"agreement: {report['agreement']}")
    return "\n\n".join(parts)
