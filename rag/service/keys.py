"""API keys with scopes, kept in a small SQLite file of their own (``keys.sqlite3``).

A key is ``rag_<id>_<secret>``: the id finds its row, the secret proves it. The file
holds only a salted hash of each secret, so a copy of it (a backup, the whole index
folder) lets no one in. Keys are 32 random bytes, far beyond any guessing, so one
HMAC-SHA256 is as safe as a slow password hash and costs microseconds.

Every check reads the file through a fresh connection, with no cache: a key revoked with
``rag keys revoke`` (another process) is refused on the very next request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rag.core.errors import StoreError

#: Scopes, weakest first: each may do what the ones before it may.
SCOPES = ("read", "write", "admin")
#: What a collection may be called.
COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
#: Stands for every collection, present and future.
EVERY_COLLECTION = "*"
PREFIX = "rag_"
_ID = re.compile(r"[0-9a-f]{12}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, urlsafe base64 without padding
#: What a key's name may be: a line of text, no control characters.
NAME = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,100}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT,
    scope TEXT NOT NULL,
    collections TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL
)"""
_COLUMNS = "id, name, scope, collections, created_at, expires_at, revoked_at"
# the same timestamps everywhere (ISO 8601, UTC, seconds): they compare as strings
_ACTIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"


class KeyRingError(ValueError):
    """A key that cannot be made as asked (unknown scope, bad collection name)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def parse_collections(collections: str | Iterable[str]) -> tuple[str, ...] | None:
    """Checked collection names, sorted; None for ``"*"`` (every collection).
    A comma-separated string is split (``"hr,legal"``, as the CLI takes it)."""
    if isinstance(collections, str):
        if collections.strip() == EVERY_COLLECTION:
            return None
        collections = collections.split(",")
    names = {c.strip() for c in collections}
    if EVERY_COLLECTION in names:
        if len(names) > 1:
            raise KeyRingError("'*' (every collection) cannot be combined with names")
        return None
    if not names:
        raise KeyRingError("name at least one collection, or '*' for every collection")
    for name in sorted(names):
        if not COLLECTION_NAME.fullmatch(name):
            raise KeyRingError(
                f"{name!r} is not a collection name: 1 to 63 of a-z, 0-9, '_' and '-', "
                "starting with a letter or digit"
            )
    return tuple(sorted(names))


@dataclass(frozen=True)
class KeyInfo:
    """What is known of a key, never its secret nor its hash."""

    id: str
    name: str | None
    scope: str
    collections: tuple[str, ...] | None  # None: every collection
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None

    def active(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired (at ``now``, default: this moment)."""
        when = _stamp(now or _now())
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > when)

    def as_dict(self) -> dict:
        """JSON-ready; ``collections`` is ``"*"`` for every collection."""
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "collections": EVERY_COLLECTION if self.collections is None else list(self.collections),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "active": self.active(),
        }


def _info(row: tuple) -> KeyInfo:
    key_id, name, scope, collections, created, expires, revoked = row
    listed = json.loads(collections)
    every = listed == EVERY_COLLECTION
    return KeyInfo(key_id, name, scope, None if every else tuple(listed), created, expires, revoked)


class KeyRing:
    """The keys of one service, in ``path``; ``now`` is the clock (a test can move it)."""

    def __init__(self, path: Path, now: Callable[[], datetime] = _now) -> None:
        self.path = Path(path)
        self.now = now

    @contextmanager
    def _db(self, create: bool = False) -> Iterator[sqlite3.Connection | None]:
        """A fresh connection, closed on exit (None when there is no file and ``create``
        is false: reading never creates the file)."""
        if not create and not self.path.exists():
            yield None
            return
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=5.0)) as db:
                if create:
                    db.execute(_SCHEMA)
                    self.path.chmod(0o600)  # hashes only, but nobody else's business
                with db:
                    yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable keys file ({exc})") from exc

    def create(
        self,
        scope: str,
        collections: str | Iterable[str],
        expires_days: float | None = None,
        name: str | None = None,
    ) -> tuple[KeyInfo, str]:
        """A new key and its plaintext, which is shown this once and never stored."""
        if scope not in SCOPES:
            raise KeyRingError(f"unknown scope {scope!r}: one of {', '.join(SCOPES)}")
        names = parse_collections(collections)
        if expires_days is not None and not expires_days > 0:
            raise KeyRingError("a key must expire after a positive number of days")
        if name is not None and not NAME.fullmatch(name):
            raise KeyRingError("a key's name is 1 to 100 characters, no control characters")
        created = self.now()
        expires = None if expires_days is None else _stamp(created + timedelta(expires_days))
        listed = json.dumps(EVERY_COLLECTION if names is None else list(names))
        secret, salt = secrets.token_urlsafe(32), secrets.token_bytes(16)
        digest = _digest(salt, secret)
        with self._db(create=True) as db:
            while True:  # 48-bit ids: a clash is rare, but must not overwrite a key
                key_id = secrets.token_hex(6)
                try:
                    db.execute(
                        f"INSERT INTO keys ({_COLUMNS}, salt, hash) VALUES (?,?,?,?,?,?,?,?,?)",
                        (key_id, name, scope, listed, _stamp(created), expires, None, salt, digest),
                    )
                    break
                except sqlite3.IntegrityError:
                    continue
        info = KeyInfo(key_id, name, scope, names, _stamp(created), expires)
        return info, f"{PREFIX}{key_id}_{secret}"

    def list(self) -> list[KeyInfo]:
        """Every key, revoked and expired ones included, oldest first."""
        with self._db() as db:
            if db is None:
                return []
            rows = db.execute(f"SELECT {_COLUMNS} FROM keys ORDER BY rowid").fetchall()
        return [_info(row) for row in rows]

    def get(self, key_id: str) -> KeyInfo | None:
        with self._db() as db:
            row = (
                db and db.execute(f"SELECT {_COLUMNS} FROM keys WHERE id = ?", (key_id,)).fetchone()
            )
        return _info(row) if row else None

    def revoke(self, key_id: str) -> bool:
        """Revoke a key from now on; False when no key has that id (revoking a revoked
        key again keeps its first time)."""
        with self._db() as db:
            if db is None:
                return False
            done = db.execute(
                "UPDATE keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (_stamp(self.now()), key_id),
            )
            return done.rowcount > 0

    def verify(self, token: str) -> KeyInfo | None:
        """The key ``token`` is, when it is one and active; else None, the same for an
        unknown id and a wrong secret (and a hash is computed for both)."""
        key_id, secret = _split(token)
        if key_id is None:
            return None
        with self._db() as db:
            row = (
                db
                and db.execute(
                    f"SELECT {_COLUMNS}, salt, hash FROM keys WHERE id = ? AND {_ACTIVE}",
                    (key_id, _stamp(self.now())),
                ).fetchone()
            )
        salt, stored = (row[-2], row[-1]) if row else (b"\0" * 16, b"")
        matches = hmac.compare_digest(_digest(salt, secret), stored)
        return _info(row[:-2]) if row and matches else None

    def any_active(self) -> bool:
        """Whether any key is active: once one is, every request needs a key."""
        with self._db() as db:
            if db is None:
                return False
            found = db.execute(
                f"SELECT 1 FROM keys WHERE {_ACTIVE} LIMIT 1", (_stamp(self.now()),)
            ).fetchone()
        return found is not None


def _split(token: str) -> tuple[str | None, str]:
    """(id, secret) of a well-formed key, else (None, "")."""
    if not token.startswith(PREFIX) or len(token) != len(PREFIX) + 12 + 1 + 43:
        return None, ""
    key_id, sep, secret = token[4:16], token[16], token[17:]
    if sep != "_" or not _ID.fullmatch(key_id) or not _SECRET.fullmatch(secret):
        return None, ""
    return key_id, secret


def default_keys_file(index_dir: Path, keys_file: Path | None = None) -> Path:
    """``RAG_KEYS_FILE``, else ``keys.sqlite3`` in the index folder."""
    return keys_file if keys_file is not None else Path(index_dir) / "keys.sqlite3"
