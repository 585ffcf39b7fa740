"""Security headers on every response; a strict Content-Security-Policy for the pages;
callers decided and refused before they hold anything (:class:`Authenticate`,
:class:`ScopeGuard`).

The chat page and the document view (``api/static``) load nothing but their own files:
no inline script or style, no third-party origin. FastAPI's ``/docs`` and ``/redoc``
pages load Swagger UI / ReDoc from a CDN and use inline script, so they are left
without a CSP (they still get the other headers).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import CALLER_KEY, AccessDenied, Caller, Requirement
from api.limits import WRITE_KEY, send_json
from rag.core.errors import StoreError

log = logging.getLogger("rag.api")

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


class Authenticate:
    """Decides who is calling (:func:`api.access.resolve_caller`), once per request and
    before any of its body is read, and leaves the caller in the scope for the routes.

    Once keys exist, a request for anything but a public path without a valid key is
    answered 401 here, before it is read ahead (``/ask``, ``/mcp``), takes a slot, or
    sends a byte of its upload: a keyless client holds nothing.
    """

    def __init__(
        self,
        app: ASGIApp,
        public: Callable[[str], bool],
        resolve: Callable[[str | None, Headers], Caller],
    ) -> None:
        """``public``: whether a path is served to anyone (the pages, /health, the API's
        docs); ``resolve``: the caller from the client's address and the headers (it reads
        the key ring and the server's key when the request comes)."""
        self.app = app
        self.public = public
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            caller = self.resolve(client[0] if client else None, Headers(scope=scope))
        except AccessDenied as denied:
            extra = {k.lower(): v for k, v in denied.headers().items()}
            await send_json(send, denied.status, denied.message, extra)
            return
        except StoreError as exc:  # fail closed: nobody is let in on an unreadable file
            log.error("%s", exc)
            await send_json(send, 500, "the keys file cannot be read; see the server log")
            return
        scope[CALLER_KEY] = caller
        await self.app(scope, receive, send)


class ScopeGuard:
    """Refuses a request whose route needs more than its caller's scope (writes, key
    management) *before* it takes an in-flight slot or any of its body is read.

    The routes' own check (:func:`api.access.Requires`) runs only once FastAPI has read
    the body, which a slow client sends as slowly as it likes: unauthenticated uploads
    trickling a byte every few seconds held every write slot (issue 32). This guard sits
    outside the slot limiter and applies the routes' own declarations to the caller
    :class:`Authenticate` decided. An MCP call read ahead as a write
    (:data:`api.limits.WRITE_KEY`) that would be refused is counted as a read instead:
    the tool refuses it at once, and it never holds a write slot.
    """

    def __init__(
        self, app: ASGIApp, routes: Iterable[tuple[re.Pattern, set[str], Requirement]]
    ) -> None:
        """``routes``: (path regex, methods, requirement) of the routes that need more
        than reading."""
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = scope.get(CALLER_KEY)
        requirement = self._requirement(scope) if caller is not None else None
        refused = requirement.denial(caller) if requirement is not None else None
        if refused is None:
            await self.app(scope, receive, send)
        elif WRITE_KEY in scope:  # an MCP write: the tool refuses it, as a read
            await self.app({**scope, WRITE_KEY: False}, receive, send)
        else:
            extra = {k.lower(): v for k, v in refused.headers().items()}
            await send_json(send, refused.status, refused.message, extra)

    def _requirement(self, scope: Scope) -> Requirement | None:
        if WRITE_KEY in scope:
            return _MCP_WRITE if scope[WRITE_KEY] else None
        path, method = scope.get("path", ""), scope.get("method", "")
        for rx, methods, requirement in self.routes:
            if method in methods and rx.match(path):
                return requirement
        return None


_MCP_WRITE = Requirement("write")
