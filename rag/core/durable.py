"""Durable file changes: a rename or a new file survives a power cut only once the folder
that names it is fsynced too (the file's own fsync covers its bytes, not its name)."""

from __future__ import annotations

import os


def fsync_dir(path: os.PathLike | str) -> None:
    """Flush ``path``'s entries (names made, renamed or removed in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
