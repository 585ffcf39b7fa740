"""A real uvicorn process started by `rag serve`, talked to over real HTTP."""

import shutil
import sqlite3

import httpx
import pytest

from benchmarks.server import Server

pytestmark = pytest.mark.server

#: For a server whose reading is not what is tested: the model-free reader, with which it
#: starts in half the time (the first start below runs as users do, packaged reader).
LEXICAL = {"RAG_READER_MODEL": "lexical"}


def test_serve_builds_index_on_first_start_and_keeps_it_across_restarts(tmp_path):
    server = Server.seeded(tmp_path).start()
    try:
        r = httpx.post(
            f"{server.base}/ask",
            json={"question": "Where was Kim invited?"},
            headers={"X-Request-ID": "trace-me-7"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["answer"] == "Moscow"
        missing = httpx.get(f"{server.base}/documents/nope", timeout=10)
        added = httpx.post(
            f"{server.base}/documents",
            timeout=60,
            json={"title": "Kites", "text": "The Zorblax kite festival is held in Tartu."},
        )
        assert added.status_code == 201
    finally:
        log = server.stop()
    assert "indexing" in log, "first start shows the indexing progress bar"
    # every access line names its request, the client's id or the one the server gave
    assert "[trace-me-7] 127.0.0.1" in log and '"POST /ask HTTP/1.1" 200' in log
    assert f"[{missing.headers['x-request-id']}]" in log
    assert server.proc.returncode == 0, "SIGTERM is a clean exit"

    # the index is what is kept: the restart reads with the model-free reader
    again = Server(tmp_path / "docs", tmp_path / "index", LEXICAL).start()
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


def test_sigterm_leaves_every_document_in_the_database_file(tmp_path):
    env = {"RAG_VECTOR_FLUSH_SECONDS": "3600", **LEXICAL}
    server = Server.seeded(tmp_path, env).start()
    try:
        added = httpx.post(
            f"{server.base}/documents",
            timeout=60,
            json={"title": "Kites", "text": "The Zorblax kite festival is held in Tartu."},
        )
        assert added.status_code == 201
    finally:
        server.stop()
    assert server.proc.returncode == 0
    alone = tmp_path / "copy"
    alone.mkdir()
    shutil.copy(tmp_path / "index" / "rag.sqlite3", alone / "rag.sqlite3")  # no WAL beside it
    db = sqlite3.connect(alone / "rag.sqlite3")
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 4
    generation = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    saved = (tmp_path / "index" / "vectors.faiss.generation").read_text().split()[-1]
    assert saved == generation, "the vector file was saved on shutdown"


def test_other_host_names_and_cross_site_writes_are_refused(tmp_path):
    server = Server.seeded(tmp_path, LEXICAL).start()
    try:
        rebinding = httpx.get(f"{server.base}/health", headers={"Host": "evil.example"})
        assert rebinding.status_code == 400
        assert httpx.get(f"{server.base}/health", headers={"Host": "localhost"}).status_code == 200
        doc = {"text": "Cross-site text about the Velmor mill."}
        other_port = httpx.post(
            f"{server.base}/documents", json=doc, headers={"Origin": "http://localhost:9"}
        )
        assert other_port.status_code == 403 and "cross-site" in other_port.json()["detail"]
        same = httpx.post(
            f"{server.base}/documents",
            json=doc,
            headers={"Origin": server.base, "Sec-Fetch-Site": "same-origin"},
            timeout=60,
        )
        assert same.status_code == 201
    finally:
        server.stop()
