"""The outside test of issue 31 against a real ``rag serve``: one batch of every crafted
file, questions asked meanwhile from another process, memory sampled; then SIGTERM
during a long parse (issue 32, item 7). The figures of docs/reliability.md.

    python scripts/hostile_batch.py [--seconds 90]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server import Server  # noqa: E402
from tests.support import hostile  # noqa: E402
from tests.support.processes import memory_mb, parse_workers  # noqa: E402

QUESTION = {"question": "Where was Kim invited?"}
ASKER = """
import json, sys, time, httpx
base, seconds, out = sys.argv[1], float(sys.argv[2]), []
end = time.time() + seconds
with httpx.Client(base_url=base, timeout=60) as client:
    while time.time() < end:
        t = time.time()
        client.post("/ask", json={"question": "Where was Kim invited?"})
        out.append((t, time.time() - t))
        time.sleep(0.05)
print(json.dumps(out))
"""


def crafted() -> list[tuple[str, bytes]]:
    files = [("good.txt", b"Mills\n\nThe Velmor mill grinds oats.")]
    files += [(f"{kind}.pdf", build()) for kind, build in hostile.HOSTILE_PDFS.items()]
    paragraphs = b"<html><body>" + b"<p>word</p>" * (9 * (1 << 20) // 11) + b"</body>"
    return [
        *files,
        ("breaks-9MB.html", hostile.page_of_breaks(9)),
        ("paragraphs-9MB.html", paragraphs),
        ("words-9MB.html", hostile.repeated_word_page(9)),
        ("slow-200-pages.pdf", hostile.slow_pdf(200)),
    ]


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def batch(server: Server, seconds: float) -> None:
    """Post the batch while a separate process asks; print what came back."""
    pid = server.proc.pid
    asker = subprocess.Popen(
        [sys.executable, "-c", ASKER, server.base, str(seconds)], stdout=subprocess.PIPE
    )
    time.sleep(8)
    baseline, started, peaks, done = memory_mb(pid), time.time(), [0.0, 0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peaks[0] = max(peaks[0], memory_mb(pid))
            for worker in parse_workers(pid):
                with contextlib.suppress(OSError):
                    peaks[1] = max(peaks[1], memory_mb(worker))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    files = [("files", f) for f in crafted()]
    wait = {"wait": "true"}  # held to the end, not a job (issue 38, item 4)
    r = httpx.post(f"{server.base}/documents/files", files=files, params=wait, timeout=600)
    ended = time.time()
    done.set()
    asked = json.loads(asker.communicate()[0])
    print(f"batch of {len(files)} files: {r.status_code} in {ended - started:.1f} s")
    for failure in r.json()["errors"]:
        print(f"  {failure['status']} {failure['detail'][:110]}")
    print("  stored:", [d["file"] for d in r.json()["documents"]])
    for label, took in (
        ("before", [x for t, x in asked if t < started]),
        ("during", [x for t, x in asked if started <= t < ended]),
    ):
        print(
            f"/ask {label}: p50 {statistics.median(took) * 1000:.0f} ms, p95 "
            f"{percentile(took, 0.95) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms ({len(took)})"
        )
    print(f"server RSS {baseline:.0f} MB, at most {peaks[0]:.0f}; a worker at most {peaks[1]:.0f}")


def sigterm(server: Server) -> None:
    """SIGTERM two seconds into a parse of about 150 s."""
    files = {"files": ("slow.pdf", hostile.slow_pdf(1000))}
    url = f"{server.base}/documents/files"
    threading.Thread(target=lambda: httpx.post(url, files=files, timeout=300), daemon=True).start()
    while not parse_workers(server.proc.pid):
        time.sleep(0.05)
    time.sleep(2)
    started = time.perf_counter()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(120)
    took = time.perf_counter() - started
    print(f"SIGTERM during a parse: exit {server.proc.returncode} after {took:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="how long to ask")
    seconds = parser.parse_args().seconds
    with tempfile.TemporaryDirectory() as tmp:
        server = Server.seeded(Path(tmp), {"RAG_MAX_UPLOAD_BYTES": str(48 << 20)}).start()
        try:
            for _ in range(5):  # warm
                httpx.post(f"{server.base}/ask", json=QUESTION, timeout=60)
            batch(server, seconds)
            sigterm(server)
        finally:
            server.kill()


if __name__ == "__main__":
    main()
