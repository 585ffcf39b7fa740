"""Where a request comes from, for the rules that hold while no scoped key exists: a
loopback client, the service's own pages, the bearer of ``RAG_API_KEY``."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from fastapi import status
from pydantic import SecretStr


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


def bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def is_api_key(token: str | None, key: SecretStr | None) -> bool:
    """Compared in constant time, so that the key's length and prefix do not leak."""
    if token is None or key is None:
        return False
    return hmac.compare_digest(token.encode(), key.get_secret_value().encode())


def write_refusal(
    key: SecretStr | None, client: str | None, headers: Mapping[str, str]
) -> tuple[int, str] | None:
    """The rule for writes when the key ring is empty: why one is refused (status,
    message), or None when it is allowed. With ``RAG_API_KEY``, its bearer; with no key
    set, a loopback client, and from a browser only this service's own pages."""
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
    if not is_api_key(bearer_token(headers), key):
        return (
            status.HTTP_401_UNAUTHORIZED,
            "a valid 'Authorization: Bearer <key>' header is required for writes",
        )
    return None
