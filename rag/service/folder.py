"""A synced folder seen from the file system: its files, their ids, their bytes' hashes.

A synced file's document id comes from its path relative to the folder, so that
``a/report.txt`` and ``b/report.txt`` are two documents (``rag index`` names a file by its
stem, and they would collide) and a rename is a move to another id. The id is the path
itself where it is already a valid id (``report.txt``); any other path (a folder, a space,
non-ASCII letters, over 128 characters) is sanitised and given ``-`` and 10 hex digits of
the path's SHA-256, so that two paths that sanitise alike stay apart. A plain path that
happens to end like such a suffix is hashed too, which keeps the two kinds of id apart.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rag.core.selection import document_id
from rag.documents.ingest import SUPPORTED_SUFFIXES, valid_doc_id

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SUFFIXED = re.compile(r"-[0-9a-f]{10}$")
#: Characters sanitised out of a path (``/`` first becomes ``_``).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
HASH_CHARS = 10


@dataclass(frozen=True)
class FileState:
    """A file of the folder as ``stat`` sees it: its path relative to the root (``/``
    between parts), size and modification time in nanoseconds."""

    path: str
    size: int
    mtime_ns: int


def path_id(path: str) -> str:
    """The id base of a file at ``path`` (relative, ``/`` between parts); see the module."""
    if _PLAIN.match(path) and not _SUFFIXED.search(path):
        return path
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    safe = _UNSAFE.sub("-", path.replace("/", "_")).lstrip("-_.")
    safe = safe[: 127 - HASH_CHARS].rstrip("-_.") or "file"
    base = f"{safe}-{digest}"
    assert valid_doc_id(base), base
    return base


def sync_id(collection: str, path: str) -> str:
    """The document id a synced file at ``path`` is stored under in ``collection``."""
    return document_id(collection, path_id(path))


def scan(root: Path) -> dict[str, FileState]:
    """Every supported file under ``root`` (hidden files and folders left out, as ``rag
    index`` does), by relative path. Symbolic links to files are followed, to folders not
    (a link cycle would never end). A file that vanishes while it is listed is left out."""
    found: dict[str, FileState] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            full = os.path.join(folder, name)
            try:
                info = os.stat(full)
            except OSError:
                continue
            if not os.path.isfile(full):
                continue
            relative = os.path.relpath(full, root).replace(os.sep, "/")
            found[relative] = FileState(relative, info.st_size, info.st_mtime_ns)
    return dict(sorted(found.items()))


def read(root: Path, state: FileState) -> tuple[bytes, FileState, str]:
    """A file's bytes, its state as it was read (it may have changed since the scan) and
    the SHA-256 of its bytes: the content only, never its name or times, so that touching
    a file, copying it or restoring it from a backup re-embeds nothing."""
    full = root / state.path
    with open(full, "rb") as handle:
        info = os.fstat(handle.fileno())
        data = handle.read()
    now = FileState(state.path, info.st_size, info.st_mtime_ns)
    return data, now, hashlib.sha256(data).hexdigest()
