"""Protections that keep the service answering: body size, in-flight requests (slots).

These are plain ASGI middlewares so that they act before FastAPI reads a body:
an oversized upload is refused by its ``Content-Length`` or, for a chunked body,
as soon as the bytes received pass the limit, never after buffering it all. How fast a
body must arrive is :mod:`api.bodies`; who may write, :mod:`api.security`.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def send_json(send: Send, status: int, detail: str, headers: dict | None = None) -> None:
    """Answer with the API's one error body (``{"detail": ...}``) from a middleware, where
    FastAPI's exception handlers do not reach."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


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
                await send_json(send, 413, message)
                return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    # answer 413 now; the app is told the client left (FastAPI would turn
                    # an exception while reading the body into a 400), and what it
                    # answers to that is not sent
                    refused = True
                    if not started:
                        await send_json(send, 413, message)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if refused:
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        await self.app(scope, limited_receive, guarded_send)


#: MCP tools that change the index; every other MCP call (ask, search, get_document,
#: tools/list, initialize) is a read.
MCP_WRITE_TOOLS = frozenset({"add_document"})
#: where :class:`api.bodies.BodyTimeout` leaves what a read-ahead body said about the request
WRITE_KEY = "rag.write"


def is_write(scope: Scope) -> bool:
    """Whether a request counts against the write slots: what its body said (MCP, read
    ahead), else its method (``/ask`` is a read sent by POST)."""
    if WRITE_KEY in scope:
        return scope[WRITE_KEY]
    return scope.get("method") not in InFlightLimit.READS and scope.get("path") != "/ask"


def mcp_writes(body: bytes) -> bool:
    """Whether an MCP JSON-RPC body (one message or a batch) calls a tool that writes.
    A body that is not JSON-RPC is a read: the MCP app refuses it cheaply."""
    try:
        message = json.loads(body)
    except ValueError:
        return False
    messages = message if isinstance(message, list) else [message]
    return any(
        isinstance(m, dict)
        and m.get("method") == "tools/call"
        and isinstance(m.get("params"), dict)
        and m["params"].get("name") in MCP_WRITE_TOOLS
        for m in messages
    )


class InFlightLimit:
    """503 with ``Retry-After`` when more than ``max_in_flight`` requests are being served.

    A flood of requests then costs the service a short refusal each, instead of a
    growing queue of threads that all time out together. Writes (uploads, deletes) may
    hold at most ``max_writes`` of the slots, so that slow or stalled uploads can never
    take them all from questions, and reads at most all but an eighth, so that a flood of
    questions cannot keep every write out.
    """

    EXEMPT = ("/health", "/metrics")
    READS = ("GET", "HEAD", "OPTIONS")

    def __init__(
        self, app: ASGIApp, max_in_flight: int, max_writes: int | None = None, retry_after: int = 1
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_writes = max_writes if max_writes is not None else max(1, max_in_flight // 2)
        # ... and reads leave an eighth of them to writes, which a flood of questions
        # would otherwise starve (1,073 refusals against 2 writes in an outside test)
        self.max_reads = max(1, max_in_flight - max_in_flight // 8)
        self.retry_after = retry_after
        self.in_flight = 0
        self.writes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        write = is_write(scope)
        full = (
            self.writes >= self.max_writes
            if write
            else self.in_flight - self.writes >= self.max_reads
        )
        if self.in_flight >= self.max_in_flight or full:
            await send_json(
                send,
                503,
                "the service is busy; retry shortly",
                {"retry-after": str(self.retry_after)},
            )
            return
        self.in_flight += 1
        self.writes += write
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.writes -= write


class AllowHeader:
    """A 405's ``Allow`` lists every method of the path, not only those of the first route
    that matched it (``/documents/{id}`` is served by a GET and a DELETE route)."""

    def __init__(self, app: ASGIApp, routes: list[tuple[str, re.Pattern, set[str]]]) -> None:
        """``routes``: (path template, its regex, methods) of every route of the app."""
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(msg: Message) -> None:
            if msg["type"] == "http.response.start" and msg["status"] == 405:
                methods = self.methods(scope.get("path", ""))
                if methods:
                    headers = [(k, v) for k, v in msg.get("headers", []) if k != b"allow"]
                    msg = {**msg, "headers": [*headers, (b"allow", ", ".join(methods).encode())]}
            await send(msg)

        await self.app(scope, receive, send_with_allow)

    def methods(self, path: str) -> list[str]:
        """The methods of the routes whose template matches ``path``; a template without
        parameters wins (``/documents/files`` is not the document "files")."""
        matching = [(template, ms) for template, rx, ms in self.routes if rx.match(path)]
        literal = [ms for template, ms in matching if "{" not in template]
        return sorted({m for ms in (literal or [ms for _, ms in matching]) for m in ms})
