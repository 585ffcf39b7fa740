"""A real ``rag serve`` process for tests, benchmarks and the screenshot script.

Tests of the HTTP service, the page and crash recovery need the server as users run
it: a child process on a loopback port, started through the CLI, killed for real.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ``rag serve`` child process on a free loopback port, its output in ``log``.

    The benchmarks, the tests and the screenshot script all start servers this way.
    ``RAG_API_KEY`` is not inherited unless ``env`` sets it: the server is on loopback.
    """

    def __init__(
        self,
        docs: Path,
        index: Path,
        env: dict | None = None,
        log: Path | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        """``args``: more options of ``rag serve`` (``--watch DIR``)."""
        self.args = args
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
        shutil.copytree(ROOT / "seeds", Path(workdir) / "docs")
        return cls(Path(workdir) / "docs", Path(workdir) / "index", env)

    def start(self, timeout: float = 300) -> Server:
        t0 = time.perf_counter()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rag", "serve", "--port", str(self.port), *self.args],
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
