"""``python -m benchmarks index``: what indexing costs beyond the embedding model's own work.

The reference is sentence-transformers' plain ``encode()`` of exactly the passages
``rag index`` will store (same chunking), timed in this process before and after.
``rag index`` is timed twice: as the command a user runs (a new process: imports
and model loading included), and in-process with the model already loaded (the
part that grows with the corpus: reading, cleaning, chunking, embedding, SQLite
with FTS5, FAISS). That reference is fp32 (``RAG_EMBEDDER=fp32``); the command is also
timed with the int8 embedder, alternating with fp32 (:mod:`benchmarks.index_embedders`).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import index_embedders
from benchmarks.common import (
    machine,
    markdown_table,
    reference_model,
    seeds_dir,
    squad_corpus,
    write_corpus,
)


def _passages(folder: Path, settings) -> list[str]:
    from rag.documents import ingest
    from rag.documents.chunking import Chunker

    chunker = Chunker.from_settings(settings)
    texts = []
    for path in ingest.iter_files([folder]):
        try:
            texts += [c.text for c in chunker.split(ingest.read_file(path))]
        except ingest.IngestError:
            continue
    return texts


def _corpus(docs: Path | None, squad: Path | None, paragraphs: int, tmp: Path) -> tuple[Path, str]:
    """The folder to index and its name in the report: ``docs``, SQuAD paragraphs or the seeds."""
    if docs is not None:
        return docs, str(docs)
    if squad is not None:
        folder = write_corpus(squad_corpus(squad, paragraphs), tmp / "docs")
        return folder, f"SQuAD {paragraphs} paragraphs"
    return seeds_dir(), "seeds"


def _timed_encode(model, texts: list[str]) -> float:
    """Seconds of plain ``encode()`` of ``texts`` on the compute thread."""
    from rag.core import compute

    t0 = time.perf_counter()
    compute.compute(model.encode, texts, batch_size=32)
    return time.perf_counter() - t0


def run(
    docs: Path | None = None,
    squad: Path | None = None,
    paragraphs: int = 300,
    repeats: int = 1,
    quality: Path | None = None,
    questions: int = 2000,
) -> dict:
    """The fp32 reference (plain ``encode()``, indexing in-process, the command) and the
    command with each embedder (:mod:`benchmarks.index_embedders`); their retrieval
    quality on ``quality``'s questions if given."""
    from rag.core import compute
    from rag.core.settings import get_settings
    from rag.service.indexing import indexer_for

    settings = get_settings().model_copy(update={"embedder": "fp32"})
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rag-bench-index-") as tmp:
        tmp = Path(tmp)
        folder, name = _corpus(docs, squad, paragraphs, tmp)
        texts = _passages(folder, settings)
        ready = index_embedders.int8_ready(settings.cache_dir)
        model = reference_model()
        # on the compute thread, where indexing embeds too: torch's OpenMP runs slower on
        # a thread that starts computing after another one did (see rag.core.compute)
        compute.compute(model.encode, texts[:64], batch_size=32)
        encode_before = _timed_encode(model, texts)
        commands = index_embedders.time_commands(folder, repeats, tmp, settings.cache_dir)
        in_process = settings.model_copy(update={"index_dir": tmp / "index-in-process"})
        with indexer_for(in_process) as indexer:
            t0 = time.perf_counter()
            results, _ = indexer.index_paths([folder])
        in_process_s = time.perf_counter() - t0
        documents, chunks = len(results), len(texts)
        encode_after = _timed_encode(model, texts)
    encode_s = (encode_before + encode_after) / 2
    command_s = statistics.median(commands["fp32"])
    report = {
        "benchmark": "index",
        "corpus": name,
        "documents": documents,
        "passages": chunks,
        "encode_s": round(encode_s, 2),
        "encode_s_before_after": [round(encode_before, 2), round(encode_after, 2)],
        "index_in_process_s": round(in_process_s, 2),
        "index_command_s": round(command_s, 2),
        "ratio_in_process": round(in_process_s / encode_s, 2),
        "ratio_command": round(command_s / encode_s, 2),
        "passages_per_s": round(chunks / in_process_s, 1),
        "embedders": index_embedders.summary(commands, chunks),
        **ready,
        "load_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "machine": machine(),
    }
    if quality is not None:
        report["quality"] = index_embedders.quality(quality, questions, settings.cache_dir)
    return report


def table(report: dict) -> str:
    """The fp32 reference row, then one row per embedder (and its retrieval quality)."""
    reference = markdown_table(
        [report],
        [
            ("corpus", "corpus"),
            ("documents", "documents"),
            ("passages", "passages"),
            ("encode_s", "plain encode() s"),
            ("index_in_process_s", "indexing s (model loaded)"),
            ("ratio_in_process", "ratio"),
            ("index_command_s", "`rag index` command s"),
            ("ratio_command", "ratio"),
            ("passages_per_s", "passages/s"),
        ],
    )
    quality = report.get("quality", {})
    rows = [
        {**row, **{k: v for k, v in quality.get(row["embedder"], {}).items()}}
        for row in report["embedders"]
    ]
    columns = [
        ("embedder", "embedder"),
        ("command_s", "`rag index` command s"),
        ("passages_per_s", "passages/s"),
        ("speedup", "speed-up"),
    ]
    if quality:
        columns += [
            (k, k.replace("_r", " R@")) for k in ("blend_r1", "blend_r5", "dense_r1", "dense_r5")
        ]
    return reference + "\n\n" + markdown_table(rows, columns)
