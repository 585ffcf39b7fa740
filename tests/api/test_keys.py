"""Keys with scopes over HTTP (FastAPI's TestClient over a real seeded index): /keys, every
route closed to keyless callers once a key exists, scopes, revocation and expiry seen on
the next request, RAG_API_KEY as admin, and the 401 given before any body is read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.access import UNAUTHORIZED
from api.app import create_app
from rag.service.keys import KeyRing
from rag.service.pipeline import Pipeline
from tests.api.seeded import seeded_settings
from tests.support.keys import holds_a_secret

pytestmark = pytest.mark.model

LOCAL, REMOTE = ("127.0.0.1", 40000), ("203.0.113.9", 1)
QUESTION = {"question": "Where was Kim invited?"}


@pytest.fixture(scope="module")
def pipeline(embedder, reader, tmp_path_factory) -> Iterator[Pipeline]:
    """One seeded SQLite index for the module; each test has a keys file of its own."""
    settings = seeded_settings(tmp_path_factory.mktemp("keys"))
    p = Pipeline(settings, reader=reader, embedder=embedder)
    p.load()
    assert p.ensure_index() == 3
    yield p
    p.close()


@pytest.fixture
def ring(pipeline, tmp_path) -> KeyRing:
    return KeyRing(tmp_path / "keys.sqlite3")


def client_of(pipeline: Pipeline, ring: KeyRing, client=LOCAL) -> TestClient:
    settings = pipeline.settings.model_copy(update={"keys_file": ring.path})
    return TestClient(create_app(settings, pipeline), client=client)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_local_user_makes_the_first_key_then_every_route_needs_one(pipeline, ring):
    with client_of(pipeline, ring, REMOTE) as remote:
        new = {"scope": "admin", "collections": "*"}
        assert remote.post("/keys", json=new).status_code == 403, "not from another machine"
    with client_of(pipeline, ring) as c:
        assert c.get("/documents").status_code == 200, "no key yet: reads are open"
        assert c.get("/health").json()["api_key_required"] is False
        made = c.post("/keys", json={"scope": "admin", "collections": "*", "name": "ops"})
        assert made.status_code == 201, made.text
        admin = made.json()["key"]
        assert made.json()["id"] in admin and made.json()["active"] is True
        for method, path, body in [
            ("GET", "/documents", None),
            ("POST", "/ask", QUESTION),
            ("GET", "/feedback", None),
            ("GET", "/keys", None),
            ("GET", "/metrics", None),
            ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            ("GET", "/no-such-route", None),
        ]:
            r = c.request(method, path, json=body)
            assert r.status_code == 401, (path, r.text)
            assert r.json()["detail"] == UNAUTHORIZED and r.headers["www-authenticate"] == "Bearer"
        for path in ("/health", "/", "/static/app.js", "/openapi.json", "/docs", "/redoc"):
            assert c.get(path).status_code == 200, path
        assert c.get("/documents/000_93ec320acb77f160/view").status_code == 200
        assert c.get("/health").json()["api_key_required"] is True
        listed = c.get("/keys", headers=auth(admin)).json()["keys"]
        assert [k["name"] for k in listed] == ["ops"] and "key" not in listed[0]
        assert c.get("/metrics", headers=auth(admin)).status_code == 200
        assert c.get("/documents", headers=auth(admin)).status_code == 200


def test_scopes_read_write_admin(pipeline, ring):
    _, admin = ring.create("admin", "*")
    with client_of(pipeline, ring) as c:
        read = c.post("/keys", json={"scope": "read", "collections": "*"}, headers=auth(admin))
        write = c.post(
            "/keys",
            json={"scope": "write", "collections": "*", "expires_days": 30},
            headers=auth(admin),
        )
        assert read.status_code == write.status_code == 201
        reader, writer = auth(read.json()["key"]), auth(write.json()["key"])
        assert write.json()["expires_at"] > write.json()["created_at"]
        assert c.post("/ask", json=QUESTION, headers=reader).json()["answer"] == "Moscow"
        assert c.get("/documents", headers=reader).status_code == 200
        text = {"title": "Kites", "text": "The Zorblax kite festival is held in Tartu."}
        for path, body, needs in (
            ("/documents", text, "write"),
            ("/keys", {"scope": "read", "collections": "*"}, "admin"),
        ):
            refused = c.post(path, json=body, headers=reader)
            assert refused.status_code == 403 and f"'{needs}'" in refused.json()["detail"]
        assert c.get("/metrics", headers=reader).status_code == 403
        assert c.get("/keys", headers=writer).status_code == 403
        added = c.post("/documents", json=text, headers=writer)
        assert added.status_code == 201, added.text
        doc_id = added.json()["doc_id"]
        assert c.delete(f"/documents/{doc_id}", headers=reader).status_code == 403
        assert c.delete(f"/documents/{doc_id}", headers=writer).status_code == 204
        bad = c.post("/keys", json={"scope": "read", "collections": ["HR"]}, headers=auth(admin))
        assert bad.status_code == 422


def test_a_revoked_or_expired_key_is_refused_on_the_next_request(pipeline, ring):
    _, admin = ring.create("admin", "*")
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    _, expired = KeyRing(ring.path, now=lambda: two_days_ago).create("read", "*", expires_days=1)
    with client_of(pipeline, ring) as c:
        made = c.post("/keys", json={"scope": "read", "collections": "*"}, headers=auth(admin))
        key_id, reader = made.json()["id"], auth(made.json()["key"])
        assert c.get("/documents", headers=reader).status_code == 200
        assert c.delete(f"/keys/{key_id}", headers=auth(admin)).status_code == 204
        refused = c.get("/documents", headers=reader)
        unknown = c.get("/documents", headers=auth(f"rag_{'a' * 12}_{made.json()['key'][17:]}"))
        wrong = c.get("/documents", headers=auth(made.json()["key"][:-4] + "AAAA"))
        assert refused.status_code == unknown.status_code == wrong.status_code == 401
        assert refused.json() == unknown.json() == wrong.json() == {"detail": UNAUTHORIZED}
        assert c.get("/documents", headers=auth(expired)).status_code == 401
        assert c.delete("/keys/0123456789ab", headers=auth(admin)).status_code == 404
        (listed,) = [
            k for k in c.get("/keys", headers=auth(admin)).json()["keys"] if k["id"] == key_id
        ]
        assert listed["revoked_at"] and not listed["active"]
        # the CLI revokes through the file, in another process: seen at once as well
        ring.revoke(next(k.id for k in ring.list() if k.scope == "admin"))
        assert c.get("/documents", headers=auth(admin)).status_code == 200, "no key left: open"


def test_rag_api_key_is_an_admin_on_every_collection(pipeline, ring):
    ring.create("read", "hr")
    plain = pipeline.settings
    pipeline.settings = plain.model_copy(update={"api_key": SecretStr("s3cret")})
    try:
        with client_of(pipeline, ring, REMOTE) as c:
            assert c.get("/documents").status_code == 401, "keys exist: reads need one too"
            assert c.get("/keys", headers=auth("s3cret")).status_code == 200
            made = c.post(
                "/keys", json={"scope": "write", "collections": "*"}, headers=auth("s3cret")
            )
            assert made.status_code == 201
            assert c.get("/metrics", headers=auth("s3cret")).status_code == 200
    finally:
        pipeline.settings = plain


def test_no_issued_key_is_in_the_index_folder(pipeline, ring):
    issued = [ring.create("admin", "*")[1]]
    with client_of(pipeline, ring) as c:
        for scope in ("read", "write"):
            made = c.post(
                "/keys",
                json={"scope": scope, "collections": ["hr", "legal"]},
                headers=auth(issued[0]),
            )
            issued.append(made.json()["key"])
    assert not holds_a_secret(ring.path.parent, issued)
    assert not holds_a_secret(pipeline.settings.index_dir, issued)


def test_a_keyless_request_is_refused_before_its_body_is_read(pipeline, ring):
    """The 401 (no valid key) and the 403 (a read key uploading) come before a byte of
    the body is asked for, and before an in-flight slot is taken."""
    _, reader = ring.create("read", "*")
    with client_of(pipeline, ring) as c:

        async def send_upload(headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
            reads = 0

            async def receive() -> dict:
                nonlocal reads
                reads += 1
                return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

            answered = []

            async def send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    answered.append(message["status"])

            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "POST", "scheme": "http", "path": "/documents/files",
                "raw_path": b"/documents/files", "query_string": b"", "root_path": "",
                "client": LOCAL, "server": ("testserver", 80),
                "headers": [(b"host", b"testserver"), (b"content-length", b"5000000"),
                            (b"content-type", b"multipart/form-data; boundary=x"), *headers],
            }  # fmt: skip
            await c.app(scope, receive, send)
            return answered[0], reads

        assert c.portal.call(send_upload, []) == (401, 0)
        assert c.portal.call(send_upload, [(b"authorization", f"Bearer {reader}".encode())]) == (
            403,
            0,
        )


def test_an_unreadable_keys_file_lets_no_one_in(pipeline, ring):
    ring.path.write_bytes(b"not a database" * 100)
    with client_of(pipeline, ring) as c:
        r = c.get("/documents")
        assert r.status_code == 500 and "keys file" in r.json()["detail"]
        assert c.get("/health").json()["api_key_required"] is True
