"""``rag bench``: figures measured against a real server process, for the README.

Each benchmark starts ``rag serve`` on a copy of the seeds with a throwaway index,
so it never touches the user's index, and talks to it over real HTTP.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from rag.settings import PACKAGE_DIR

SEED_QUESTIONS = [
    "Where was Kim invited?",
    "Who met Kim Jong Un in Pyongyang?",
    "Who is North Korea's foreign minister?",
    "What is the tallest mountain in Africa?",
    "When did Lavrov last visit North Korea?",
    "Where was the summit between Trump and Kim planned?",
]


def machine() -> str:
    """The CPU model and core count, written next to every figure."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a process (Linux /proc), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Server:
    """A ``rag serve`` child process on a free loopback port, its output in ``log``.

    The benchmarks, the tests and the screenshot script all start servers this way.
    ``RAG_API_KEY`` is not inherited unless ``env`` sets it: the server is on loopback.
    """

    def __init__(
        self, docs: Path, index: Path, env: dict | None = None, log: Path | None = None
    ) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        inherited = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
        self.env = {
            **inherited,
            "RAG_DOCS_DIR": str(docs),
            "RAG_INDEX_DIR": str(index),
            **(env or {}),
        }
        self.log = log if log is not None else Path(index).parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.start_seconds = 0.0

    @classmethod
    def seeded(cls, workdir: Path, env: dict | None = None) -> Server:
        """A server over a fresh copy of the demo articles in ``workdir``."""
        seeds = Path.cwd() / "seeds"
        if not seeds.is_dir():
            seeds = PACKAGE_DIR.parent / "seeds"
        shutil.copytree(seeds, Path(workdir) / "docs")
        return cls(Path(workdir) / "docs", Path(workdir) / "index", env)

    def start(self, timeout: float = 300) -> Server:
        t0 = time.perf_counter()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rag", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited while starting:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    self.start_seconds = time.perf_counter() - t0
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not become healthy:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self) -> str:
        """SIGTERM (a clean shutdown), then everything the server printed."""
        self.kill(signal.SIGTERM)
        return self.output()


@contextmanager
def seeded_server(env: dict | None = None) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        server = Server.seeded(Path(tmp), env).start()
        try:
            yield server
        finally:
            server.stop()


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else 0.0
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def load(clients: int = 8, seconds: float = 30.0) -> dict:
    """``clients`` threads asking the seed questions back to back for ``seconds``."""
    with seeded_server() as server:
        with httpx.Client(base_url=server.base, timeout=60) as warm:
            for q in SEED_QUESTIONS:
                warm.post("/ask", json={"question": q})
        latencies: list[float] = []
        codes: dict[int, int] = {}
        errors = 0
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def client(n: int) -> None:
            nonlocal errors
            with httpx.Client(base_url=server.base, timeout=120) as http:
                i = n
                while time.perf_counter() < deadline:
                    q = SEED_QUESTIONS[i % len(SEED_QUESTIONS)]
                    i += 1
                    t0 = time.perf_counter()
                    try:
                        r = http.post("/ask", json={"question": q})
                        code = r.status_code
                    except httpx.HTTPError:
                        code = 0
                    ms = (time.perf_counter() - t0) * 1000
                    with lock:
                        codes[code] = codes.get(code, 0) + 1
                        if code == 200:
                            latencies.append(ms)
                        else:
                            errors += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
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
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
        "peak_rss_mb": rss,
        "healthy_after": health == 200,
        "server_start_s": round(start_s, 1),
        "machine": machine(),
    }


def crash(writes_before_kill: int = 50) -> dict:
    """Stream writes, SIGKILL the server mid-stream, restart it, count what survived."""
    with tempfile.TemporaryDirectory(prefix="rag-crash-") as tmp:
        server = Server.seeded(Path(tmp)).start()
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
        restarted = Server(docs, index).start()
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
