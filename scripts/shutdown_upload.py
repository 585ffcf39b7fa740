"""SIGTERM during a large upload (issue 37, item 5): what the client gets, how long the
server takes to exit, whether its log has a traceback, and what a restart finds.

A seeded ``rag serve`` is sent ``POST /documents`` with ``--megabytes`` of generated
plain text (many sentences); ``--after`` seconds later it gets SIGTERM. Each run uses a
fresh index; one line of results a run.

    python scripts/shutdown_upload.py [--megabytes 5] [--after 1] [--runs 3]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server import Server  # noqa: E402
from tests.support.texts import many_sentences  # noqa: E402


def one_run(text: str, after: float, keep_log: Path | None = None) -> dict:
    """One server, one upload, one SIGTERM; then a restart to look for the document."""
    with tempfile.TemporaryDirectory(prefix="rag-sigterm-") as tmp:
        server = Server.seeded(Path(tmp)).start()
        outcome: list[object] = []
        answered: list[float] = []

        def upload() -> None:
            try:
                body = {"title": "Minutes", "text": text}
                wait = {"wait": "true"}  # held, not a job (issue 38, item 4)
                outcome.append(
                    httpx.post(f"{server.base}/documents", json=body, params=wait, timeout=120)
                )
            except httpx.HTTPError as exc:
                outcome.append(exc)
            answered.append(time.perf_counter())

        thread = threading.Thread(target=upload, daemon=True)
        sent = time.perf_counter()
        thread.start()
        time.sleep(after)
        server.proc.send_signal(signal.SIGTERM)
        signalled = time.perf_counter()
        server.proc.wait(timeout=120)
        exited = time.perf_counter() - signalled
        thread.join(120)
        got = outcome[0] if outcome else None
        if isinstance(got, httpx.Response):
            client = (
                f"{got.status_code} {got.text[:100]!r} retry-after={got.headers.get('retry-after')}"
            )
        else:
            client = f"{type(got).__name__}: {got}"
        log = server.output()
        if keep_log is not None:
            keep_log.write_text(log)
        again = Server(Path(tmp) / "docs", Path(tmp) / "index").start()
        try:
            docs = httpx.get(f"{again.base}/documents", timeout=10).json()["documents"]
        finally:
            again.stop()
        return {
            "exit_seconds": round(exited, 2),
            "returncode": server.proc.returncode,
            "client": client,
            "client_answered_after_sigterm": round(answered[0] - signalled, 2),
            "sigterm_after_post": round(signalled - sent, 2),
            "traceback_lines": log.count("Traceback"),
            "log_lines": len(log.splitlines()),
            "documents_after_restart": len(docs),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--log", type=Path, help="where to keep the last run's server log")
    args = parser.parse_args()
    text = many_sentences(int(args.megabytes * 1_000_000))
    print(f"{len(text.encode()) / 1e6:.2f} MB of text, SIGTERM {args.after:g} s after the POST")
    for _ in range(args.runs):
        print(one_run(text, args.after, args.log), flush=True)


if __name__ == "__main__":
    main()
