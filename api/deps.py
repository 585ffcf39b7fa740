"""FastAPI dependencies: the loaded pipeline and write access."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from rag.pipeline import Pipeline


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


def require_write_access(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Writes need ``Authorization: Bearer <RAG_API_KEY>``; with no key set, a loopback client.

    The key is compared in constant time so that its length and prefix do not leak.
    """
    key = request.app.state.pipeline.settings.api_key
    if key is None:
        client = request.client.host if request.client else None
        if not is_loopback(client):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "writes are only accepted from this machine unless RAG_API_KEY is set",
            )
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), key.get_secret_value().encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid 'Authorization: Bearer <key>' header is required for writes",
            headers={"WWW-Authenticate": "Bearer"},
        )


WriteAccess = Depends(require_write_access)
