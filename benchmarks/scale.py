"""``python -m benchmarks scale``: how retrieval cost grows with the corpus, to 1M passages.

The corpus is synthetic but shaped like a real one (:mod:`benchmarks.scale_corpus`):
perturbed copies of source paragraphs, a pool of them embedded by the real model and
the rest given noisy copies of the pool's vectors (embedding a million passages would
take this machine about three hours). The report says which vectors were used.
Questions are ten consecutive words of a random passage, embedded by the real model (a
lexical match that is not a copy of the passage).
``lexical_hits_share`` is the share of questions with at least one word rare enough
for BM25 to score (see :meth:`rag.stores.base.Store.search_lexical`): with the seeds' small
vocabulary few are at a million passages; SQuAD paragraphs (``--squad``) give more.

The store is built through :meth:`rag.stores.base.DocumentStore.add_many` in batches, as
indexing builds it (SQLite + FAISS switches to IVF at its threshold, retraining as it
grows; Milvus builds the index its settings name). Each size is built on every store
asked for (``--store sqlite --store milvus``) from the same passages, vectors and
questions; then a real ``rag serve`` process on that index answers the questions, and
its ``Server-Timing`` header gives the retrieval time (embed, dense, lexical, fetch).
Recall@10 compares the store's dense search with exact search over all vectors
(:mod:`benchmarks.scale_measure`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine, markdown_table
from benchmarks.scale_corpus import TextSynth, passages, questions, source_paragraphs
from benchmarks.scale_measure import build_index, disk_mb, search_quality, served


def run_size(
    n: int,
    synth: TextSynth,
    embedder,
    pool_texts: list[str],
    pool_vectors: np.ndarray,
    workdir: Path,
    queries: int,
    seed: int = 0,
    stores: tuple[str, ...] = ("sqlite",),
) -> list[dict]:
    """One corpus size: the same passages, vectors and questions on each of ``stores``."""
    import faiss

    rng = np.random.default_rng(seed + n)
    t0 = time.perf_counter()
    texts, vectors, kind = passages(n, synth, pool_texts, pool_vectors, rng)
    generate_s = time.perf_counter() - t0
    asked = questions(texts, queries, rng)
    q_vectors = embedder.embed(asked)
    _, exact = faiss.knn(q_vectors, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    results = []
    for backend in stores:
        index_dir = workdir / f"index-{n}-{backend}"
        t0 = time.perf_counter()
        build_index(index_dir, backend, embedder.identity, texts, vectors)
        build_s = time.perf_counter() - t0
        quality = search_quality(index_dir, backend, embedder, asked, q_vectors, exact)
        serving = served(index_dir, backend, asked, workdir)
        results.append(
            {
                "passages": n,
                "store": backend,
                "vectors": kind,
                "generate_s": round(generate_s, 1),
                "build_s": round(build_s, 1),
                "dense_index": quality.pop("dense_index"),
                "disk_mb": disk_mb(index_dir),
                **serving,
                **quality,
                "queries": len(asked),
            }
        )
        shutil.rmtree(index_dir, ignore_errors=True)
    return results


def run(
    sizes: list[int],
    squad: Path | None = None,
    pool: int = 5000,
    queries: int = 200,
    workdir: Path | None = None,
    seed: int = 0,
    stores: tuple[str, ...] = ("sqlite",),
    largest: dict[str, int] | None = None,
    embedder=None,
) -> dict:
    """``largest``: the largest size built on a store (Milvus Lite, an engine for small
    collections, does not fit a million passages in this machine's memory); ``embedder``:
    one already loaded, of the settings' embedding model (else it is loaded here)."""
    largest = largest if largest is not None else {}
    from rag.core.settings import get_settings
    from rag.retrieval.embedding import Embedder

    embedder = embedder or Embedder(get_settings().embedding_model)
    synth = TextSynth(source_paragraphs(squad), seed=seed)
    pool = min(pool, max(sizes))
    t0 = time.perf_counter()
    pool_texts = synth.pool(pool)
    pool_vectors = embedder.embed(pool_texts)
    embed_s = time.perf_counter() - t0
    results = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-scale-", dir=workdir) as tmp:
        for n in sorted(sizes):
            fits = tuple(s for s in stores if n <= largest.get(s, n))
            results += run_size(
                n, synth, embedder, pool_texts, pool_vectors, Path(tmp), queries, seed, fits
            )
    return {
        "benchmark": "scale",
        "source_paragraphs": len(synth.sources),
        "pool_embedded": pool,
        "pool_embed_s": round(embed_s, 1),
        "sizes": results,
        "largest": largest,
        "machine": machine(),
    }


def table(report: dict) -> str:
    rows = []
    for r in report["sizes"]:
        d = r["dense_index"]
        kind = d["kind"] + (f" (nlist {d['nlist']}, nprobe {d['nprobe']})" if "nlist" in d else "")
        rows.append(
            {
                "n": f"{r['passages']:,}",
                "store": r.get("store", "sqlite"),
                "index": kind,
                "build": r["build_s"],
                "disk": r["disk_mb"],
                "rss": r["server_peak_rss_mb"],
                "p50": r["retrieval_ms_p50"],
                "p95": r["retrieval_ms_p95"],
                "stages": " / ".join(str(v) for v in r["stages_ms_p50"].values()),
                "recall": r["recall_at_10"],
                "lexical": r["lexical_hits_share"],
                "start": r["server_start_s"],
            }
        )
    return markdown_table(
        rows,
        [
            ("n", "passages"),
            ("store", "store"),
            ("index", "dense index"),
            ("build", "build s"),
            ("disk", "disk MiB"),
            ("rss", "server RSS MiB"),
            ("p50", "retrieval p50 ms"),
            ("p95", "p95 ms"),
            ("stages", "embed / dense / lexical / fetch p50 ms"),
            ("recall", "recall@10"),
            ("lexical", "BM25 used"),
            ("start", "start-up s"),
        ],
    )


def plot(report: dict, path: Path) -> None:
    """Retrieval latency (p50, p95) and server memory against corpus size, one line per
    store, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    stores = dict.fromkeys(r.get("store", "sqlite") for r in report["sizes"])
    for colour, store in enumerate(stores):
        rows = [r for r in report["sizes"] if r.get("store", "sqlite") == store]
        sizes = [r["passages"] for r in rows]
        style = {"color": f"C{colour}"}
        for q, line in ((50, "o-"), (95, "s--")):
            latency = [r[f"retrieval_ms_p{q}"] for r in rows]
            left.plot(sizes, latency, line, label=f"{store} p{q}", **style)
        right.plot(sizes, [r["server_peak_rss_mb"] for r in rows], "o-", label=store, **style)
    left.axhline(20, color="grey", lw=0.8, ls=":", label="target p50")
    left.set(
        xscale="log", xlabel="passages", ylabel="hybrid retrieval, ms", title="Retrieval latency"
    )
    left.set_ylim(bottom=0)
    left.legend(fontsize=7)
    right.axhline(2048, color="grey", lw=0.8, ls=":", label="target")
    right.set(xscale="log", xlabel="passages", ylabel="MiB", title="Server peak RSS")
    right.set_ylim(bottom=0)
    right.legend(fontsize=7)
    fig.suptitle(report["machine"], fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
