"""A real uvicorn process started by `rag serve`, talked to over real HTTP."""

import shutil

import httpx
import pytest

from tests import servers
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


def test_serve_builds_index_on_first_start_and_keeps_it_across_restarts(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    env = {"RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(tmp_path / "index")}
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    proc = servers.start(env, port)
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
        log = servers.stop(proc)
    assert "indexing" in log, "first start shows the indexing progress bar"

    proc = servers.start(env, port)
    try:
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["documents"] == 4
        r = httpx.post(
            f"{base}/ask", json={"question": "Where is the Zorblax kite festival held?"}, timeout=60
        )
        assert r.json()["answer"].startswith("Tartu")
    finally:
        log = servers.stop(proc)
    assert "indexing" not in log, "the second start reuses the index"
