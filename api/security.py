"""Security headers on every response; a strict Content-Security-Policy for the pages.

The chat page and the document view (``api/static``) load nothing but their own files:
no inline script or style, no third-party origin. FastAPI's ``/docs`` and ``/redoc``
pages load Swagger UI / ReDoc from a CDN and use inline script, so they are left
without a CSP (they still get the other headers).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
