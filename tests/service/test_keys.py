"""The key ring (rag/service/keys.py) over a real SQLite file: what a key is, what the
file holds (never a usable key), revocation and expiry seen at once, and its cost."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rag.core.errors import StoreError
from rag.service.keys import KeyRing, KeyRingError, parse_collections
from tests.support.keys import holds_a_secret


def test_a_key_is_verified_by_its_secret_and_listed_without_it(tmp_path):
    ring = KeyRing(tmp_path / "keys.sqlite3")
    assert not ring.any_active() and ring.list() == []
    assert not (tmp_path / "keys.sqlite3").exists(), "reading never creates the file"
    info, key = ring.create("write", "legal,hr", name="Legal team")
    assert key.startswith(f"rag_{info.id}_") and len(info.id) == 12 and len(key) == 60
    assert info.collections == ("hr", "legal") and info.scope == "write"
    assert ring.verify(key) == info
    assert ring.any_active()
    wrong_secret = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    unknown_id = f"rag_{'0' * 12}_{key[17:]}"
    for bad in (wrong_secret, unknown_id, key[:-1], "", "rag_", key + "x", f"Bearer {key}"):
        assert ring.verify(bad) is None, bad
    listed = ring.list()
    assert listed == [info]
    assert set(listed[0].as_dict()) == {
        "id",
        "name",
        "scope",
        "collections",
        "created_at",
        "expires_at",
        "revoked_at",
        "active",
    }
    everything, _ = ring.create("read", "*")
    assert everything.collections is None and everything.as_dict()["collections"] == "*"


def test_the_file_and_its_folder_hold_no_usable_key(tmp_path):
    ring = KeyRing(tmp_path / "index" / "keys.sqlite3")
    keys = [ring.create(scope, "*")[1] for scope in ("read", "write", "admin")]
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(ring.path.read_bytes())
    assert not holds_a_secret(tmp_path, keys)
    stolen = KeyRing(copy)
    assert len(stolen.list()) == 3  # the copy is a keys file, and it lets no one in
    assert ring.path.stat().st_mode & 0o077 == 0, "only its owner may read it"


def test_a_revocation_is_seen_by_another_reader_of_the_file_at_once(tmp_path):
    server, admin = KeyRing(tmp_path / "k.sqlite3"), KeyRing(tmp_path / "k.sqlite3")
    info, key = admin.create("read", "hr")
    assert server.verify(key) == info
    assert admin.revoke(info.id) and admin.revoke(info.id), "revoking twice is fine"
    assert not admin.revoke("000000000000")
    assert server.verify(key) is None and not server.any_active()
    (revoked,) = server.list()
    assert revoked.revoked_at is not None and not revoked.active()


def test_an_expired_key_is_refused(tmp_path):
    path = tmp_path / "k.sqlite3"
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    past = KeyRing(path, now=lambda: two_days_ago)
    expired, key = past.create("admin", "*", expires_days=1)
    ring = KeyRing(path)
    assert past.verify(key) == expired, "valid when it was made"
    assert ring.verify(key) is None and not ring.any_active()
    fresh, fresh_key = ring.create("read", "*", expires_days=1)
    assert ring.verify(fresh_key) == fresh and fresh.expires_at > fresh.created_at


@pytest.mark.parametrize(
    ("scope", "collections", "says"),
    [
        ("root", "*", "unknown scope"),
        ("read", "HR", "not a collection name"),
        ("read", "-hr", "not a collection name"),
        ("read", "a" * 64, "not a collection name"),
        ("read", "hr,*", "cannot be combined"),
        ("read", [], "at least one collection"),
    ],
)
def test_bad_keys_are_refused_with_the_reason(tmp_path, scope, collections, says):
    ring = KeyRing(tmp_path / "k.sqlite3")
    with pytest.raises(KeyRingError, match=says):
        ring.create(scope, collections)
    assert not ring.any_active()


def test_collections_and_names_are_checked():
    assert parse_collections(" legal , hr,hr") == ("hr", "legal")
    assert parse_collections("*") is None and parse_collections(["*"]) is None
    assert parse_collections(["a" * 63, "x-1_y"]) == ("a" * 63, "x-1_y")
    with pytest.raises(KeyRingError):
        KeyRing(Path("unused")).create("read", "*", name="two\nlines")
    with pytest.raises(KeyRingError):
        KeyRing(Path("unused")).create("read", "*", expires_days=0)


def test_a_damaged_keys_file_fails_closed(tmp_path):
    path = tmp_path / "keys.sqlite3"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="not a usable keys file"):
        KeyRing(path).any_active()


def test_a_check_reads_the_file_in_well_under_a_millisecond(tmp_path):
    """Every request reads the file afresh (no cache, so a revocation counts at once):
    that must cost next to nothing. Median of 300 checks of each kind."""
    ring = KeyRing(tmp_path / "k.sqlite3")
    for _ in range(20):
        ring.create("read", "*")
    _, key = ring.create("write", "hr")

    def median_ms(check) -> float:
        times = []
        for _ in range(300):
            t0 = time.perf_counter()
            check()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    assert median_ms(lambda: ring.verify(key)) < 1.0
    assert median_ms(ring.any_active) < 1.0
