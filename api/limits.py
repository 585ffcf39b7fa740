"""Protections that keep the service answering: body size, in-flight requests, time.

These are plain ASGI middlewares so that they act before FastAPI reads a body:
an oversized upload is refused by its ``Content-Length`` or, for a chunked body,
as soon as the bytes received pass the limit, never after buffering it all.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _send_json(send: Send, status: int, detail: str, headers: dict | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class _Stalled(Exception):
    pass


class BodySizeLimit:
    """413 for request bodies over ``max_bytes``, checked while the body streams in."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        """``per_path``: smaller limits for some paths (``/ask`` takes a question, not a file)."""
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope.get("path", ""), self.max_bytes)
        message = f"the request body is larger than {limit} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _send_json(send, 413, message)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, message)


class InFlightLimit:
    """503 with ``Retry-After`` when more than ``max_in_flight`` requests are being served.

    A flood of requests then costs the service a short refusal each, instead of
    a growing queue of threads that all time out together.
    """

    EXEMPT = ("/health",)

    def __init__(self, app: ASGIApp, max_in_flight: int, retry_after: int = 1) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await _send_json(
                send,
                503,
                "the service is busy; retry shortly",
                {"retry-after": str(self.retry_after)},
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyTimeout:
    """408 when a request body stalls for ``seconds``: the request is dropped and its slot
    freed, so that clients which send a few bytes and stop cannot hold the service."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def timed_receive() -> Message:
            try:
                return await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                raise _Stalled from None

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except _Stalled:
            if not started:
                message = f"the request body stalled for {self.seconds:g} s"
                await _send_json(send, 408, message, {"connection": "close"})


class AllowHeader:
    """A 405's ``Allow`` lists every method of the path, not only those of the first route
    that matched it (``/documents/{id}`` is served by a GET and a DELETE route)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(msg: Message) -> None:
            if msg["type"] == "http.response.start" and msg["status"] == 405:
                methods = _methods(scope)
                if methods:
                    headers = [(k, v) for k, v in msg.get("headers", []) if k != b"allow"]
                    msg = {**msg, "headers": [*headers, (b"allow", ", ".join(methods).encode())]}
            await send(msg)

        await self.app(scope, receive, send_with_allow)


def _methods(scope: Scope) -> list[str]:
    from starlette.routing import Match

    found: set[str] = set()
    for route in scope["app"].router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        methods = getattr(route, "methods", None)
        if match != Match.NONE and methods:
            found |= set(methods)
    return sorted(found)
