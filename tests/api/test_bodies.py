"""The body-rate rule of api/bodies.py, on a clock of its own and with a small ASGI app."""

from __future__ import annotations

import asyncio

from api.bodies import BodyRate, BodyTimeout
from api.limits import InFlightLimit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_body_must_bring_enough_bytes_in_every_window_after_the_grace():
    clock = Clock()
    rate = BodyRate(min_rate=100, window=5, grace=10, clock=clock)
    clock.now = 9.9
    assert rate.seconds_left() > 0, "nothing is judged during the grace period"
    rate.add(500)
    clock.now = 10
    assert rate.seconds_left() <= 0 and rate.judge(), "500 bytes: enough for a 5 s window"
    rate.add(499)  # a burst cannot buy the next window: 499 < 100 × 5
    clock.now = 15
    assert not rate.judge()


def test_a_silent_body_is_refused_even_with_no_minimum_rate():
    rate = BodyRate(min_rate=0, window=5, grace=10, clock=Clock())
    assert rate.need == 1 and not rate.judge()


def test_a_trickling_upload_gets_408_and_frees_its_slot():
    """One byte every 0.2 s, against 100 bytes/s judged every 0.3 s after 0.3 s: the
    upload is answered 408 within a window after the grace, and its slot is free again."""

    async def scenario() -> tuple[list[int], float, int]:
        async def app(scope, receive, send):
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect" or not msg.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        limit = InFlightLimit(app, max_in_flight=4)
        guard = BodyTimeout(limit, 0.3, min_rate=100, window=0.3)
        statuses: list[int] = []

        async def receive():
            await asyncio.sleep(0.2)
            return {"type": "http.request", "body": b"x", "more_body": True}

        async def send(msg):
            if msg["type"] == "http.response.start":
                statuses.append(msg["status"])

        scope = {"type": "http", "method": "POST", "path": "/documents/files", "headers": []}
        t0 = asyncio.get_running_loop().time()
        await guard(scope, receive, send)
        return statuses, asyncio.get_running_loop().time() - t0, limit.in_flight

    statuses, took, in_flight = asyncio.run(scenario())
    assert statuses == [408] and 0.3 <= took < 1.0 and in_flight == 0
