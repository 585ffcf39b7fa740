"""A real uvicorn process started by `rag serve`, talked to over real HTTP."""

import httpx
import pytest

from tests.server import Server

pytestmark = pytest.mark.slow


def test_serve_builds_index_on_first_start_and_keeps_it_across_restarts(tmp_path):
    server = Server.seeded(tmp_path).start()
    try:
        r = httpx.post(
            f"{server.base}/ask", json={"question": "Where was Kim invited?"}, timeout=60
        )
        assert r.status_code == 200 and r.json()["answer"] == "Moscow"
        added = httpx.post(
            f"{server.base}/documents",
            timeout=60,
            json={"title": "Kites", "text": "The Zorblax kite festival is held in Tartu."},
        )
        assert added.status_code == 201
    finally:
        log = server.stop()
    assert "indexing" in log, "first start shows the indexing progress bar"

    again = Server(tmp_path / "docs", tmp_path / "index").start()
    try:
        health = httpx.get(f"{again.base}/health", timeout=10).json()
        assert health["documents"] == 4
        r = httpx.post(
            f"{again.base}/ask",
            timeout=60,
            json={"question": "Where is the Zorblax kite festival held?"},
        )
        assert r.json()["answer"].startswith("Tartu")
    finally:
        log = again.stop()
    assert "indexing" not in log, "the second start reuses the index"
