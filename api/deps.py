"""FastAPI dependencies: the loaded pipeline and write access."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from rag.service.pipeline import Pipeline


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def same_origin(headers: Mapping[str, str]) -> bool:
    """Whether a browser sent the request from this service's own pages (or no browser
    sent it: curl and scripts send neither header). Without a key, a page on another
    origin, even another port of localhost, must not write: a no-cors form POST
    reaches the server although the page cannot read the answer."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower())


_bearer = HTTPBearer(
    auto_error=False,
    description="RAG_API_KEY, when the server has one; without a key, writes are accepted "
    "from this machine's own pages and tools only.",
)


def write_refusal(
    key: SecretStr | None, client: str | None, headers: Mapping[str, str]
) -> tuple[int, str] | None:
    """Why a write is refused (status, message), or None when it is allowed: with a key,
    ``Authorization: Bearer <RAG_API_KEY>``; with no key set, a loopback client, and from
    a browser only this service's own pages. Shared by the REST API and the MCP tools.

    The key is compared in constant time so that its length and prefix do not leak.
    """
    if key is None:
        if not is_loopback(client):
            return (
                status.HTTP_403_FORBIDDEN,
                "writes are only accepted from this machine unless RAG_API_KEY is set",
            )
        if not same_origin(headers):
            return (
                status.HTTP_403_FORBIDDEN,
                "cross-site writes are refused; set RAG_API_KEY to write from other origins",
            )
        return None
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), key.get_secret_value().encode()
    ):
        return (
            status.HTTP_401_UNAUTHORIZED,
            "a valid 'Authorization: Bearer <key>' header is required for writes",
        )
    return None


def require_write_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> None:
    """See :func:`write_refusal` (``credentials`` puts the scheme in the OpenAPI)."""
    refusal = write_refusal(
        request.app.state.pipeline.settings.api_key,
        request.client.host if request.client else None,
        request.headers,
    )
    if refusal is not None:
        code, message = refusal
        extra = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(code, message, headers=extra)


WriteAccess = Depends(require_write_access)
