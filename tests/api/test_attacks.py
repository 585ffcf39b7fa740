"""Issue 32's attacks on a real ``rag serve`` (``python -m benchmarks attack``, shortened):
each is refused or served within its limit, and ``/ask`` answers within 1 s throughout.

The server has a key, 8 slots (4 for writes), 2 s of grace for a body and a 1 s rate
window, so that an attack is over in seconds; stalled bodies and request heads are
tried on it too.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from benchmarks import attacks
from benchmarks.server import Server

pytestmark = pytest.mark.server

MULTIPART = attacks.MULTIPART


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    env = {"RAG_MAX_IN_FLIGHT": "8", "RAG_BODY_TIMEOUT": "2", "RAG_BODY_RATE_WINDOW": "1"}
    with attacks.attacked_server(tmp_path_factory.mktemp("attacked"), env) as s:
        yield s


def _asked_within_a_second(report: dict) -> None:
    """Every question answered, the median within 1 s and none held for the 2 s of grace an
    attacker gets (``python -m benchmarks attack`` reports the slowest against 1 s on a quiet
    machine; here, beside other test workers, one question in a few took just over 1 s).
    On a machine so loaded that a question without attack took over half a second, twice
    the slowest then."""
    ask = report["ask"]
    assert ask["calls"] >= 1 and ask["statuses"] == {200: ask["calls"]}, ask
    slow = 2 * report["baseline"]["max_s"]
    assert ask["p50_s"] < max(1.0, slow), report
    assert ask["max_s"] < max(2.0, slow), report


@pytest.mark.parametrize(
    ("path", "headers", "answers"),
    [
        # the 4 that got a write slot are dropped at the first judgement, after 2 s of
        # grace; the others were refused at once
        ("/documents/files", MULTIPART, {"408": 4, "503": 12}),
        # read ahead before any slot is taken, within 2 s in all
        ("/mcp", attacks.MCP_HEADERS, {"408": 16}),
    ],
    ids=["files", "mcp"],
)
def test_bodies_trickling_a_byte_at_a_time_are_dropped(server, path, headers, answers):
    """16 authorised bodies sending a byte every 0.5 s (issue 32, item 4: they held every
    write slot for as long as they liked): those holding a slot get 408 once the grace is
    over, and writes get through again."""

    def attack() -> dict:
        return attacks.trickle(
            server.port,
            path,
            connections=16,
            every=0.5,
            seconds=8,
            headers={**headers, **attacks.AUTH},
        )

    report = attacks.under_attack(server.base, attack)
    assert report["attack"]["answers"] == answers, report
    assert report["attack"]["last_answer_s"] < 4, report
    _asked_within_a_second(report)
    with httpx.Client(base_url=server.base, timeout=60) as client:
        assert attacks.authorised_write(client) in (200, 201), "the write slots are free"


def test_writers_without_the_key_are_refused_before_they_hold_a_slot(server):
    """16 uploads without the key, stalled after their first byte, and 16 MCP
    add_document calls without it: refused at once, none holds a write slot, and every
    authorised write meanwhile succeeds."""

    def attack() -> dict:
        uploads = attacks.trickle(
            server.port, "/documents/files", connections=16, every=0.5, seconds=8, headers=MULTIPART
        )
        with httpx.Client(base_url=server.base, timeout=60) as client:
            adds = [attacks.mcp_call(client, "add_document", {"text": "x"}) for _ in range(16)]
        uploads["mcp_refused"] = sum("required" in r.text and r.status_code == 200 for r in adds)
        return uploads

    report = attacks.under_attack(server.base, attack, seconds=2)
    rounds = report["attack"]["rounds"]
    assert report["attack"]["answers"] == {"401": 16 * rounds}, report
    assert report["attack"]["last_answer_s"] < 1, report
    assert report["attack"]["mcp_refused"] == 16 * rounds, report
    _asked_within_a_second(report)
    writes = report["writes"]
    assert set(writes["statuses"]) <= {200, 201}, writes


def test_event_streams_and_mcp_questions_take_no_write_slot(server):
    """30 GET /mcp event streams (item 3) are 405 at once; 7 MCP questions at once fit
    the read slots (item 5: they were counted against the 4 write slots)."""
    report = attacks.under_attack(
        server.base, lambda: attacks.streams(server.port, connections=30, seconds=8), seconds=1.5
    )
    assert report["attack"]["answers"] == {"405": 30 * report["attack"]["rounds"]}, report
    assert report["attack"]["last_answer_s"] < 1, report
    _asked_within_a_second(report)
    asked = attacks.mcp_asks(server.base, concurrent=7)
    assert asked["statuses"] == {200: 7}, asked


def test_an_unbroken_word_is_cut_and_answers_citing_it_stay_small(server):
    """Item 6: an unbroken word of 2.1 MB was one passage, and every /ask citing it an
    8.4 MB body; a file name with a NUL byte was stored as sent. (60 kB here: the same
    cut, indexed in seconds.)"""
    report = attacks.giant_word(server.base, characters=60_000)
    assert report["upload_status"] == 201 and report["stored_name"] == "giant.txt"
    assert report["longest_passage"] <= 2_000
    assert report["ask_status"] == 200 and report["ask_bytes"] < 300_000, report


def _stalled(server: Server, path: str, declared: int = 100) -> socket.socket:
    """A connection that sends the headers (with the key) and three bytes of its body,
    then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {attacks.KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"q')
    return sock


def test_stalled_bodies_cannot_keep_questions_out(server):
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


def test_oversized_or_stalled_request_heads_are_refused(server):
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
