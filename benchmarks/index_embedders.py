"""``python -m benchmarks index``, the embedders' part: the whole ``rag index`` command
with fp32 and with int8 in the same run, and their retrieval quality on held-out
questions.

The commands alternate (fp32, int8, fp32, int8, …) so that both meet the same load; the
int8 model is made ready first (built, and timed, if ``RAG_CACHE_DIR`` has none yet), so
that no command pays for the build. Quality: the paragraphs of a SQuAD file (dev-part-a:
never trained on) indexed with each embedder, and ``questions`` of its questions asked
through the service's retrieval (dense + BM25 blend) and through dense search alone:
recall@1 and @5 of the question's own paragraph, and the cosine between the two
embedders' vectors of the same passages.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KINDS = ("fp32", "int8")
#: Paragraphs whose passages both embedders embed, to compare the vectors.
SAMPLE_DOCUMENTS = 300


def int8_ready(cache: Path) -> dict:
    """The int8 model in ``cache`` (``RAG_CACHE_DIR``), built if absent: how long that
    took and whether it was built (with an empty cache: the build time)."""
    from rag.core.settings import packaged_embedding_model
    from rag.retrieval.onnx_build import int8_model

    model = Path(packaged_embedding_model())
    t0 = time.perf_counter()
    path = int8_model(model, cache)
    seconds = time.perf_counter() - t0
    return {"int8_built": seconds > 2.0, "int8_model_s": round(seconds, 2), "int8_model": str(path)}


def time_commands(folder: Path, repeats: int, tmp: Path, cache: Path) -> dict[str, list[float]]:
    """Seconds of ``rag index FOLDER`` into a new index, per embedder, alternating."""
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for run in range(repeats):
        for kind in KINDS:
            env = {
                **os.environ,
                "RAG_INDEX_DIR": str(tmp / f"index-{kind}-{run}"),
                "RAG_EMBEDDER": kind,
                "RAG_CACHE_DIR": str(cache),
            }
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "rag", "index", str(folder)],
                env=env,
                capture_output=True,
                text=True,
            )
            times[kind].append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise RuntimeError(f"rag index ({kind}) failed:\n{done.stderr[-2000:]}")
    return times


def summary(times: dict[str, list[float]], passages: int) -> list[dict]:
    """One row per embedder: median command seconds, passages/s, speed-up over fp32."""
    reference = statistics.median(times["fp32"])
    rows = []
    for kind in KINDS:
        seconds = statistics.median(times[kind])
        rows.append(
            {
                "embedder": kind,
                "command_s": round(seconds, 2),
                "command_s_each": [round(t, 2) for t in times[kind]],
                "passages_per_s": round(passages / seconds, 1),
                "speedup": round(reference / seconds, 2),
            }
        )
    return rows


def quality(file: Path, questions: int, cache: Path, seed: int = 13) -> dict:
    """Recall@1 and @5 of each embedder (blend and dense alone) on ``questions`` of
    ``file``'s questions over all of its paragraphs; the two embedders' cosine."""
    from rag.evaluation import squad

    examples = [e for e in squad.load([file]) if not e.impossible]
    asked = random.Random(seed).sample(examples, min(questions, len(examples)))
    report: dict = {"file": file.name, "questions": len(asked)}
    vectors = {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-quality-") as tmp:
        for kind in KINDS:
            scores, vectors[kind] = _recall(examples, asked, kind, Path(tmp) / kind, cache)
            report[kind] = scores
    cosine = (vectors["fp32"] * vectors["int8"]).sum(axis=1)
    report["cosine_passages"] = len(cosine)
    report["cosine_mean"] = round(float(cosine.mean()), 4)
    report["cosine_min"] = round(float(cosine.min()), 4)
    return report


def _recall(examples, asked, kind: str, folder: Path, cache: Path) -> tuple[dict, np.ndarray]:
    """Index every paragraph with ``kind``, then rank each asked question's paragraph."""
    from rag.core.settings import Settings
    from rag.documents.chunking import Chunker
    from rag.evaluation.evaluate import paragraph_documents
    from rag.retrieval.embedders import embedder_for
    from rag.retrieval.hybrid import HybridRetriever
    from rag.service.indexing import Indexer
    from rag.stores import open_store

    settings = Settings(index_dir=folder, embedder=kind, cache_dir=cache)
    embedder = embedder_for(settings)
    embedder.warm_up()
    store, _ = open_store(folder, model_id=embedder.identity, dimension=embedder.dimension)
    documents = paragraph_documents(examples)
    chunker = Chunker.from_settings(settings)
    indexer = Indexer(store, embedder, chunker)
    try:
        for lo in range(0, len(documents), 256):
            indexer.add_documents(documents[lo : lo + 256])
        retriever = HybridRetriever(store, embedder, settings.candidates, dense_weight=0.35)
        blend, dense = [], []
        for ex in asked:
            ranked, _ = retriever.retrieve_timed(ex.question, 5)
            blend.append(_rank([p.chunk.text for p in ranked], ex.context))
            hits = store.search_dense(embedder.embed_query(ex.question), 5)
            chunks = store.chunks(i for i, _ in hits)
            dense.append(_rank([chunks[i][0].text for i, _ in hits if i in chunks], ex.context))
        sample = [c.text for d in documents[:SAMPLE_DOCUMENTS] for c in chunker.split(d)]
        vectors = embedder.embed(sample)
    finally:
        indexer.close()
        store.close()
    scores = {
        "blend_r1": _at(blend, 1),
        "blend_r5": _at(blend, 5),
        "dense_r1": _at(dense, 1),
        "dense_r5": _at(dense, 5),
    }
    return scores, vectors


def _rank(texts: list[str], context: str) -> int | None:
    """1-based rank of the first passage cut from ``context``."""
    return next((r for r, t in enumerate(texts, 1) if t.strip() and t.strip() in context), None)


def _at(ranks: list[int | None], k: int) -> float:
    return round(sum(r is not None and r <= k for r in ranks) / len(ranks), 4)
