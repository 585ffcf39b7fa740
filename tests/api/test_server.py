"""A real uvicorn process started by `rag serve`, talked to over real HTTP."""

import contextlib
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest

from benchmarks.server import Server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[Server]:
    """One server, with few in-flight slots and a short body timeout, for the tests that
    only read: they stall and flood it, and check that it keeps answering."""
    env = {"RAG_MAX_IN_FLIGHT": "8", "RAG_BODY_TIMEOUT": "2"}
    server = Server.seeded(tmp_path_factory.mktemp("guarded"), env).start()
    yield server
    server.stop()


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


def _stalled(server: Server, path: str, declared: int = 100) -> socket.socket:
    """A connection that sends the headers and three bytes of its body, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"q')
    return sock


def test_stalled_bodies_cannot_keep_questions_out(guarded):
    server = guarded
    stalled = []
    try:
        # more stalled questions than slots, and stalled uploads
        stalled += [_stalled(server, "/ask") for _ in range(40)]
        stalled += [_stalled(server, "/documents") for _ in range(8)]
        time.sleep(0.5)
        t0 = time.perf_counter()
        r = httpx.post(
            f"{server.base}/ask", json={"question": "Where was Kim invited?"}, timeout=30
        )
        assert r.status_code == 200 and r.json()["answer"] == "Moscow"
        assert time.perf_counter() - t0 < 5
        # a stalled body is answered 408 once it has been silent for RAG_BODY_TIMEOUT
        stalled[0].settimeout(10)
        assert stalled[0].recv(200).startswith(b"HTTP/1.1 408")
        stalled[40].settimeout(10)
        assert stalled[40].recv(200).startswith(b"HTTP/1.1 408")
        # writes may hold half of the slots: past that, a stalled upload is refused at once
        stalled[-1].settimeout(10)
        assert stalled[-1].recv(200).startswith(b"HTTP/1.1 503")
    finally:
        for sock in stalled:
            sock.close()


def test_sigterm_leaves_every_document_in_the_database_file(tmp_path):
    server = Server.seeded(tmp_path, {"RAG_VECTOR_FLUSH_SECONDS": "3600"}).start()
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
    server = Server.seeded(tmp_path).start()
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


def test_oversized_or_stalled_request_heads_are_refused(guarded):
    server = guarded
    sockets: list[socket.socket] = []

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.settimeout(10)
        sockets.append(sock)
        return sock

    try:
        huge = connect()
        head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000
        with contextlib.suppress(OSError):  # the server may close before all of it is sent
            huge.sendall(head)
        assert huge.recv(200).startswith(b"HTTP/1.1 431")
        half = connect()
        half.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.perf_counter()
        assert half.recv(200).startswith(b"HTTP/1.1 408")
        assert 1.5 < time.perf_counter() - t0 < 8
        silent = connect()
        assert silent.recv(10) == b"", "a connection that never sends is closed"
        r = httpx.get(f"{server.base}/health", timeout=10)
        assert r.status_code == 200, "ordinary requests are unaffected"
    finally:
        for sock in sockets:
            sock.close()
