"""``python -m benchmarks index --ray``: passages per second of ``rag index --ray`` with 1
and 2 embedding workers on this machine (a local Ray instance), beside ``rag index`` in
one process, on the same folder with the same embedder (whatever the settings choose).

Each Ray run is timed whole (actors started, models loaded, files parsed, embedded and
stored) and from its first stored batch on ("steady": what the workers add once they
run, the figure a plan for more machines scales; the first batch waits for the slowest
actor to start, so it leans high). The one-process run has its model loaded before it is
timed (its steady figure is its whole run).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, markdown_table, seeds_dir, squad_corpus, write_corpus


def run(
    docs: Path | None = None,
    squad: Path | None = None,
    paragraphs: int = 300,
    workers: tuple[int, ...] = (1, 2),
) -> dict:
    from rag.core.settings import get_settings
    from rag.service.cluster import connected

    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="rag-bench-ray-") as tmp:
        tmp = Path(tmp)
        if docs is not None:
            folder, name = docs, str(docs)
        elif squad is not None:
            folder = write_corpus(squad_corpus(squad, paragraphs), tmp / "docs")
            name = f"SQuAD {paragraphs} paragraphs"
        else:
            folder, name = seeds_dir(), "seeds"
        rows = [_one_process(settings.model_copy(update={"index_dir": tmp / "one"}), folder)]
        with connected(None) as ray:  # a new local instance: every core of this machine
            cpus = int(ray.cluster_resources().get("CPU", 1))
            for n in workers:
                where = settings.model_copy(update={"index_dir": tmp / f"ray-{n}"})
                rows.append(_on_ray(where, folder, n))
    return {
        "benchmark": "index-ray",
        "corpus": name,
        "embedder": settings.embedder,
        "cpus": cpus,
        "runs": rows,
        "machine": machine(),
    }


def _one_process(settings, folder: Path) -> dict:
    from rag.service.indexing import indexer_for

    with indexer_for(settings) as indexer:
        started = time.perf_counter()
        indexer.index_paths([folder])
        seconds = time.perf_counter() - started
        passages = indexer.store.counts()[1]
    return _row("one process (model loaded)", 1, passages, seconds, passages / seconds)


def _on_ray(settings, folder: Path, workers: int) -> dict:
    from rag.service.cluster import ClusterIndexer
    from rag.service.indexing import indexer_for

    with indexer_for(settings) as indexer:
        first: list[tuple[float, int]] = []

        def mark(done: int, total: int) -> None:
            if not first:
                first.append((time.perf_counter(), indexer.store.counts()[1]))

        started = time.perf_counter()
        report = ClusterIndexer(indexer, settings, workers=workers).index_paths(
            [folder], progress=mark
        )
        ended = time.perf_counter()
        passages = indexer.store.counts()[1]
    steady = None
    if first and ended > first[0][0] and passages > first[0][1]:
        steady = (passages - first[0][1]) / (ended - first[0][0])
    return _row("Ray, local", report.workers, passages, ended - started, steady)


def _row(how: str, workers: int, passages: int, seconds: float, steady: float | None) -> dict:
    return {
        "how": how,
        "workers": workers,
        "passages": passages,
        "seconds": round(seconds, 1),
        "passages_per_s": round(passages / seconds, 1),
        "steady_passages_per_s": round(steady, 1) if steady is not None else None,
    }


def table(report: dict) -> str:
    return markdown_table(
        report["runs"],
        [
            ("how", "how"),
            ("workers", "embedding workers"),
            ("passages", "passages"),
            ("seconds", "s (all of it)"),
            ("passages_per_s", "passages/s"),
            ("steady_passages_per_s", "passages/s after the first batch"),
        ],
    )
