"""The HTTP protocol of `rag serve`: uvicorn's httptools protocol with limits on what a
client may send before its request begins.

uvicorn has no limit on the size of the request line and headers, nor on the time a
client may take to send them: a 200 MB header line was buffered and answered, and a
connection that sends half a header holds its socket for ever. Here the head of a
request (request line and headers) may be at most ``max_head_bytes`` long (431
otherwise) and must arrive within ``head_timeout`` seconds of the connection or of the
previous response (408 otherwise); either way the connection is closed. Bodies are
limited in ``api/limits.py``.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT = 10.0


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that refuses oversized or stalled request heads."""

    max_head_bytes = MAX_HEAD_BYTES
    head_timeout = HEAD_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True
        self._refused = False
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        was_in_head = self._in_head
        super().data_received(data)
        if was_in_head and self._in_head:
            # the parser keeps a head in memory until it is complete: bound it
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(431, f"request line and headers over {self.max_head_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            # the next request's head has as long as the first one's
            self._in_head = True
            self._head_bytes = 0
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self._refused:
            return
        if self._head_bytes:
            self._refuse(408, f"the request headers stalled for {self.head_timeout:g} s")
        elif self.cycle is None:
            self.transport.close()  # a connection that never sent anything

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, status: int, detail: str) -> None:
        self._refused = True
        self._cancel_head_timer()
        body = json.dumps({"detail": detail}).encode()
        reason = {408: "Request Timeout", 431: "Request Header Fields Too Large"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


def protocol_class(head_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol with the server's head timeout (``RAG_BODY_TIMEOUT``)."""
    return type("RagHttpProtocol", (GuardedHttpToolsProtocol,), {"head_timeout": head_timeout})
