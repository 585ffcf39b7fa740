"""Measuring one store of ``python -m benchmarks scale``: building it, the quality of its
searches (recall@10 of its dense search against exact search over all vectors, the share
of questions BM25 can score), then a real ``rag serve`` process on it, whose
``Server-Timing`` header gives the retrieval time of each question (embed, dense,
lexical, fetch), its start-up time and its peak memory.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import peak_rss_mb, percentile
from benchmarks.query import server_timing
from benchmarks.server import Server

RETRIEVAL_STAGES = ("embed", "dense", "lexical", "fetch")


def build_index(
    index_dir: Path, backend: str, model_id: str, texts: list[str], vectors: np.ndarray
) -> None:
    """The store ``backend`` over the passages, built through ``add_many`` in batches, as
    indexing builds it (SQLite + FAISS switches to IVF at its threshold, retraining as it
    grows; Milvus builds the index its settings name)."""
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


def disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def search_quality(
    index_dir: Path, backend: str, embedder, questions: list[str], q_vectors, exact
) -> dict:
    """The store's dense index, its recall@10 against ``exact`` (the true 10 nearest
    passages of each question), and the share of questions with a BM25 hit."""
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
    return {
        "dense_index": dense_info,
        "recall_at_10": round(recall, 3),
        "lexical_hits_share": round(lexical_share, 3),
    }


def served(index_dir: Path, backend: str, questions: list[str], workdir: Path) -> dict:
    """A ``rag serve`` process on the index (no documents folder of its own, no query
    cache) asked every question after five warm-up ones: retrieval p50/p95, each
    stage's p50, start-up time and peak memory."""
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
                timings.append(server_timing(r.headers.get("server-timing", "")))
        rss = peak_rss_mb(server.proc.pid)
        start_s = server.start_seconds
    finally:
        server.stop()
    retrieval = [sum(t.get(s, 0.0) for s in RETRIEVAL_STAGES) for t in timings]
    return {
        "server_peak_rss_mb": rss,
        "server_start_s": round(start_s, 1),
        "retrieval_ms_p50": percentile(retrieval, 50),
        "retrieval_ms_p95": percentile(retrieval, 95),
        "stages_ms_p50": {
            s: round(statistics.median(t.get(s, 0.0) for t in timings), 2) for s in RETRIEVAL_STAGES
        },
    }
