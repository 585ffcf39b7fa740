"""``python -m benchmarks index``: what indexing costs beyond the embedding model's own work.

The reference is sentence-transformers' plain ``encode()`` of exactly the passages
``rag index`` will store (same chunking), timed in this process before and after.
``rag index`` is timed twice: as the command a user runs (a new process: imports
and model loading included), and in-process with the model already loaded (the
part that grows with the corpus: reading, cleaning, chunking, embedding, SQLite
with FTS5, FAISS).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def run(docs: Path | None = None, squad: Path | None = None, paragraphs: int = 300) -> dict:
    from rag.core import compute
    from rag.core.settings import get_settings
    from rag.service.indexing import indexer_for

    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="rag-bench-index-") as tmp:
        tmp = Path(tmp)
        if docs is not None:
            folder, name = docs, str(docs)
        elif squad is not None:
            folder = write_corpus(squad_corpus(squad, paragraphs), tmp / "docs")
            name = f"SQuAD {paragraphs} paragraphs"
        else:
            folder, name = seeds_dir(), "seeds"
        texts = _passages(folder, settings)
        model = reference_model()
        # on the compute thread, where indexing embeds too: torch's OpenMP runs slower on
        # a thread that starts computing after another one did (see rag.core.compute)
        compute.compute(model.encode, texts[:64], batch_size=32)

        def encode() -> float:
            t0 = time.perf_counter()
            compute.compute(model.encode, texts, batch_size=32)
            return time.perf_counter() - t0

        encode_before = encode()
        env = {**os.environ, "RAG_INDEX_DIR": str(tmp / "index-cli")}
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rag", "index", str(folder)],
            env=env,
            capture_output=True,
            text=True,
        )
        command_s = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"rag index failed:\n{done.stderr[-2000:]}")
        in_process = settings.model_copy(update={"index_dir": tmp / "index-in-process"})
        with indexer_for(in_process) as indexer:
            t0 = time.perf_counter()
            results, _ = indexer.index_paths([folder])
        in_process_s = time.perf_counter() - t0
        documents, chunks = len(results), len(texts)
        encode_after = encode()
    encode_s = (encode_before + encode_after) / 2
    return {
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
        "machine": machine(),
    }


def table(report: dict) -> str:
    return markdown_table(
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
