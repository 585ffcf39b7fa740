"""Who is calling (api/access.py): the three regimes, decided from a real keys file, the
client's address and the headers; and the scope every route declares."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import SecretStr

from api.access import (
    UNAUTHORIZED,
    AccessDenied,
    Caller,
    Requires,
    declared_scope,
    denial,
    resolve_caller,
    undeclared_routes,
)
from api.app import create_app
from rag.core.settings import Settings
from rag.service.keys import KeyRing

LOCAL, REMOTE = "127.0.0.1", "203.0.113.9"
API_KEY = SecretStr("s3cret")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_without_any_key_reads_are_open_and_writes_local(tmp_path):
    ring = KeyRing(tmp_path / "keys.sqlite3")
    local = resolve_caller(ring, None, LOCAL, {})
    assert local == Caller("admin", None, None), "a local user may make the first key"
    remote = resolve_caller(ring, None, REMOTE, {})
    assert remote.scope == "read" and remote.collections is None and remote.can_read("any")
    assert denial(remote, "write").status == 403
    cross = resolve_caller(ring, None, LOCAL, {"sec-fetch-site": "cross-site"})
    assert cross.scope == "read" and "cross-site" in denial(cross, "write").message
    assert denial(remote, "admin", open_without_keys=True) is None, "/metrics stays open"


def test_with_rag_api_key_only_reads_are_open_and_its_bearer_is_admin(tmp_path):
    ring = KeyRing(tmp_path / "keys.sqlite3")
    anonymous = resolve_caller(ring, API_KEY, LOCAL, {})
    assert anonymous.scope == "read" and denial(anonymous, "write").status == 401
    assert resolve_caller(ring, API_KEY, REMOTE, bearer("nope")).scope == "read"
    assert resolve_caller(ring, API_KEY, REMOTE, bearer("s3cret")) == Caller("admin", None, None)


def test_once_a_key_exists_every_caller_needs_one(tmp_path):
    ring = KeyRing(tmp_path / "keys.sqlite3")
    info, key = ring.create("read", "hr,legal")
    wrong = key[:-3] + ("xyz" if not key.endswith("xyz") else "abc")
    unknown = f"rag_{'f' * 12}_{key[17:]}"
    refusals = []
    for headers in ({}, bearer(wrong), bearer(unknown), {"authorization": key}):
        with pytest.raises(AccessDenied) as refused:
            resolve_caller(ring, None, LOCAL, headers)
        refusals.append((refused.value.status, refused.value.message))
    assert set(refusals) == {(401, UNAUTHORIZED)}, "the same answer: no id is confirmed"
    assert refused.value.headers() == {"WWW-Authenticate": "Bearer"}
    caller = resolve_caller(ring, API_KEY, REMOTE, bearer(key))
    assert caller == Caller("read", frozenset({"hr", "legal"}), info.id)
    assert resolve_caller(ring, API_KEY, REMOTE, bearer("s3cret")).is_admin
    assert denial(caller, "write").status == 403 and denial(caller, "read") is None
    assert denial(caller, "admin", open_without_keys=True).status == 403, "/metrics closes"
    other, _ = ring.create("admin", "*")
    ring.revoke(info.id)
    with pytest.raises(AccessDenied, match=UNAUTHORIZED):
        resolve_caller(ring, None, LOCAL, bearer(key))
    ring.revoke(other.id)
    assert resolve_caller(ring, None, LOCAL, bearer(key)).is_admin, "no key left: as before"


def test_what_a_caller_may_do():
    reader = Caller("read", frozenset({"hr"}), "0" * 12)
    writer = Caller("write", frozenset({"hr", "legal"}), "1" * 12)
    admin = Caller("admin", None, None)
    assert reader.can_read("hr") and not reader.can_read("legal") and not reader.can_write("hr")
    assert writer.can_write("legal") and not writer.can_write("finance")
    assert admin.can_write("anything") and admin.is_admin and not writer.is_admin
    assert writer.covers(["hr"]) and not writer.covers(None) and admin.covers(None)


def test_every_route_declares_its_scope(tmp_path):
    app = create_app(Settings(index_dir=tmp_path / "index", docs_dir=tmp_path))
    scopes = {
        (context.path, method): declared_scope(context)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods
    }
    assert scopes[("/health", "GET")] == scopes[("/", "GET")] == "public"
    assert scopes[("/documents/{doc_id}/view", "GET")] == "public"
    assert scopes[("/keys", "GET")] == scopes[("/keys", "POST")] == "admin"
    assert scopes[("/keys/{key_id}", "DELETE")] == scopes[("/metrics", "GET")] == "admin"
    assert scopes[("/documents", "POST")] == scopes[("/documents/{doc_id}", "DELETE")] == "write"
    assert scopes[("/documents/files", "POST")] == "write"
    # a job is seen only by keys that could write there (issue 38, item 4)
    assert scopes[("/jobs", "GET")] == scopes[("/jobs/{job_id}", "GET")] == "write"
    assert scopes[("/jobs/{job_id}", "DELETE")] == "write"


def test_a_route_without_a_declared_scope_is_found():
    router = APIRouter()
    router.add_api_route("/open", lambda: None, methods=["GET"])
    router.add_api_route("/kept", lambda: None, methods=["GET"], dependencies=[Requires("read")])
    app = FastAPI()
    app.include_router(router)
    assert [r.path for r in undeclared_routes(app.routes)] == ["/open"]
    with pytest.raises(ValueError, match="unknown scope"):
        Requires("root")
