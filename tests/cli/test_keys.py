"""`rag keys create`, `list` and `revoke`, run by their entry point in this process
(``rag_here``: the output and exit status of a child process, without starting one) over
a keys file that a server reads on every request (the ring here stands for it)."""

from __future__ import annotations

import json
from pathlib import Path

from rag.service.keys import KeyRing
from tests.support.cli import one_error_line, rag_here
from tests.support.keys import holds_a_secret


def test_keys_are_made_listed_and_revoked(env):
    made = rag_here(
        "keys",
        "create",
        "--collections",
        "hr,legal",
        "--scope",
        "write",
        "--expires",
        "30",
        "--name",
        "Legal team",
        "--json",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert set(key) == {"id", "key", "name", "scope", "collections", "created_at", "expires_at"}
    assert key["collections"] == ["hr", "legal"] and key["scope"] == "write"
    assert key["key"].startswith(f"rag_{key['id']}_") and key["expires_at"] > key["created_at"]
    plain = rag_here("keys", "create", "--collections", "*", "--scope", "admin", env=env)
    assert plain.returncode == 0 and plain.stdout.startswith("rag_"), plain.stderr
    assert "shown only now" in plain.stderr
    admin = plain.stdout.strip()
    server = KeyRing(Path(env["RAG_INDEX_DIR"]) / "keys.sqlite3")
    assert server.verify(key["key"]).id == key["id"] and server.verify(admin).scope == "admin"
    assert not holds_a_secret(Path(env["RAG_INDEX_DIR"]), [key["key"], admin])

    listed = rag_here("keys", "list", "--json", env=env)
    keys = json.loads(listed.stdout)["keys"]
    assert [k["scope"] for k in keys] == ["write", "admin"] and keys[1]["collections"] == "*"
    assert all("key" not in k and k["active"] for k in keys)

    revoked = rag_here("keys", "revoke", key["id"], env=env)
    assert revoked.returncode == 0 and key["id"] in revoked.stdout
    assert server.verify(key["key"]) is None, "refused from the next request on"
    table = rag_here("keys", "list", env=env).stdout.splitlines()
    assert [line.split("\t")[3] for line in table] == ["revoked", "active"]

    assert "no key with id 'feedfacecafe'" in one_error_line(
        rag_here("keys", "revoke", "feedfacecafe", env=env)
    )


def test_a_bad_key_request_is_one_line(env):
    for args, says in (
        (["--collections", "HR", "--scope", "read"], "not a collection name"),
        (["--collections", "*", "--scope", "root"], "unknown scope"),
    ):
        assert says in one_error_line(rag_here("keys", "create", *args, env=env))
    assert rag_here("keys", "list", env=env).stdout == "", "nothing was made"
