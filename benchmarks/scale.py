"""``python -m benchmarks scale``: how retrieval cost grows with the corpus, to 1M passages.

The corpus is synthetic but shaped like a real one. Source paragraphs (the seeds,
plus SQuAD paragraphs when a file is given) are perturbed into a pool of texts
(a third of their words replaced by words of the corpus vocabulary, drawn by
frequency); every pool text is embedded by the real model. Passage ``i`` is a
fresh perturbation of pool text ``i mod pool``; its vector is that pool text's real
vector when ``i`` < pool, otherwise the real vector plus seeded Gaussian noise
(cosine about 0.9 to it). Embedding a million passages would take this machine
about three hours; the noisy copies keep the neighbourhood structure of real
embeddings, which uniform random vectors do not have. The report says which
vectors were used. Questions are ten consecutive words of a random passage,
embedded by the real model (a lexical match that is not a copy of the passage).
``lexical_hits_share`` is the share of questions with at least one word rare enough
for BM25 to score (see :meth:`rag.stores.base.Store.search_lexical`): with the seeds' small
vocabulary few are at a million passages; SQuAD paragraphs (``--squad``) give more.

The store is built through :meth:`rag.stores.base.DocumentStore.add_many` in batches, as
indexing builds it (SQLite + FAISS switches to IVF at its threshold, retraining as it
grows; Milvus builds the index its settings name). Each size is built on every store
asked for (``--store sqlite --store milvus``) from the same passages, vectors and
questions; then a real ``rag serve`` process on that index answers the questions, and
its ``Server-Timing`` header gives the retrieval time (embed, dense, lexical, fetch).
Recall@10 compares the store's dense search with exact search over all vectors.
"""

from __future__ import annotations

import collections
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import (
    machine,
    markdown_table,
    peak_rss_mb,
    percentile,
    seeds_dir,
    squad_corpus,
)
from benchmarks.query import _server_timing
from benchmarks.server import Server

RETRIEVAL_STAGES = ("embed", "dense", "lexical", "fetch")
_WORD = re.compile(r"\S+")


def _source_paragraphs(squad: Path | None) -> list[str]:
    from rag.documents.chunking import Chunker
    from rag.documents.ingest import read_file

    paragraphs = []
    for path in sorted(seeds_dir().glob("*.txt")):
        document = read_file(path)
        paragraphs += [c.text for c in Chunker().split(document)]
    if squad is not None:
        paragraphs += [text for _, text, _ in squad_corpus(squad, 100_000)]
    return paragraphs


class TextSynth:
    """Perturbed copies of source paragraphs, from a fixed seed."""

    def __init__(self, paragraphs: list[str], seed: int = 0, replace: float = 0.33) -> None:
        self.rng = np.random.default_rng(seed)
        self.replace = replace
        counts = collections.Counter(w for p in paragraphs for w in _WORD.findall(p))
        self.vocab = np.array(list(counts), dtype=object)
        freq = np.array(list(counts.values()), dtype=np.float64)
        self.cum = np.cumsum(freq / freq.sum())
        index = {w: i for i, w in enumerate(self.vocab)}
        self.sources = [
            np.array([index[w] for w in _WORD.findall(p)][:150], dtype=np.int64) for p in paragraphs
        ]

    def words(self, source: np.ndarray) -> np.ndarray:
        ids = source.copy()
        mask = self.rng.random(len(ids)) < self.replace
        ids[mask] = np.searchsorted(self.cum, self.rng.random(int(mask.sum())))
        return np.minimum(ids, len(self.vocab) - 1)

    def text(self, source: np.ndarray) -> str:
        return " ".join(self.vocab[self.words(source)])


def _noisy_copies(base: np.ndarray, rows: np.ndarray, rng, cosine: float = 0.9) -> np.ndarray:
    dim = base.shape[1]
    sigma = np.sqrt((1 / cosine**2 - 1) / dim)
    out = base[rows] + rng.normal(scale=sigma, size=(len(rows), dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def _disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


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
    rng = np.random.default_rng(seed + n)
    pool = len(pool_texts)
    t0 = time.perf_counter()
    texts = [
        pool_texts[i] if i < pool else synth.text(synth.sources[i % len(synth.sources)])
        for i in range(n)
    ]
    if n > pool:
        vectors = np.empty((n, pool_vectors.shape[1]), dtype=np.float32)
        vectors[:pool] = pool_vectors
        for lo in range(pool, n, 100_000):
            rows = np.arange(lo, min(n, lo + 100_000)) % pool
            vectors[lo : lo + len(rows)] = _noisy_copies(pool_vectors, rows, rng)
        kind = f"{pool} from the model, {n - pool} noisy copies of them (cosine 0.9)"
    else:
        vectors = pool_vectors[:n]
        kind = "all from the model"
    generate_s = time.perf_counter() - t0

    picks = rng.choice(n, size=queries, replace=False)
    questions = []
    for i in picks:
        words = texts[i].split()
        at = int(rng.integers(0, max(1, len(words) - 10)))
        questions.append(" ".join(words[at : at + 10]))
    q_vectors = embedder.embed(questions)
    import faiss

    _, exact = faiss.knn(q_vectors, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    results = []
    for backend in stores:
        index_dir = workdir / f"index-{n}-{backend}"
        t0 = time.perf_counter()
        _build(index_dir, backend, embedder.identity, texts, vectors)
        build_s = time.perf_counter() - t0
        result = _measure(index_dir, backend, embedder, questions, q_vectors, exact, workdir)
        shutil.rmtree(index_dir, ignore_errors=True)
        results.append(
            {
                "passages": n,
                "store": backend,
                "vectors": kind,
                "generate_s": round(generate_s, 1),
                "build_s": round(build_s, 1),
                **result,
            }
        )
    return results


def _build(
    index_dir: Path, backend: str, model_id: str, texts: list[str], vectors: np.ndarray
) -> None:
    from rag.core.settings import get_settings
    from rag.core.types import Chunk
    from rag.documents.ingest import make_document
    from rag.stores import open_store, store_options

    options = {
        **store_options(get_settings()),
        "backend": backend,
        "milvus_uri": str(index_dir / "milvus.db"),
        "flush_seconds": 1e9,
    }
    store, _ = open_store(index_dir, model_id=model_id, dimension=vectors.shape[1], **options)
    batch = 20_000
    for lo in range(0, len(texts), batch):
        items = []
        for i in range(lo, min(len(texts), lo + batch)):
            document = make_document(f"Passage {i}\n\n{texts[i]}", doc_id=f"p{i:07d}")
            body = document.text.index(texts[i][:20])
            chunk = Chunk(document.doc_id, 0, body, len(document.text), document.text[body:])
            items.append((document, [chunk], vectors[i : i + 1]))
        store.add_many(items)
    store.close()


def _passage_numbers(store, hits: list[tuple[int, float]]) -> set[int]:
    """Which synthetic passages (document ``p0000042`` is passage 42) the hits are: the
    stores number their chunks their own way."""
    found = store.chunks([i for i, _ in hits])
    return {int(chunk.doc_id[1:]) for chunk, _ in found.values()}


def _measure(
    index_dir: Path,
    backend: str,
    embedder,
    questions: list[str],
    q_vectors: np.ndarray,
    exact: np.ndarray,
    workdir: Path,
) -> dict:
    from rag.stores import open_store

    options = {"backend": backend, "milvus_uri": str(index_dir / "milvus.db")}
    store, _ = open_store(
        index_dir, model_id=embedder.identity, dimension=q_vectors.shape[1], **options
    )
    dense_info = store.dense_info()
    recall = statistics.mean(
        len(_passage_numbers(store, store.search_dense(q, 10)) & {int(i) for i in exact[j]}) / 10
        for j, q in enumerate(q_vectors)
    )
    lexical_share = statistics.mean(bool(store.search_lexical(q, 1)) for q in questions)
    store.close()

    empty = workdir / "no-docs"
    empty.mkdir(exist_ok=True)
    env = {
        "RAG_QUERY_CACHE_SIZE": "0",
        "RAG_STORE": backend,
        "RAG_MILVUS_URI": str(index_dir / "milvus.db"),
    }
    server = Server(empty, index_dir, env=env).start(timeout=1800)
    timings = []
    try:
        with httpx.Client(base_url=server.base, timeout=120) as http:
            for q in questions[:5]:
                http.post("/ask", json={"question": q})
            for q in questions:
                r = http.post("/ask", json={"question": q})
                r.raise_for_status()
                timings.append(_server_timing(r.headers.get("server-timing", "")))
        rss = peak_rss_mb(server.proc.pid)
        start_s = server.start_seconds
    finally:
        server.stop()
    retrieval = [sum(t.get(s, 0.0) for s in RETRIEVAL_STAGES) for t in timings]
    return {
        "dense_index": dense_info,
        "disk_mb": _disk_mb(index_dir),
        "server_peak_rss_mb": rss,
        "server_start_s": round(start_s, 1),
        "retrieval_ms_p50": percentile(retrieval, 50),
        "retrieval_ms_p95": percentile(retrieval, 95),
        "stages_ms_p50": {
            s: round(statistics.median(t.get(s, 0.0) for t in timings), 2) for s in RETRIEVAL_STAGES
        },
        "recall_at_10": round(recall, 3),
        "lexical_hits_share": round(lexical_share, 3),
        "queries": len(questions),
    }


def run(
    sizes: list[int],
    squad: Path | None = None,
    pool: int = 5000,
    queries: int = 200,
    workdir: Path | None = None,
    seed: int = 0,
    stores: tuple[str, ...] = ("sqlite",),
    largest: dict[str, int] | None = None,
) -> dict:
    """``largest``: the largest size built on a store (Milvus Lite, an engine for small
    collections, does not fit a million passages in this machine's memory)."""
    largest = largest if largest is not None else {}
    from rag.core.settings import get_settings
    from rag.retrieval.embedding import Embedder

    embedder = Embedder(get_settings().embedding_model)
    synth = TextSynth(_source_paragraphs(squad), seed=seed)
    pool = min(pool, max(sizes))
    t0 = time.perf_counter()
    pool_texts = [synth.text(synth.sources[i % len(synth.sources)]) for i in range(pool)]
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
