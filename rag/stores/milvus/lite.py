"""What is particular to Milvus Lite, an index in a local folder served by one process:
connecting (:func:`connect`: another process holding it said in one line) and swapping a
rebuilt index in (``rag reindex`` with ``RAG_STORE=milvus``).

A Milvus Lite index is a folder, and one folder cannot replace another in one rename: the
old one is renamed aside (``<name>.old``), the new one into place, then the old one is
removed. A crash between the two renames leaves no index under the name; the next open
puts the old one back (:func:`recover`) instead of starting an empty index there. The
rebuild holds the index's lock (:mod:`rag.stores.lock`) exclusively throughout, so no
other process has the folder open while it is swapped.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from rag.core.durable import fsync_dir
from rag.core.errors import StoreError
from rag.stores import lock


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
    second rename (not while a rebuild holds the lock: it may be between the two)."""
    if target.exists() or not aside(target).exists():
        return
    held = lock.hold(lock_file(str(target)))
    try:
        if not target.exists() and aside(target).exists():
            os.rename(aside(target), target)
            fsync_dir(target.parent)
    finally:
        lock.release(held)


def swap(fresh: Path, target: Path) -> None:
    """Put the (closed) index folder ``fresh`` in place of ``target``."""
    shutil.rmtree(aside(target), ignore_errors=True)
    if target.exists():
        os.rename(target, aside(target))
    os.rename(fresh, target)
    fsync_dir(target.parent)
    shutil.rmtree(aside(target), ignore_errors=True)
    lock_file(str(fresh)).unlink(missing_ok=True)


def connect(uri: str, token: str | None):
    """A ``MilvusClient`` of ``uri``, or a :class:`StoreError` of one line. Milvus Lite
    serves an index to one process at a time: when another holds it, milvus-lite logs
    its lock error with a traceback and pymilvus raises "Open local milvus failed"; that
    case is said plainly here (the log record is kept off the terminal)."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    caught = _Caught()
    logger = logging.getLogger("milvus_lite.server_manager")
    logger.addHandler(caught)
    propagate, logger.propagate = logger.propagate, False
    try:
        return MilvusClient(uri, token=token or "")
    except MilvusException as exc:
        if caught.locked:
            raise StoreError(
                f"the Milvus Lite index {uri} is open in another process (Milvus Lite serves "
                "one process at a time): stop it, or use a Milvus server"
            ) from None
        raise StoreError(f"cannot open Milvus at {uri}: {exc}") from None
    finally:
        logger.removeHandler(caught)
        logger.propagate = propagate
        if not caught.locked:
            for record in caught.records:
                logger.handle(record)  # logged as it would have been


class _Caught(logging.Handler):
    """The records of one call, held back."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def errors(self) -> list[BaseException]:
        return [r.exc_info[1] for r in self.records if r.exc_info and r.exc_info[1]]

    @property
    def locked(self) -> bool:
        return any(type(e).__name__ == "DataDirLockedError" for e in self.errors)
