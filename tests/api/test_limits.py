"""The ASGI guards of api/limits.py, driven directly with a small ASGI app."""

from __future__ import annotations

import asyncio

from api.limits import InFlightLimit


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
