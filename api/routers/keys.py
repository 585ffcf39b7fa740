"""/keys: list, make and revoke the scoped API keys; an admin's work (docs/security.md).

A key's secret is in the answer to ``POST /keys`` once and nowhere else: the server keeps
only a salted hash. An admin key limited to some collections sees and manages only keys
within them, so that it cannot hand out more than it holds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import status as http
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.access import Caller, CallerDep, Requires
from api.schemas import errors
from rag.service.keys import (
    COLLECTION_NAME,
    NAME,
    KeyInfo,
    KeyRing,
    KeyRingError,
    parse_collections,
)

router = APIRouter(prefix="/keys", tags=["keys"], dependencies=[Requires("admin")])

CollectionName = Annotated[str, Field(pattern=f"^{COLLECTION_NAME.pattern}$")]
Collections = list[CollectionName] | Literal["*"]


class NewKey(BaseModel):
    """A key to make."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["read", "write", "admin"] = Field(
        description="read: ask, search, list and read documents and feedback; write: also "
        "add and delete; admin: also manage keys and read /metrics."
    )
    collections: (
        Annotated[list[CollectionName], Field(min_length=1, max_length=1000)] | Literal["*"]
    ) = Field(description='The collections it may use, or "*" for every one, present and future.')
    expires_days: Annotated[int, Field(ge=1, le=36_500)] | None = Field(
        None, description="Days until it expires (default: never)."
    )
    name: Annotated[str, Field(max_length=100, pattern=f"^{NAME.pattern}$")] | None = Field(
        None, description="Whose or what it is for."
    )


class Key(BaseModel):
    """A key as listed: never its secret."""

    id: str
    name: str | None
    scope: str
    collections: Collections
    created_at: str = Field(description="ISO 8601, UTC.")
    expires_at: str | None
    revoked_at: str | None
    active: bool = Field(description="Neither revoked nor expired.")


class IssuedKey(Key):
    key: str = Field(description="The key, shown this once: `Authorization: Bearer <key>`.")


class KeyList(BaseModel):
    keys: list[Key]


def _ring(request: Request) -> KeyRing:
    return request.app.state.keyring


def _visible(info: KeyInfo, caller: Caller) -> bool:
    return caller.covers(info.collections)


@router.get("", response_model=KeyList, responses=errors(401, 403))
def list_keys(request: Request, caller: CallerDep) -> dict:
    """Every key the caller may manage, revoked and expired ones included, oldest first."""
    return {"keys": [k.as_dict() for k in _ring(request).list() if _visible(k, caller)]}


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    response_model=IssuedKey,
    responses=errors(401, 403, 413, 422),
)
async def create_key(body: NewKey, request: Request, caller: CallerDep) -> dict:
    """Make a key; the answer holds it, this once."""
    try:
        wanted = parse_collections(body.collections)
    except KeyRingError as exc:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if not caller.covers(wanted):
        raise HTTPException(
            http.HTTP_403_FORBIDDEN, "a key can only be made for collections of the caller's"
        )
    try:
        info, key = await run_in_threadpool(
            _ring(request).create, body.scope, wanted or "*", body.expires_days, body.name
        )
    except KeyRingError as exc:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {**info.as_dict(), "key": key}


@router.delete("/{key_id}", status_code=http.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404))
def revoke_key(key_id: str, request: Request, caller: CallerDep) -> Response:
    """Revoke a key: the next request that sends it is refused (401)."""
    ring = _ring(request)
    info = ring.get(key_id) if len(key_id) <= 64 else None
    if info is None or not _visible(info, caller) or not ring.revoke(key_id):
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"no key with id {key_id!r}")
    return Response(status_code=http.HTTP_204_NO_CONTENT)
