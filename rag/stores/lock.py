"""The lock of an index: every open store holds it shared, a rebuild exclusively.

So a rebuild (``rag reindex``) never starts under a server, a sync or an index run whose
writes it would lose, and none of those opens the index while a rebuild runs; the kernel
releases a dead process's lock. It is a ``flock`` on a file of its own beside the index
(``rag.sqlite3.lock``, ``milvus.db.lock``): SQLite's own locks are POSIX locks, which
closing any other descriptor of the database would drop.

A process holding the lock exclusively may still open the index itself (a rebuild reads
the index it replaces): its stores' shared holds are then covered by the exclusive one.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from rag.core.errors import StoreError

_mutex = threading.Lock()
#: lock file → descriptor, of the locks this process holds exclusively
_exclusive: dict[str, int] = {}


def hold(lock_file: Path, exclusive: bool = False) -> int | None:
    """Take the lock (shared, or ``exclusive`` for a rebuild): a descriptor for
    :func:`release` (None when this process's exclusive hold covers it), or a one-line
    refusal."""
    key = os.path.abspath(lock_file)
    index = Path(key).with_suffix("")  # the database file or folder it guards
    with _mutex:
        if not exclusive and key in _exclusive:
            return None
        try:
            fd = os.open(key, os.O_RDONLY | os.O_CREAT, 0o644)  # flock needs no write access
        except OSError as exc:
            raise StoreError(f"cannot open the index {index}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(_refusal(index, exclusive)) from None
        if exclusive:
            _exclusive[key] = fd
        return fd


def release(fd: int | None) -> None:
    """Give back what :func:`hold` took."""
    if fd is None:
        return
    with _mutex:
        for key, held in list(_exclusive.items()):
            if held == fd:
                del _exclusive[key]
        os.close(fd)


def _refusal(index: Path, exclusive: bool) -> str:
    if exclusive:
        return (
            f"the index {index} is open in another process (a server, a sync or an index "
            "run): stop it before rebuilding, or its writes would be lost"
        )
    return f"the index {index} is being rebuilt (`rag reindex`); try again when that has finished"
