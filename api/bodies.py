"""How fast a request body must arrive: small bodies read ahead, large ones at a minimum rate.

A client that sends a body slowly holds whatever its request holds: a connection, and
for an upload an in-flight slot. "Not silent for 10 s" let a client keep a slot for as
long as it liked by sending a byte every few seconds (16 such uploads held every write
slot, issue 32). So a body that is still arriving must bring at least ``min_rate`` bytes
per second, judged over windows of ``window`` seconds after a grace period; the
offender is answered 408 and its slot freed. Small bodies (``/ask``, ``/mcp``) are read
whole before the request takes a slot at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import WRITE_KEY, InFlightLimit, mcp_writes, send_json


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


class BodyRate:
    """Whether a body is arriving fast enough: at ``grace`` seconds after it began, then
    every ``window`` seconds, the bytes received since the last judgement must reach
    ``min_rate × window`` (and at least one byte).

    Windows, not an average since the start: a client that sends a burst first cannot
    bank credit and then trickle for hours (an average would let 10 MB in the first
    second buy 10,000 s at 1 kB/s).
    """

    def __init__(
        self,
        min_rate: float,
        window: float,
        grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.need = max(1, int(min_rate * window))
        self.window = window
        self.clock = clock
        self.deadline = clock() + max(grace, window)
        self.received = 0

    def add(self, n: int) -> None:
        self.received += n

    def seconds_left(self) -> float:
        """Until the next judgement (0 or less: it is due)."""
        return self.deadline - self.clock()

    def judge(self) -> bool:
        """At a due judgement: True when the window brought enough (the next one starts),
        False when the body is too slow."""
        if self.received < self.need:
            return False
        self.received = 0
        self.deadline = self.clock() + self.window
        return True


class BodyTimeout:
    """Request bodies that stall or trickle are dropped (408), and small bodies are read
    before the request takes a slot.

    A body still arriving is judged by :class:`BodyRate` (``min_rate`` bytes per second
    over ``window`` seconds, after ``seconds`` of grace); when it is too slow, its request
    ends, which frees its slot. Bodies of the ``buffered`` paths (``/ask``: a question, a
    few kB at most; ``/mcp``) are read whole, within ``seconds`` in all, *before* the
    inner app (and its in-flight count) sees the request: clients that send a few bytes
    and stop hold no slot at all.
    """

    def __init__(
        self,
        app: ASGIApp,
        seconds: float,
        buffered: dict[str, int] | None = None,
        min_rate: float = 0.0,
        window: float = 5.0,
    ) -> None:
        """``buffered``: path → most bytes read ahead (more gets 413)."""
        self.app = app
        self.seconds = seconds
        self.buffered = buffered or {}
        self.min_rate = min_rate
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.buffered.get(scope.get("path", ""))
        if limit is not None and scope.get("method") not in InFlightLimit.READS:
            await self._read_ahead(scope, receive, send, limit)
            return
        rate = BodyRate(self.min_rate, self.window, self.seconds)
        slow = (
            f"the request body arrived slower than {self.min_rate:g} bytes/s "
            f"(judged every {self.window:g} s after {self.seconds:g} s)"
        )
        started = dropped = done = False

        async def rated_receive() -> Message:
            nonlocal dropped, done
            while not done:
                if rate.seconds_left() <= 0 and not rate.judge():
                    # answer 408 now; the app is told the client left, and whatever it
                    # answers to that is not sent
                    if not started and not dropped:
                        dropped = True
                        await send_json(send, 408, slow, {"connection": "close"})
                    return {"type": "http.disconnect"}
                try:
                    msg = await asyncio.wait_for(receive(), max(rate.seconds_left(), 0))
                except TimeoutError:
                    continue  # judged at the top of the loop
                rate.add(len(msg.get("body", b"")))
                done = msg["type"] != "http.request" or not msg.get("more_body", False)
                return msg
            return await receive()  # the body is in: only a disconnect can come

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if dropped:
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        await self.app(scope, rated_receive, guarded_send)

    async def _read_ahead(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """The whole body within ``seconds``, then the app; an MCP call is marked as the
        read or write it is (MCP reads count as reads, issue 32)."""
        try:
            body = await asyncio.wait_for(_read_body(receive, limit), self.seconds)
        except TimeoutError:
            stalled = f"the request body stalled for {self.seconds:g} s"
            await send_json(send, 408, stalled, {"connection": "close"})
            return
        except _TooLarge:
            await send_json(send, 413, f"the request body is larger than {limit} bytes")
            return
        except _Gone:  # the client went away
            return
        if scope.get("path") == "/mcp":
            scope = {**scope, WRITE_KEY: mcp_writes(body)}
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise _Gone
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not msg.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read ahead, then waits on the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
