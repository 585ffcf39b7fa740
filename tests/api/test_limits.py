"""The ASGI guards of api/limits.py, driven directly with a small ASGI app."""

from __future__ import annotations

import asyncio
import json

from api.bodies import BodyTimeout
from api.limits import InFlightLimit, mcp_writes


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "headers": []}


def test_questions_cannot_starve_writes_nor_writes_questions():
    async def scenario() -> list[int]:
        release = asyncio.Event()

        async def app(scope, receive, send):
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        guard = InFlightLimit(app, max_in_flight=16)
        statuses: list[int] = []

        async def call(method: str, path: str) -> None:
            async def send(msg):
                if msg["type"] == "http.response.start":
                    statuses.append((path, msg["status"]))

            async def receive():
                return {"type": "http.request", "body": b""}

            await guard(_scope(method, path), receive, send)

        questions = [asyncio.create_task(call("POST", "/ask")) for _ in range(20)]
        await asyncio.sleep(0.01)
        write = asyncio.create_task(call("POST", "/documents"))
        uploads = [asyncio.create_task(call("POST", "/documents/files")) for _ in range(10)]
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*questions, write, *uploads)
        return statuses

    statuses = asyncio.run(scenario())
    asked = [s for p, s in statuses if p == "/ask"]
    assert asked.count(200) == 14 and asked.count(503) == 6, "reads leave 2 of 16 slots"
    assert ("/documents", 200) in statuses, "a write gets through a flood of questions"
    uploads = [s for p, s in statuses if p == "/documents/files"]
    assert uploads.count(200) == 1, "the two write slots: one taken, one left"


def _mcp(tool: str) -> bytes:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool}}
    return json.dumps(call).encode()


def test_mcp_calls_count_as_the_reads_or_writes_they_are():
    """MCP `ask` and `search` were counted against the write slots (40 concurrent asks:
    24 refused); the body, read ahead, now says which tool is called."""

    async def scenario() -> list[tuple[str, int]]:
        release = asyncio.Event()

        async def app(scope, receive, send):
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        guard = BodyTimeout(InFlightLimit(app, max_in_flight=16), 5, buffered={"/mcp": 10_000})
        statuses: list[tuple[str, int]] = []

        async def call(body: bytes, label: str) -> None:
            sent = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive():
                return sent.pop() if sent else await asyncio.Event().wait()

            async def send(msg):
                if msg["type"] == "http.response.start":
                    statuses.append((label, msg["status"]))

            await guard(_scope("POST", "/mcp"), receive, send)

        asks = [asyncio.create_task(call(_mcp("ask"), "ask")) for _ in range(20)]
        await asyncio.sleep(0.01)
        adds = [asyncio.create_task(call(_mcp("add_document"), "add")) for _ in range(3)]
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*asks, *adds)
        return statuses

    statuses = asyncio.run(scenario())
    asked = [s for label, s in statuses if label == "ask"]
    assert asked.count(200) == 14 and asked.count(503) == 6, "MCP reads get the read slots"
    added = [s for label, s in statuses if label == "add"]
    assert added.count(200) == 2 and added.count(503) == 1, "MCP writes get the write slots"
    assert not mcp_writes(b"not json") and mcp_writes(b"[" + _mcp("add_document") + b"]")
