"""``python -m benchmarks attack``: issue 32's outside test (items 3-6) against a real server.

Each attack runs while one client asks a question back to back and another tries an
authorised write every second: the figures are how the attackers were answered, and
how slow the slowest question and the legitimate writes were meanwhile. The tests in
``tests/api/test_attacks.py`` run the same attacks, shorter, against a server with short
timeouts; this command runs them as the outside test did (16 connections, a byte every
4 s, default settings).
"""

from __future__ import annotations

import collections
import json
import select
import socket
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import httpx

from benchmarks.server import Server

#: The key of the servers under attack: writes need it, attackers may or may not have it.
KEY = "attack-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUESTION = "Where was Kim invited?"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class Prober:
    """A thread calling ``call`` (which returns a status) every ``every`` seconds, or back
    to back: what it got and how long each call took."""

    def __init__(self, call: Callable[[httpx.Client], int], base: str, every: float = 0.0):
        self.call, self.base, self.every = call, base, every
        self.results: list[tuple[float, int, float]] = []  # (started at, status, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t0 = time.perf_counter()
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                status = self.call(client)
                self.results.append((started - t0, status, time.perf_counter() - started))
                self._stop.wait(self.every)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        statuses = collections.Counter(status for _, status, _ in self.results)
        times = [s for _, _, s in self.results]
        return {
            "calls": len(self.results),
            "statuses": dict(statuses),
            "p50_s": round(statistics.median(times), 3) if times else 0.0,
            "max_s": round(max(times, default=0.0), 3),
        }


def ask(client: httpx.Client) -> int:
    return client.post("/ask", json={"question": QUESTION}).status_code


def authorised_write(client: httpx.Client) -> int:
    text = f"Probe written at {time.time_ns()} about the Velmor mill."
    return client.post("/documents", json={"text": text}, headers=AUTH).status_code


def open_body(
    port: int, method: str, path: str, headers: dict, declared: int, first: bytes = b"x"
) -> socket.socket:
    """A connection that sends a request head announcing ``declared`` body bytes, and
    the ``first`` of them."""
    sock = socket.create_connection(("127.0.0.1", port))
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in {**headers, "Content-Length": str(declared)}.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (first if declared else b""))
    return sock


#: The start of an upload's multipart body: the file's content follows, a byte at a time.
MULTIPART_START = (
    b'--x\r\nContent-Disposition: form-data; name="files"; filename="slow.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
)
MULTIPART = {"Content-Type": "multipart/form-data; boundary=x"}


def trickle(
    port: int, path: str, *, connections: int, every: float, seconds: float, headers: dict
) -> dict:
    """``connections`` bodies of 1 MB sent one byte every ``every`` seconds for at most
    ``seconds``: how each was answered (status, or "closed") and when. A multipart body
    starts as a file upload does, so that the server reads it."""
    first = MULTIPART_START if "multipart" in headers.get("Content-Type", "") else b"{"
    socks = [open_body(port, "POST", path, headers, 1_000_000, first) for _ in range(connections)]
    return _watch(socks, every, seconds)


def streams(port: int, *, connections: int, seconds: float) -> dict:
    """``connections`` GET /mcp asking for an event stream (item 3)."""
    headers = {"Accept": "text/event-stream"}
    socks = [open_body(port, "GET", "/mcp", headers, 0) for _ in range(connections)]
    return _watch(socks, seconds, seconds)


def _watch(socks: list[socket.socket], every: float, seconds: float) -> dict:
    t0 = time.perf_counter()
    answered: dict[int, tuple[Any, float]] = {}
    next_byte = t0 + every
    try:
        while len(answered) < len(socks) and time.perf_counter() - t0 < seconds:
            waiting = [s for i, s in enumerate(socks) if i not in answered]
            timeout = max(0.0, min(next_byte, t0 + seconds) - time.perf_counter())
            readable, _, _ = select.select(waiting, [], [], timeout)
            for sock in readable:
                line = sock.recv(64)
                status = int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else "closed"
                answered[socks.index(sock)] = (status, time.perf_counter() - t0)
            if time.perf_counter() >= next_byte:
                next_byte += every
                for sock in (s for i, s in enumerate(socks) if i not in answered):
                    try:
                        sock.sendall(b"x")
                    except OSError:
                        answered[socks.index(sock)] = ("closed", time.perf_counter() - t0)
    finally:
        for sock in socks:
            sock.close()
    statuses = collections.Counter(str(status) for status, _ in answered.values())
    return {
        "connections": len(socks),
        "answers": dict(statuses),
        "unanswered": len(socks) - len(answered),
        "last_answer_s": round(max((t for _, t in answered.values()), default=0.0), 2),
    }


def under_attack(base: str, attack: Callable[[], dict], seconds: float = 0.0) -> dict:
    """``attack()``, again and again for ``seconds`` (an attack refused at once comes
    back), while a client asks back to back and another writes every second; first, a
    second of the same without attack (``baseline``: how slow the machine is anyway)."""
    with Prober(ask, base) as alone, Prober(authorised_write, base, every=1.0):
        time.sleep(1.0)
    rounds = []
    with Prober(ask, base) as asker, Prober(authorised_write, base, every=1.0) as writer:
        t0 = time.perf_counter()
        while not rounds or time.perf_counter() - t0 < seconds:
            if rounds:
                time.sleep(0.5)  # the attackers come back, without flooding
            rounds.append(attack())
    return {
        "attack": _merged(rounds),
        "ask": asker.summary(),
        "writes": writer.summary(),
        "baseline": alone.summary(),
    }


def _merged(rounds: list[dict]) -> dict:
    """Rounds of one attack as one: counts added, the latest answer kept."""
    merged: dict = {"rounds": len(rounds)}
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        if isinstance(values[0], dict):
            merged[key] = dict(sum((collections.Counter(v) for v in values), collections.Counter()))
        elif key == "last_answer_s":
            merged[key] = max(values)
        else:
            merged[key] = sum(values)
    return merged


def mcp_call(client: httpx.Client, tool: str, arguments: dict, headers: dict | None = None):
    """One MCP ``tools/call`` over HTTP: the response."""
    call = {"name": tool, "arguments": arguments}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}
    return client.post("/mcp", content=json.dumps(body), headers={**MCP_HEADERS, **(headers or {})})


def mcp_asks(base: str, concurrent: int = 40) -> dict:
    """``concurrent`` MCP ``ask`` calls at once (item 5): how many were refused."""
    results: list[int] = []

    def one() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            results.append(mcp_call(client, "ask", {"question": QUESTION}).status_code)

    threads = [threading.Thread(target=one) for _ in range(concurrent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"calls": concurrent, "statuses": dict(collections.Counter(results))}


@contextmanager
def attacked_server(workdir, env: dict | None = None):
    """A seeded server with a key (and ``env``), warmed by one question."""
    server = Server.seeded(workdir, {"RAG_API_KEY": KEY, **(env or {})}).start()
    try:
        httpx.post(f"{server.base}/ask", json={"question": QUESTION}, timeout=60)
        yield server
    finally:
        server.stop()


def giant_word(base: str, characters: int = 2_100_000) -> dict:
    """Item 6: a file named with a NUL byte holding an unbroken word of ``characters``,
    then a question citing it with 50 passages: the passages' length and the body's."""
    text = "Giant\n\nThe Velmor giant word follows " + "x" * characters + " and ends."
    # built by hand: httpx would percent-encode the NUL of the file name
    body = MULTIPART_START.replace(b"slow.txt", b"gi\x00ant.txt") + text.encode() + b"\r\n--x--\r\n"
    with httpx.Client(base_url=base, timeout=600, headers=AUTH) as client:
        up = client.post("/documents/files", content=body, headers=MULTIPART)
        question = {"question": "What follows the Velmor giant word?", "top_k": 50}
        asked = client.post("/ask", json=question)
    cited = asked.json().get("passages", []) if asked.status_code == 200 else []
    answers = asked.json().get("answers", []) if asked.status_code == 200 else []
    return {
        "characters": characters,
        "upload_status": up.status_code,
        "stored_name": (up.json().get("documents") or [{}])[0].get("file"),
        "ask_status": asked.status_code,
        "ask_bytes": len(asked.content),
        "longest_passage": max((len(p["text"]) for p in cited), default=0),
        "citations": len(cited) + sum(len(a["sources"]) for a in answers),
    }
