"""Security headers on every response; a strict Content-Security-Policy for the pages;
writes refused before they hold anything (:class:`WriteGuard`).

The chat page and the document view (``api/static``) load nothing but their own files:
no inline script or style, no third-party origin. FastAPI's ``/docs`` and ``/redoc``
pages load Swagger UI / ReDoc from a CDN and use inline script, so they are left
without a CSP (they still get the other headers).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pydantic import SecretStr
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import write_refusal
from api.limits import WRITE_KEY, send_json

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

CDN_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc")


class SecurityHeaders:
    """Adds ``COMMON_HEADERS`` to every HTTP response, and the CSP to all but ``exempt``."""

    def __init__(self, app: ASGIApp, exempt: Iterable[str] = CDN_PAGES) -> None:
        self.app = app
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = scope["path"] not in self.exempt

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON_HEADERS.items():
                    headers.setdefault(name, value)
                if strict:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WriteGuard:
    """Refuses writes without access (401/403) *before* they take an in-flight slot or
    any of their body is read.

    The routes' own check (:data:`api.deps.WriteAccess`) runs only once FastAPI has read
    the body, which a slow client sends as slowly as it likes: unauthenticated uploads
    trickling a byte every few seconds held every write slot (issue 32). This guard sits
    outside the slot limiter, on the routes that need write access, and applies the same
    rule (:func:`api.deps.write_refusal`). An MCP call read ahead as a write
    (:data:`api.limits.WRITE_KEY`) that would be refused is counted as a read instead:
    the tool refuses it at once, and it never holds a write slot.
    """

    def __init__(
        self,
        app: ASGIApp,
        routes: Iterable[tuple[re.Pattern, set[str]]],
        key_of: Callable[[], SecretStr | None],
    ) -> None:
        """``routes``: (path regex, methods) of the routes that need write access;
        ``key_of``: the server's key, read when a request comes (the pipeline's settings)."""
        self.app = app
        self.routes = list(routes)
        self.key_of = key_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guarded(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        refusal = write_refusal(self.key_of(), client[0] if client else None, Headers(scope=scope))
        if refusal is None:
            await self.app(scope, receive, send)
        elif WRITE_KEY in scope:  # an MCP write: the tool refuses it, as a read
            await self.app({**scope, WRITE_KEY: False}, receive, send)
        else:
            code, message = refusal
            extra = {"www-authenticate": "Bearer"} if code == 401 else {}
            await send_json(send, code, message, extra)

    def _guarded(self, scope: Scope) -> bool:
        if WRITE_KEY in scope:
            return scope[WRITE_KEY]
        path, method = scope.get("path", ""), scope.get("method", "")
        return any(method in methods and rx.match(path) for rx, methods in self.routes)
