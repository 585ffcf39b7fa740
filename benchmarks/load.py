"""``python -m benchmarks load`` and ``crash``: a real server under load, and killed."""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import (
    SEED_QUESTIONS,
    ask_concurrently,
    machine,
    peak_rss_mb,
    percentile,
)
from benchmarks.server import Server, seeded_server


def load(clients: int = 8, seconds: float = 30.0) -> dict:
    """``clients`` threads asking the seed questions back to back for ``seconds``."""
    with seeded_server() as server:
        with httpx.Client(base_url=server.base, timeout=60) as warm:
            for q in SEED_QUESTIONS:
                warm.post("/ask", json={"question": q})
        latencies, codes, wall = ask_concurrently(server.base, SEED_QUESTIONS, clients, seconds)
        errors = sum(n for code, n in codes.items() if code != 200)
        health = httpx.get(f"{server.base}/health", timeout=10).status_code
        rss = peak_rss_mb(server.proc.pid)
        start_s = server.start_seconds
    return {
        "benchmark": "load",
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": sum(codes.values()),
        "errors": errors,
        "status_codes": {str(k): v for k, v in sorted(codes.items())},
        "throughput_qps": round(len(latencies) / wall, 2),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "peak_rss_mb": rss,
        "healthy_after": health == 200,
        "server_start_s": round(start_s, 1),
        "machine": machine(),
    }


def upload_text(megabytes: float) -> str:
    """About ``megabytes`` of article-like text: the seed articles' paragraphs, numbered."""
    from benchmarks.common import seeds_dir

    paragraphs = [
        p.strip()
        for path in sorted(seeds_dir().glob("*.txt"))
        for p in path.read_text().split("\n\n")
        if len(p.split()) > 20
    ]
    parts, size, i = ["A long report"], 0, 0
    while size < megabytes * 1_000_000:
        part = f"Section {i}. {paragraphs[i % len(paragraphs)]}"
        parts.append(part)
        size += len(part) + 2
        i += 1
    return "\n\n".join(parts)


def ask_during_upload(megabytes: float = 1.0) -> dict:
    """One client asks the seed questions back to back while another uploads a document
    of ``megabytes``: how long a question waits behind indexing."""
    text = upload_text(megabytes)
    with seeded_server() as server, httpx.Client(base_url=server.base, timeout=120) as http:
        for q in SEED_QUESTIONS:
            http.post("/ask", json={"question": q})
        alone = []
        for q in SEED_QUESTIONS:
            t0 = time.perf_counter()
            http.post("/ask", json={"question": q})
            alone.append((time.perf_counter() - t0) * 1000)
        upload: dict = {}

        def post() -> None:
            t0 = time.perf_counter()
            with httpx.Client(base_url=server.base, timeout=1800) as writer:
                body = {"title": "A long report", "text": text}  # held, not a job
                r = writer.post("/documents", json=body, params={"wait": "true"})
            upload.update(status=r.status_code, seconds=time.perf_counter() - t0)

        writer = threading.Thread(target=post)
        writer.start()
        time.sleep(0.5)
        during, codes, i = [], {}, 0
        while writer.is_alive():
            t0 = time.perf_counter()
            code = http.post("/ask", json={"question": SEED_QUESTIONS[i % 10]}).status_code
            i += 1
            codes[code] = codes.get(code, 0) + 1
            if code == 200 and writer.is_alive():
                during.append((time.perf_counter() - t0) * 1000)
        writer.join()
        health = http.get("/health").json()
    return {
        "benchmark": "upload",
        "upload_mb": round(len(text.encode()) / 1e6, 2),
        "upload_status": upload.get("status"),
        "upload_s": round(upload.get("seconds", 0.0), 1),
        "passages": health["chunks"],
        "questions_during_upload": len(during),
        "status_codes": {str(k): v for k, v in sorted(codes.items())},
        "ask_ms_alone_p50": percentile(alone, 50),
        "ask_ms_during_p50": percentile(during, 50),
        "ask_ms_during_p95": percentile(during, 95),
        "ask_ms_during_max": round(max(during), 1) if during else None,
        "machine": machine(),
    }


def crash(writes_before_kill: int = 50, env: dict | None = None) -> dict:
    """Stream writes, SIGKILL the server mid-stream, restart it, count what survived
    (``env``: settings of both servers, e.g. ``{"RAG_STORE": "milvus"}``)."""
    with tempfile.TemporaryDirectory(prefix="rag-crash-") as tmp:
        server = Server.seeded(Path(tmp), env).start()
        docs, index = Path(tmp) / "docs", Path(tmp) / "index"
        acknowledged: dict[str, int] = {}
        attempted = 0

        def writer() -> None:
            nonlocal attempted
            with httpx.Client(base_url=server.base, timeout=30) as http:
                for i in range(100_000):
                    attempted += 1
                    text = f"Bulletin {i}\n\nThe bulletin code for day {i} is Korvan{i}x."
                    try:
                        r = http.post("/documents", json={"text": text})
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        acknowledged[r.json()["doc_id"]] = i

        thread = threading.Thread(target=writer)
        thread.start()
        while len(acknowledged) < writes_before_kill and thread.is_alive():
            time.sleep(0.01)
        server.kill(signal.SIGKILL)
        thread.join()
        restarted = Server(docs, index, env).start()
        try:
            listed = httpx.get(f"{restarted.base}/documents", timeout=30).json()["documents"]
            health = httpx.get(f"{restarted.base}/health", timeout=30).json()
            found = set(acknowledged) & {d["doc_id"] for d in listed}
            answerable = 0
            for doc_id, i in acknowledged.items():
                r = httpx.post(
                    f"{restarted.base}/ask",
                    timeout=60,
                    json={"question": f"What is the bulletin code for day {i}?"},
                )
                answerable += doc_id in {p["doc_id"] for p in r.json()["passages"]}
        finally:
            restarted.stop()
    return {
        "benchmark": "crash",
        "writes_attempted": attempted,
        "writes_acknowledged": len(acknowledged),
        "acknowledged_found_after_restart": len(found),
        "acknowledged_retrievable_after_restart": answerable,
        "documents_after_restart": len(listed) - 3,
        "chunks_equal_vectors": health["chunks"] == health["vectors"],
        "restart_s": round(restarted.start_seconds, 1),
        "machine": machine(),
    }
