"""A real uvicorn process started by `rag serve`, talked to over real HTTP."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError("server did not become healthy")


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    return out


def test_serve_builds_index_on_first_start_and_keeps_it_across_restarts(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    env = {**os.environ, "RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(tmp_path / "index")}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(env, port)
    try:
        r = httpx.post(f"{base}/ask", json={"question": "Where was Kim invited?"}, timeout=60)
        assert r.status_code == 200 and r.json()["answer"] == "Moscow"
        added = httpx.post(
            f"{base}/documents",
            timeout=60,
            json={
                "title": "Kites",
                "text": "The Zorblax kite festival is held every spring in Tartu.",
            },
        )
        assert added.status_code == 201
    finally:
        log = _stop(proc)
    assert "indexing" in log, "first start shows the indexing progress bar"

    proc = _start(env, port)
    try:
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["documents"] == 4
        r = httpx.post(
            f"{base}/ask", json={"question": "Where is the Zorblax kite festival held?"}, timeout=60
        )
        assert r.json()["answer"] == "Tartu"
    finally:
        log = _stop(proc)
    assert "indexing" not in log, "the second start reuses the index"
