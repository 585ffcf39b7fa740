"""Who is calling, decided once per request, and what each route asks of them.

Three regimes, by what the server holds (docs/security.md):

* no key at all: everyone reads every collection; a write is accepted from this machine's
  own pages and tools only (:func:`write_refusal`), and such a caller is an admin;
* ``RAG_API_KEY`` only: reads are open, the bearer of that key is an admin;
* once the key ring (:class:`rag.service.keys.KeyRing`) holds an active key, every route
  but the public ones needs ``Authorization: Bearer <key>`` (401 without a valid one),
  and a key may do what its scope allows on its collections (403 beyond it).
  ``RAG_API_KEY`` stays an admin on every collection.

A route declares what it needs with ``dependencies=[Requires("read")]`` (``"public"``,
``"read"``, ``"write"``, ``"admin"``); :func:`undeclared_routes` finds any that does not,
so that no route is left open by omission. The middlewares in :mod:`api.security` apply
the same declarations before any body is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from api.origins import bearer_token, is_api_key, write_refusal
from rag.service.keys import KeyRing

try:  # FastAPI 0.13x+ includes routers lazily: app.routes holds the included routers
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI: app.routes are the routes
    iter_route_contexts = None

#: What each scope may do includes what the ones below it may.
RANKS = {"public": 0, "read": 1, "write": 2, "admin": 3}
#: Where :class:`api.security.Authenticate` leaves the caller in the ASGI scope.
CALLER_KEY = "rag.caller"
#: The one answer to a missing, unknown, wrong, expired or revoked key: it never says
#: whether a key id exists.
UNAUTHORIZED = "a valid 'Authorization: Bearer <key>' header is required"

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A key from `rag keys create` or RAG_API_KEY. Without any key on the server, "
    "reads are open and writes are accepted from this machine's own pages and tools only.",
)


class AccessDenied(Exception):
    """A request refused: ``status`` 401 (no valid key) or 403 (not allowed)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status_code
        self.message = message

    def headers(self) -> dict[str, str]:
        """``WWW-Authenticate`` on a 401, as RFC 6750 asks."""
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}

    def http(self) -> HTTPException:
        return HTTPException(self.status, self.message, headers=self.headers() or None)


@dataclass(frozen=True)
class Caller:
    """Who is calling: a scope over some collections (None: every collection)."""

    scope: str  # "read" | "write" | "admin" ("public": nobody, on a public route)
    collections: frozenset[str] | None
    key_id: str | None  # None: RAG_API_KEY or anonymous
    #: for an anonymous caller held to reads, today's answer to a write: 401 when
    #: RAG_API_KEY is set, 403 from another machine or site (None for a key's bearer)
    refusal: tuple[int, str] | None = field(default=None, compare=False)

    def at_least(self, scope: str) -> bool:
        return RANKS[self.scope] >= RANKS[scope]

    def can_read(self, collection: str) -> bool:
        return self.at_least("read") and (
            self.collections is None or collection in self.collections
        )

    def can_write(self, collection: str) -> bool:
        """Write or admin scope, and the collection among the caller's."""
        return self.at_least("write") and self.can_read(collection)

    def covers(self, collections: Iterable[str] | None) -> bool:
        """Whether these collections (None: every one) are all the caller's: an admin
        limited to some collections manages only keys within them."""
        if self.collections is None:
            return True
        return collections is not None and set(collections) <= self.collections

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"


#: A caller with no access at all: a public route's visitor when keys are required.
NOBODY = Caller("public", frozenset(), None, refusal=(401, UNAUTHORIZED))


def resolve_caller(
    keyring: KeyRing | None,
    api_key: SecretStr | None,
    client_host: str | None,
    headers: Mapping[str, str],
) -> Caller:
    """Who sent a request with these headers, from ``client_host``; raises
    :class:`AccessDenied` (401) when keys are required and none valid was sent. Shared by
    the REST API (once per request) and the MCP tools."""
    token = bearer_token(headers)
    if is_api_key(token, api_key):
        return Caller("admin", None, None)
    info = keyring.verify(token) if keyring is not None and token is not None else None
    if info is not None:
        every = info.collections is None
        return Caller(info.scope, None if every else frozenset(info.collections), info.id)
    if keyring is not None and keyring.any_active():
        raise AccessDenied(status.HTTP_401_UNAUTHORIZED, UNAUTHORIZED)
    refusal = write_refusal(api_key, client_host, headers)
    return Caller("admin" if refusal is None else "read", None, None, refusal=refusal)


def denial(caller: Caller, scope: str, open_without_keys: bool = False) -> AccessDenied | None:
    """Why ``caller`` may not use a route that needs ``scope``, or None. An anonymous
    caller gets today's answer (401 or 403, :func:`write_refusal`); a key too weak, 403.
    ``open_without_keys``: the route is open to all until a key is made (``/metrics``):
    no caller is anonymous once one is."""
    if caller.at_least(scope) or (open_without_keys and caller.key_id is None):
        return None
    if caller.refusal is not None:
        return AccessDenied(*caller.refusal)
    return AccessDenied(
        status.HTTP_403_FORBIDDEN, f"this needs the {scope!r} scope; the key has {caller.scope!r}"
    )


def request_caller(request: Request) -> Caller:
    """The caller :class:`api.security.Authenticate` decided, else (a public route, which
    it lets by) decided here; a public route's visitor without a valid key is
    :data:`NOBODY`, never a 401."""
    caller = request.scope.get(CALLER_KEY)
    if caller is not None:
        return caller
    client = request.client.host if request.client else None
    settings = request.app.state.pipeline.settings
    try:
        caller = resolve_caller(
            request.app.state.keyring, settings.api_key, client, request.headers
        )
    except AccessDenied:
        caller = NOBODY
    request.scope[CALLER_KEY] = caller
    return caller


def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> Caller:
    """See :func:`request_caller` (``credentials`` puts the scheme in the OpenAPI)."""
    return request_caller(request)


CallerDep = Annotated[Caller, Depends(current_caller)]


class Requirement:
    """The dependency behind :func:`Requires`: refuses a caller below ``scope``."""

    def __init__(self, scope: str, open_without_keys: bool = False) -> None:
        if scope not in RANKS:
            raise ValueError(f"unknown scope {scope!r}: one of {', '.join(RANKS)}")
        self.scope = scope
        self.open_without_keys = open_without_keys

    def denial(self, caller: Caller) -> AccessDenied | None:
        return denial(caller, self.scope, self.open_without_keys)

    def __call__(self, caller: CallerDep) -> None:
        refused = self.denial(caller)
        if refused is not None:
            raise refused.http()


class _Public(Requirement):
    """``Requires("public")``: nothing to check, so no caller is looked up (``/health``
    is probed often and reads no keys file)."""

    def __call__(self) -> None:
        return None


def Requires(scope: str, open_without_keys: bool = False) -> DependsParam:
    """What a route needs, as ``dependencies=[Requires("write")]``: ``"public"``,
    ``"read"``, ``"write"`` or ``"admin"``. It refuses (401/403) a caller below it, and
    declares the route's scope (:func:`declared_scope`) for the guards and the check that
    every route has one. ``open_without_keys``: open to all while no key exists."""
    requirement = _Public(scope) if scope == "public" else Requirement(scope, open_without_keys)
    return Depends(requirement)


def requirement_of(route: APIRoute) -> Requirement | None:
    """The route's :func:`Requires`, its own or its router's (``route``: an APIRoute, or
    FastAPI's context of an included one, which has the same ``dependencies``)."""
    for dependency in route.dependencies:
        if isinstance(dependency.dependency, Requirement):
            return dependency.dependency
    return None


def declared_scope(route: APIRoute) -> str | None:
    """The scope a route declares with :func:`Requires`, or None."""
    requirement = requirement_of(route)
    return requirement.scope if requirement is not None else None


def undeclared_routes(routes: Iterable[object]) -> list[APIRoute]:
    """The API routes among ``routes`` (``app.routes``, included routers looked into)
    that declare no scope."""
    if iter_route_contexts is None:  # pragma: no cover - older FastAPI
        return [r for r in routes if isinstance(r, APIRoute) and declared_scope(r) is None]
    return [
        context.original_route
        for context in iter_route_contexts(list(routes))
        if isinstance(context.original_route, APIRoute) and declared_scope(context) is None
    ]
