"""``python -m benchmarks query``: warm /ask latency over real HTTP, in milliseconds and in units.

For each corpus (the seeds; a few hundred SQuAD paragraphs when a file is given) a
``rag serve`` process indexes the documents on its first start, is warmed up, then
answers questions from one client in a row (latency, and where the time goes from
the ``Server-Timing`` header) and from several concurrent clients (throughput).
It is restarted once on the existing index to time start-up. The query-embedding
cache is off, so repeated questions cost what new ones do.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import (
    SEED_QUESTIONS,
    ask_concurrently,
    machine,
    peak_rss_mb,
    percentile,
    reference_model,
    seeds_dir,
    squad_corpus,
    unit_ms,
    write_corpus,
)
from benchmarks.server import Server

#: Stages reported in the breakdown, in the order a request meets them.
STAGES = ("embed", "dense", "lexical", "fetch", "read", "merge", "serialise")


def server_timing(header: str) -> dict[str, float]:
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


def _single_client(base: str, questions: list[str], requests: int) -> tuple[list, list]:
    latencies, timings = [], []
    with httpx.Client(base_url=base, timeout=120) as http:
        for i in range(requests):
            t0 = time.perf_counter()
            r = http.post("/ask", json={"question": questions[i % len(questions)]})
            ms = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            stages = server_timing(r.headers.get("server-timing", ""))
            stages["http_and_other"] = ms - sum(stages.get(s, 0.0) for s in STAGES)
            latencies.append(ms)
            timings.append(stages)
    return latencies, timings


def _concurrent(base: str, questions: list[str], clients: int, seconds: float) -> dict:
    latencies, codes, wall = ask_concurrently(base, questions, clients, seconds)
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": sum(n for code, n in codes.items() if code != 200),
        "throughput_qps": round(len(latencies) / wall, 1),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def _corpus_run(
    name: str,
    docs: Path,
    questions: list[str],
    requests: int,
    clients: int,
    seconds: float,
    env: dict | None,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="rag-bench-query-") as tmp:
        env = {"RAG_QUERY_CACHE_SIZE": "0", **(env or {})}
        server = Server(docs, Path(tmp) / "index", env=env).start(timeout=1800)
        try:
            first_start = server.start_seconds
            with httpx.Client(base_url=server.base, timeout=120) as http:
                for q in questions[:10]:
                    http.post("/ask", json={"question": q}).raise_for_status()
                health = http.get("/health").json()
            latencies, timings = _single_client(server.base, questions, requests)
            concurrent = _concurrent(server.base, questions, clients, seconds)
            rss = peak_rss_mb(server.proc.pid)
        finally:
            server.stop()
        restarted = Server(docs, Path(tmp) / "index", env=env).start()
        restart_s = restarted.start_seconds
        restarted.stop()
    breakdown = {
        stage: round(statistics.median(t.get(stage, 0.0) for t in timings), 2)
        for stage in (*STAGES, "http_and_other")
    }
    return {
        "corpus": name,
        "documents": health["documents"],
        "passages": health["chunks"],
        "questions": len(set(questions)),
        "single_client": {
            "requests": requests,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "throughput_qps": round(1000 * len(latencies) / sum(latencies), 1),
            "breakdown_ms_p50": breakdown,
        },
        "concurrent": concurrent,
        "peak_rss_mb": rss,
        "first_start_s_with_indexing": round(first_start, 1),
        "start_s_existing_index": round(restart_s, 1),
    }


def run(
    squad: Path | None = None,
    paragraphs: int = 300,
    requests: int = 100,
    clients: int = 8,
    seconds: float = 20.0,
    env: dict | None = None,
) -> dict:
    """The query benchmark; ``env`` sets ``RAG_*`` settings of the servers under test."""
    model = reference_model()
    unit_before = unit_ms(model)
    corpora = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-docs-") as tmp:
        corpora.append(
            _corpus_run("seeds", seeds_dir(), SEED_QUESTIONS, requests, clients, seconds, env)
        )
        if squad is not None:
            corpus = squad_corpus(squad, paragraphs)
            docs = write_corpus(corpus, Path(tmp) / "squad")
            questions = [q for _, _, q in corpus]
            corpora.append(
                _corpus_run(
                    f"SQuAD {paragraphs} paragraphs",
                    docs,
                    questions,
                    requests,
                    clients,
                    seconds,
                    env,
                )
            )
    unit_after = unit_ms(model)
    unit = round((unit_before + unit_after) / 2, 1)
    for c in corpora:
        for key in ("single_client", "concurrent"):
            for p in ("p50", "p95"):
                c[key][f"{p}_units"] = round(c[key][f"{p}_ms"] / unit, 2)
    return {
        "benchmark": "query",
        "unit": "packaged embedding model (fp32, sentence-transformers) encoding 1 question "
        "+ 5 passages of 150 word pieces, median of 20, same process",
        "unit_ms": unit,
        "unit_ms_before_after": [unit_before, unit_after],
        "settings": env or {},
        "corpora": corpora,
        "machine": machine(),
    }


def table(report: dict) -> str:
    """The README's query table."""
    from benchmarks.common import markdown_table

    rows = []
    for c in report["corpora"]:
        s, m = c["single_client"], c["concurrent"]
        rows.append(
            {
                "corpus": f"{c['corpus']} ({c['passages']} passages)",
                "p50": f"{s['p50_ms']} ms = {s['p50_units']} u",
                "p95": f"{s['p95_ms']} ms = {s['p95_units']} u",
                "qps1": s["throughput_qps"],
                "p50c": f"{m['p50_ms']} ms = {m['p50_units']} u",
                "qps": m["throughput_qps"],
                "rss": c["peak_rss_mb"],
                "start": c["start_s_existing_index"],
            }
        )
    main = markdown_table(
        rows,
        [
            ("corpus", "corpus"),
            ("p50", "1 client p50"),
            ("p95", "1 client p95"),
            ("qps1", "1 client q/s"),
            ("p50c", f"{report['corpora'][0]['concurrent']['clients']} clients p50"),
            ("qps", "q/s"),
            ("rss", "peak RSS MiB"),
            ("start", "start-up s"),
        ],
    )
    stages = [
        {"corpus": c["corpus"], **c["single_client"]["breakdown_ms_p50"]} for c in report["corpora"]
    ]
    breakdown = markdown_table(
        stages, [("corpus", "median ms"), *((s, s) for s in (*STAGES, "http_and_other"))]
    )
    return f"unit = {report['unit_ms']} ms\n\n{main}\n\n{breakdown}"
