"""Whether a folder holds an issued key's secret, in any form it could be stored in."""

from __future__ import annotations

import base64
from pathlib import Path


def secrets_of(key: str) -> list[bytes]:
    """Every form in which a key's secret could sit in a file: the key, the secret as
    text, and its 32 raw bytes."""
    secret = key.split("_", 2)[2]
    raw = base64.urlsafe_b64decode(secret + "=")
    return [key.encode(), secret.encode(), raw]


def holds_a_secret(folder: Path, keys: list[str]) -> bool:
    """Whether any file under ``folder`` (there must be some) holds one of ``keys``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the folder has files to search"
    return any(s in p.read_bytes() for p in files for key in keys for s in secrets_of(key))
