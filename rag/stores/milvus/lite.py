"""Swapping a rebuilt Milvus Lite index in (``rag reindex`` with ``RAG_STORE=milvus``).

A Milvus Lite index is a folder, and one folder cannot replace another in one rename: the
old one is renamed aside (``<name>.old``), the new one into place, then the old one is
removed. A crash between the two renames leaves no index under the name; the next open
puts the old one back (:func:`recover`) instead of starting an empty index there. The
rebuild holds the index's lock (:mod:`rag.stores.lock`) exclusively throughout, so no
other process has the folder open while it is swapped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rag.core.durable import fsync_dir


def is_lite(uri: str) -> bool:
    """A Milvus Lite file or folder, not a server's address."""
    return "://" not in uri


def lock_file(uri: str) -> Path:
    """The index's lock (:mod:`rag.stores.lock`), beside its folder."""
    return Path(uri + ".lock")


def aside(target: Path) -> Path:
    return target.with_name(target.name + ".old")


def recover(target: Path) -> None:
    """Put back an index a rebuild had renamed aside when it stopped before the swap's
    second rename."""
    if not target.exists() and aside(target).exists():
        os.rename(aside(target), target)
        fsync_dir(target.parent)


def swap(fresh: Path, target: Path) -> None:
    """Put the (closed) index folder ``fresh`` in place of ``target``."""
    shutil.rmtree(aside(target), ignore_errors=True)
    if target.exists():
        os.rename(target, aside(target))
    os.rename(fresh, target)
    fsync_dir(target.parent)
    shutil.rmtree(aside(target), ignore_errors=True)
    lock_file(str(fresh)).unlink(missing_ok=True)
